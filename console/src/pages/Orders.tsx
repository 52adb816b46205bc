// Order search: any of status, market, the customer's email and a range of
// days, newest first, a page at a time (GET /admin/orders).
import { useState, type FormEvent } from "react";
import { Link } from "wouter";
import { api, call, type Schemas } from "../api/client";
import { formatMoney } from "../money";
import { Columns, Field, Show, useLoad, when } from "../ui";

type Status = Schemas["OrderStatus"];
const STATUSES: Status[] = [
  "PENDING_PAYMENT",
  "PAID",
  "SHIPPED",
  "DELIVERED",
  "CANCELLED",
  "REFUND_PENDING",
  "REFUNDED",
  "RETURN_REQUESTED",
];

type Filters = { status: string; market: string; email: string; from: string; to: string };
const NONE: Filters = { status: "", market: "", email: "", from: "", to: "" };

export function Orders() {
  const [draft, setDraft] = useState<Filters>(NONE);
  const [filters, setFilters] = useState<Filters>(NONE);
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors[cursors.length - 1];
  const [loaded] = useLoad(
    () =>
      call(
        api.GET("/admin/orders", {
          params: {
            query: {
              status: (filters.status || undefined) as Status | undefined,
              market: filters.market || undefined,
              email: filters.email || undefined,
              created_from: filters.from ? `${filters.from}T00:00:00Z` : undefined,
              created_to: filters.to ? `${filters.to}T23:59:59Z` : undefined,
              limit: 20,
              cursor,
            },
          },
        }),
      ),
    [filters, cursor],
  );

  function search(event: FormEvent) {
    event.preventDefault();
    setCursors([]);
    setFilters(draft);
  }
  const edit = (key: keyof Filters) => (e: { target: { value: string } }) =>
    setDraft({ ...draft, [key]: e.target.value });

  return (
    <>
      <h1>Orders</h1>
      <form role="search" aria-label="Find orders" onSubmit={search}>
        <Field label="Status">
          <select value={draft.status} onChange={edit("status")}>
            <option value="">Any</option>
            {STATUSES.map((status) => (
              <option key={status}>{status}</option>
            ))}
          </select>
        </Field>
        <Field label="Market">
          <input value={draft.market} onChange={edit("market")} size={8} />
        </Field>
        <Field label="Customer email">
          <input type="email" value={draft.email} onChange={edit("email")} />
        </Field>
        <Field label="Placed from">
          <input type="date" value={draft.from} onChange={edit("from")} />
        </Field>
        <Field label="Placed to">
          <input type="date" value={draft.to} onChange={edit("to")} />
        </Field>
        <button type="submit">Search</button>
      </form>
      <Show loaded={loaded} what="orders">
        {(page) => (
          <>
            <table>
              <caption className="sr-only">Orders, newest first</caption>
              <Columns names={["Order", "Placed", "Status", "Market", "Total", "Items"]} numeric={["Total", "Items"]} />
              <tbody>
                {page.items.map((order) => (
                  <tr key={order.id}>
                    <td>
                      <Link href={`/orders/${order.id}`} className="code">
                        {order.id}
                      </Link>
                    </td>
                    <td>{when(order.created_at)}</td>
                    <td>{order.status}</td>
                    <td>{order.market}</td>
                    <td className="num">{formatMoney(order.total, order.currency)}</td>
                    <td className="num">{order.items.reduce((n, line) => n + line.quantity, 0)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            {page.items.length === 0 && <p>No order matches.</p>}
            <p>
              {cursors.length > 0 && (
                <button type="button" onClick={() => setCursors([])}>
                  First page
                </button>
              )}{" "}
              {page.next_cursor && (
                <button type="button" onClick={() => setCursors([...cursors, page.next_cursor as string])}>
                  Next page
                </button>
              )}
            </p>
          </>
        )}
      </Show>
    </>
  );
}
