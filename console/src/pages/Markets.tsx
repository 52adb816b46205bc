// Markets: where the shop sells, in which currency, with which tax mode,
// rounding, duties and shipping methods (GET /markets, PUT /markets/{code}).
import { useState, type FormEvent } from "react";
import { api, call, type Schemas } from "../api/client";
import { formatMoney } from "../money";
import { Columns, Field, Outcome, Show, useAction, useLoad } from "../ui";

type Market = Schemas["Market"];
type Settings = Schemas["MarketSettings"];

const EMPTY = {
  code: "",
  name: "",
  countries: "",
  currency: "",
  tax_mode: "exclusive",
  tax_rounding: "line",
  price_rounding: "minor",
  duties: "ddp",
  shipping_methods: "[]",
};

function formOf(market: Market) {
  return {
    code: market.code,
    name: market.name,
    countries: market.countries.join(", "),
    currency: market.currency,
    tax_mode: market.tax_mode,
    tax_rounding: market.tax_rounding,
    price_rounding: market.price_rounding,
    duties: market.duties,
    shipping_methods: JSON.stringify(market.shipping_methods, null, 2),
  };
}

export function Markets() {
  const [loaded, reload] = useLoad(() => call(api.GET("/markets", { params: { query: { limit: 100 } } })), []);
  const [form, setForm] = useState(EMPTY);
  const action = useAction();
  const edit = (key: keyof typeof EMPTY) => (e: { target: { value: string } }) =>
    setForm({ ...form, [key]: e.target.value });

  function save(event: FormEvent) {
    event.preventDefault();
    void action.run(async () => {
      let methods: Settings["shipping_methods"];
      try {
        methods = JSON.parse(form.shipping_methods) as Settings["shipping_methods"];
      } catch {
        throw new Error("The shipping methods are not JSON.");
      }
      const body: Settings = {
        name: form.name,
        countries: form.countries
          .split(/[\s,]+/)
          .filter(Boolean)
          .map((c) => c.toUpperCase()) as Settings["countries"],
        currency: form.currency.toUpperCase() as Settings["currency"],
        tax_mode: form.tax_mode as Settings["tax_mode"],
        tax_rounding: form.tax_rounding as Settings["tax_rounding"],
        price_rounding: form.price_rounding as Settings["price_rounding"],
        duties: form.duties as Settings["duties"],
        shipping_methods: methods,
      };
      const market = await call(api.PUT("/markets/{code}", { params: { path: { code: form.code } }, body }));
      reload();
      return `Market ${market.code} saved.`;
    });
  }

  return (
    <>
      <h1>Markets</h1>
      <Show loaded={loaded} what="markets">
        {(page) => (
          <table>
            <caption className="sr-only">Markets</caption>
            <Columns
              names={["Code", "Name", "Countries", "Currency", "Tax", "Duties", "Shipping", "Edit"]}
              hidden={["Edit"]}
            />
            <tbody>
              {page.items.map((market) => (
                <tr key={market.code}>
                  <td>
                    {market.code}
                    {market.default ? " (default)" : ""}
                  </td>
                  <td>{market.name}</td>
                  <td>{market.countries.join(" ")}</td>
                  <td>{market.currency}</td>
                  <td>
                    {market.tax_mode}, by {market.tax_rounding}
                  </td>
                  <td>{market.duties}</td>
                  <td>
                    {market.shipping_methods
                      .map((m) => `${m.name} from ${formatMoney(m.rates[0]?.price ?? 0, market.currency)}`)
                      .join("; ") || "—"}
                  </td>
                  <td>
                    <button type="button" onClick={() => setForm(formOf(market))} aria-label={`Edit ${market.code}`}>
                      Edit
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Show>
      <section aria-labelledby="market-form">
        <h2 id="market-form">{form.code ? `Market ${form.code}` : "New market"}</h2>
        <form className="stacked" onSubmit={save}>
          <Field label="Code" hint="Lower-case letters, digits and dashes, e.g. eu">
            <input required value={form.code} onChange={edit("code")} />
          </Field>
          <Field label="Name">
            <input required value={form.name} onChange={edit("name")} />
          </Field>
          <Field label="Countries" hint="ISO codes, e.g. DE, FR, AT">
            <input required value={form.countries} onChange={edit("countries")} />
          </Field>
          <Field label="Currency">
            <input required value={form.currency} onChange={edit("currency")} size={4} />
          </Field>
          <Field label="Tax mode">
            <select value={form.tax_mode} onChange={edit("tax_mode")}>
              <option>inclusive</option>
              <option>exclusive</option>
              <option>none</option>
            </select>
          </Field>
          <Field label="Tax rounding">
            <select value={form.tax_rounding} onChange={edit("tax_rounding")}>
              <option>line</option>
              <option>order</option>
            </select>
          </Field>
          <Field label="Price rounding">
            <select value={form.price_rounding} onChange={edit("price_rounding")}>
              <option>minor</option>
              <option>whole</option>
              <option>charm</option>
            </select>
          </Field>
          <Field label="Duties">
            <select value={form.duties} onChange={edit("duties")}>
              <option>ddp</option>
              <option>dap</option>
            </select>
          </Field>
          <Field
            label="Shipping methods (JSON)"
            hint="As in the API: code, name, rates by weight, free_over, delivery_days"
          >
            <textarea value={form.shipping_methods} onChange={edit("shipping_methods")} />
          </Field>
          <button type="submit" disabled={action.running}>
            Save market
          </button>
        </form>
        <Outcome action={action} />
      </section>
    </>
  );
}
