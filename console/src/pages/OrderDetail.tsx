// One order: its breakdown, shipment and history, and what an admin can do
// to it: refund, receive a return, add a tracking event.
import { useState, type FormEvent } from "react";
import { Link } from "wouter";
import { api, call, idempotencyKey, ProblemError, type Schemas } from "../api/client";
import { formatMoney } from "../money";
import { Columns, Field, Outcome, Show, useAction, useLoad, when } from "../ui";

type Order = Schemas["Order"];
type Shipment = Schemas["Shipment"];
type TrackingStatus = "IN_TRANSIT" | "OUT_FOR_DELIVERY" | "DELIVERED" | "EXCEPTION";

async function loadShipment(id: string): Promise<Shipment | null> {
  try {
    return await call(api.GET("/orders/{id}/shipment", { params: { path: { id } } }));
  } catch (err) {
    if (err instanceof ProblemError && err.problem.status === 404) return null;
    throw err;
  }
}

export function OrderDetail({ id }: { id: string }) {
  const [loaded, reload] = useLoad(async () => {
    const [order, shipment] = await Promise.all([
      call(api.GET("/orders/{id}", { params: { path: { id } } })),
      loadShipment(id),
    ]);
    return { order, shipment };
  }, [id]);
  return (
    <>
      <p>
        <Link href="/orders">← Orders</Link>
      </p>
      <h1>
        Order <span className="code">{id}</span>
      </h1>
      <Show loaded={loaded} what="the order">
        {({ order, shipment }) => (
          <>
            <Actions order={order} shipment={shipment} changed={reload} />
            <Breakdown order={order} />
            <History order={order} shipment={shipment} />
          </>
        )}
      </Show>
    </>
  );
}

function Breakdown({ order }: { order: Order }) {
  const money = (minor: number) => formatMoney(minor, order.currency);
  const address = order.shipping_address;
  return (
    <section aria-labelledby="breakdown">
      <h2 id="breakdown">Breakdown</h2>
      <div className="cards">
        <dl className="card">
          <dt>Status</dt>
          <dd>{order.status}</dd>
          <dt>Market</dt>
          <dd>
            {order.market} ({order.currency})
          </dd>
          <dt>Customer</dt>
          <dd>
            <code>{order.user_id}</code>
          </dd>
          <dt>Ship to</dt>
          <dd>
            {address.name}, {address.line1}
            {address.city ? `, ${address.city}` : ""} {address.postal_code ?? ""} {address.country}
          </dd>
          <dt>Shipping method</dt>
          <dd>{order.shipping_method ?? "—"}</dd>
        </dl>
        <dl className="card">
          <dt>Subtotal</dt>
          <dd>{money(order.subtotal)}</dd>
          <dt>Discounts</dt>
          <dd>−{money(order.discount_total)}</dd>
          <dt>Shipping</dt>
          <dd>{money(order.shipping)}</dd>
          <dt>Tax</dt>
          <dd>{money(order.tax_total)}</dd>
          <dt>Duties</dt>
          <dd>
            {money(order.duties)}
            {order.duties_due_on_delivery ? " (due on delivery)" : ""}
          </dd>
          <dt>Total</dt>
          <dd>
            <strong>{money(order.total)}</strong>
          </dd>
        </dl>
      </div>
      <table>
        <caption>Lines</caption>
        <Columns
          names={["Product", "Quantity", "Unit price", "Discount", "Tax", "Duty", "Amount"]}
          numeric={["Quantity", "Unit price", "Discount", "Tax", "Duty", "Amount"]}
        />
        <tbody>
          {order.items.map((line) => (
            <tr key={line.product_id}>
              <td>
                <Link href={`/products/${line.product_id}`}>{line.name}</Link>
              </td>
              <td className="num">{line.quantity}</td>
              <td className="num">{money(line.unit_price)}</td>
              <td className="num">{money(line.discount)}</td>
              <td className="num">
                {money(line.tax)} ({line.tax_rate} %)
              </td>
              <td className="num">{money(line.duty)}</td>
              <td className="num">{money(line.amount)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {order.tax_lines.length > 0 && (
        <table>
          <caption>Tax</caption>
          <Columns names={["Category", "Rate", "Taxable", "Tax"]} numeric={["Rate", "Taxable", "Tax"]} />
          <tbody>
            {order.tax_lines.map((line) => (
              <tr key={`${line.category}-${line.rate}`}>
                <td>{line.category}</td>
                <td className="num">{line.rate} %</td>
                <td className="num">{money(line.taxable)}</td>
                <td className="num">{money(line.tax)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {order.discounts.length > 0 && (
        <ul aria-label="Discounts">
          {order.discounts.map((discount) => (
            <li key={discount.promotion_id}>
              {discount.name} {discount.code ? `(${discount.code})` : ""}: −{money(discount.amount)}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function History({ order, shipment }: { order: Order; shipment: Shipment | null }) {
  const events: [string, string][] = [["Placed", order.created_at]];
  if (order.paid_at) events.push(["Paid", order.paid_at]);
  for (const event of shipment?.events ?? []) {
    const where = [event.location, event.note].filter(Boolean).join(", ");
    events.push([`Shipment ${event.status}${where ? ` (${where})` : ""}`, event.occurred_at]);
  }
  if (order.delivered_at) events.push(["Delivered", order.delivered_at]);
  if (order.dispute) events.push([`Dispute ${order.dispute.status}: ${order.dispute.reason}`, order.dispute.opened_at]);
  events.sort((a, b) => a[1].localeCompare(b[1]));
  return (
    <section aria-labelledby="history">
      <h2 id="history">Shipment and history</h2>
      {shipment ? (
        <p>
          {shipment.carrier} <code>{shipment.tracking_number}</code>: {shipment.status}
        </p>
      ) : (
        <p>No shipment yet.</p>
      )}
      <ol>
        {events.map(([what, at]) => (
          <li key={`${what}-${at}`}>
            <time dateTime={at}>{when(at)}</time> {what}
          </li>
        ))}
      </ol>
      {order.expires_at && <p>Cancelled unless paid by {when(order.expires_at)}.</p>}
    </section>
  );
}

function Actions({ order, shipment, changed }: { order: Order; shipment: Shipment | null; changed: () => void }) {
  const action = useAction();
  const [status, setStatus] = useState<TrackingStatus>("IN_TRANSIT");
  const [location, setLocation] = useState("");
  const [note, setNote] = useState("");
  const path = { path: { id: order.id } };
  const refundable = ["PAID", "SHIPPED", "DELIVERED"].includes(order.status);
  const trackable = shipment !== null && shipment.status !== "DELIVERED";

  async function act(work: () => Promise<string>) {
    if (await action.run(work)) changed();
  }
  /** A button that refunds the order or receives its return, then says
   *  what the order is after. */
  function transition(label: string, done: string, route: "/orders/{id}/refund" | "/orders/{id}/return/receive") {
    const run = () =>
      act(async () => {
        const next = await call(
          api.POST(route, { params: { ...path, header: { "Idempotency-Key": idempotencyKey() } } }),
        );
        return `${done}: the order is ${next.status}.`;
      });
    return (
      <button type="button" disabled={action.running} onClick={run}>
        {label}
      </button>
    );
  }
  function track(event: FormEvent) {
    event.preventDefault();
    if (!shipment) return;
    void act(async () => {
      await call(
        api.POST("/shipments/{id}/events", {
          params: { path: { id: shipment.id }, header: { "Idempotency-Key": idempotencyKey() } },
          body: { status, location: location || null, note: note || null },
        }),
      );
      return `Tracking event ${status} added.`;
    });
  }

  return (
    <section aria-labelledby="actions">
      <h2 id="actions">Actions</h2>
      <p>
        {refundable && transition("Refund in full", "Refund requested", "/orders/{id}/refund")}{" "}
        {order.status === "RETURN_REQUESTED" &&
          transition("Receive the return", "Return received", "/orders/{id}/return/receive")}
      </p>
      {trackable && (
        <form aria-label="Add a tracking event" onSubmit={track}>
          <Field label="Tracking status">
            <select value={status} onChange={(e) => setStatus(e.target.value as TrackingStatus)}>
              <option>IN_TRANSIT</option>
              <option>OUT_FOR_DELIVERY</option>
              <option>DELIVERED</option>
              <option>EXCEPTION</option>
            </select>
          </Field>
          <Field label="Location">
            <input value={location} onChange={(e) => setLocation(e.target.value)} />
          </Field>
          <Field label="Note">
            <input value={note} onChange={(e) => setNote(e.target.value)} />
          </Field>
          <button type="submit" disabled={action.running}>
            Add tracking event
          </button>
        </form>
      )}
      {!refundable && order.status !== "RETURN_REQUESTED" && !trackable && (
        <p>Nothing to do for a {order.status} order.</p>
      )}
      <Outcome action={action} />
    </section>
  );
}
