// Promotions: their usage, creating one, deactivating one.
import { useState, type FormEvent } from "react";
import { api, call, type Schemas } from "../api/client";
import { formatMoney, parseAmounts } from "../money";
import { Columns, Field, Outcome, Show, useAction, useLoad, when } from "../ui";

type Promotion = Schemas["Promotion"];

function value(promotion: Promotion): string {
  if (promotion.kind === "percent") return `${promotion.percent} % off`;
  if (promotion.kind === "fixed") {
    return Object.entries(promotion.amounts ?? {})
      .map(([currency, minor]) => `${formatMoney(minor, currency)} off`)
      .join(" / ");
  }
  return "free shipping";
}

export function Promotions() {
  const [loaded, reload] = useLoad(() => call(api.GET("/promotions", { params: { query: { limit: 100 } } })), []);
  const list = useAction();
  function deactivate(promotion: Promotion) {
    void list.run(async () => {
      await call(api.PATCH("/promotions/{id}", { params: { path: { id: promotion.id } }, body: { active: false } }));
      reload();
      return `${promotion.name} deactivated.`;
    });
  }
  return (
    <>
      <h1>Promotions</h1>
      <Show loaded={loaded} what="promotions">
        {(page) => (
          <table>
            <caption className="sr-only">Promotions</caption>
            <Columns
              names={["Name", "Code", "Discount", "Runs", "Used", "Active", "Deactivate"]}
              numeric={["Used"]}
              hidden={["Deactivate"]}
            />
            <tbody>
              {page.items.map((promotion) => (
                <tr key={promotion.id}>
                  <td>{promotion.name}</td>
                  <td>{promotion.code ?? "automatic"}</td>
                  <td>{value(promotion)}</td>
                  <td>
                    {when(promotion.starts_at)} to {promotion.ends_at ? when(promotion.ends_at) : "open"}
                  </td>
                  <td className="num">
                    {promotion.used}
                    {promotion.usage_limit !== null ? ` of ${promotion.usage_limit}` : ""}
                  </td>
                  <td>{promotion.active ? "yes" : "no"}</td>
                  <td>
                    {promotion.active && (
                      <button
                        type="button"
                        disabled={list.running}
                        onClick={() => deactivate(promotion)}
                        aria-label={`Deactivate ${promotion.name}`}
                      >
                        Deactivate
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Show>
      <Outcome action={list} />
      <NewPromotionForm created={reload} />
    </>
  );
}

function NewPromotionForm({ created }: { created: () => void }) {
  const [form, setForm] = useState({ name: "", code: "", kind: "percent", percent: "10", amounts: "", limit: "" });
  const action = useAction();
  const edit = (key: keyof typeof form) => (e: { target: { value: string } }) =>
    setForm({ ...form, [key]: e.target.value });

  function create(event: FormEvent) {
    event.preventDefault();
    void action.run(async () => {
      const common = {
        name: form.name,
        code: form.code || null,
        usage_limit: form.limit ? Number(form.limit) : null,
      };
      const promotion = await call(
        form.kind === "percent"
          ? api.POST("/promotions", { body: { ...common, kind: "percent", percent: form.percent } })
          : form.kind === "fixed"
            ? api.POST("/promotions", { body: { ...common, kind: "fixed", amounts: parseAmounts(form.amounts) } })
            : api.POST("/promotions", { body: { ...common, kind: "free_shipping" } }),
      );
      created();
      return `${promotion.name} created.`;
    });
  }

  return (
    <section aria-labelledby="new-promotion">
      <h2 id="new-promotion">New promotion</h2>
      <form className="stacked" onSubmit={create}>
        <Field label="Name">
          <input required value={form.name} onChange={edit("name")} />
        </Field>
        <Field label="Coupon code" hint="Empty: applies by itself to every eligible cart">
          <input value={form.code} onChange={edit("code")} />
        </Field>
        <Field label="Kind">
          <select value={form.kind} onChange={edit("kind")}>
            <option value="percent">percent off</option>
            <option value="fixed">amount off</option>
            <option value="free_shipping">free shipping</option>
          </select>
        </Field>
        {form.kind === "percent" && (
          <Field label="Percent off">
            <input required inputMode="decimal" value={form.percent} onChange={edit("percent")} />
          </Field>
        )}
        {form.kind === "fixed" && (
          <Field label="Amount off per currency" hint="One per line, e.g. EUR 5.00">
            <textarea required value={form.amounts} onChange={edit("amounts")} />
          </Field>
        )}
        <Field label="Usage limit (empty: none)">
          <input type="number" min={1} value={form.limit} onChange={edit("limit")} />
        </Field>
        <button type="submit" disabled={action.running}>
          Create promotion
        </button>
      </form>
      <Outcome action={action} />
    </section>
  );
}
