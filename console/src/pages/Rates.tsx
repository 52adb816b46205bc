// Tax rates per country, duty rates per destination, and exchange rates
// (the ECB's, and the admin's own that override them).
import { useState, type FormEvent } from "react";
import { api, call, type Schemas } from "../api/client";
import { formatMoney, toMinor } from "../money";
import { Columns, Field, Outcome, Show, useAction, useLoad, when } from "../ui";

type Country = Schemas["CountryCode"];

/** `"standard 19"` lines → `{ standard: "19" }`. */
function pairs(text: string, what: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean)) {
    const [key, value, ...rest] = line.split(/\s+/);
    if (!key || !value || rest.length > 0) throw new Error(`"${line}" is not ${what}.`);
    out[key] = value;
  }
  return out;
}

const show = (map: Record<string, string>) =>
  Object.entries(map)
    .map(([key, value]) => `${key} ${value} %`)
    .join(", ") || "—";

export function Rates() {
  return (
    <>
      <h1>Tax, duties and exchange</h1>
      <TaxRates />
      <DutyRates />
      <FxRates />
    </>
  );
}

function TaxRates() {
  const [loaded, reload] = useLoad(() => call(api.GET("/tax-rates", { params: { query: { limit: 100 } } })), []);
  const [country, setCountry] = useState("");
  const [rates, setRates] = useState("standard 19");
  const action = useAction();
  function save(event: FormEvent) {
    event.preventDefault();
    void action.run(async () => {
      const saved = await call(
        api.PUT("/tax-rates/{country}", {
          params: { path: { country: country.toUpperCase() as Country } },
          body: { rates: pairs(rates, "a tax category and a percent, e.g. standard 19") },
        }),
      );
      reload();
      return `Tax rates of ${saved.country} saved.`;
    });
  }
  return (
    <section aria-labelledby="tax">
      <h2 id="tax">Tax rates</h2>
      <Show loaded={loaded} what="tax rates">
        {(page) => (
          <table>
            <caption className="sr-only">Tax rates per country</caption>
            <Columns names={["Country", "Rates", "Subdivisions", "Updated"]} />
            <tbody>
              {page.items.map((tax) => (
                <tr key={tax.country}>
                  <td>{tax.country}</td>
                  <td>{show(tax.rates)}</td>
                  <td>{Object.keys(tax.subdivisions).join(", ") || "—"}</td>
                  <td>{when(tax.updated_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Show>
      <form aria-label="Set a country's tax rates" onSubmit={save}>
        <Field label="Country">
          <input required value={country} onChange={(e) => setCountry(e.target.value)} size={4} />
        </Field>
        <Field label="Rates per tax category" hint="One per line, e.g. standard 19">
          <textarea value={rates} onChange={(e) => setRates(e.target.value)} />
        </Field>
        <button type="submit" disabled={action.running}>
          Save tax rates
        </button>
      </form>
      <Outcome action={action} />
    </section>
  );
}

function DutyRates() {
  const [loaded, reload] = useLoad(() => call(api.GET("/duty-rates", { params: { query: { limit: 100 } } })), []);
  const [form, setForm] = useState({ country: "", currency: "", threshold: "0", rate: "", chapters: "" });
  const action = useAction();
  const edit = (key: keyof typeof form) => (e: { target: { value: string } }) =>
    setForm({ ...form, [key]: e.target.value });
  function save(event: FormEvent) {
    event.preventDefault();
    void action.run(async () => {
      const currency = form.currency.toUpperCase();
      const amount = toMinor(form.threshold, currency);
      if (amount === null) throw new Error(`The threshold is not an amount in ${currency}.`);
      const saved = await call(
        api.PUT("/duty-rates/{country}", {
          params: { path: { country: form.country.toUpperCase() as Country } },
          body: {
            threshold: { amount, currency: currency as Schemas["Currency"] },
            default_rate: form.rate,
            chapters: pairs(form.chapters, "an HS chapter and a percent, e.g. 61 12"),
          },
        }),
      );
      reload();
      return `Duty rates of ${saved.country} saved.`;
    });
  }
  return (
    <section aria-labelledby="duties">
      <h2 id="duties">Duty rates</h2>
      <Show loaded={loaded} what="duty rates">
        {(page) => (
          <table>
            <caption className="sr-only">Duty rates per destination</caption>
            <Columns names={["Country", "Duty-free up to", "Default rate", "Per HS chapter"]} />
            <tbody>
              {page.items.map((duty) => (
                <tr key={duty.country}>
                  <td>{duty.country}</td>
                  <td>{formatMoney(duty.threshold.amount, duty.threshold.currency)}</td>
                  <td>{duty.default_rate} %</td>
                  <td>{show(duty.chapters)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Show>
      <form aria-label="Set a destination's duty rates" onSubmit={save}>
        <Field label="Destination country">
          <input required value={form.country} onChange={edit("country")} size={4} />
        </Field>
        <Field label="Threshold currency">
          <input required value={form.currency} onChange={edit("currency")} size={4} />
        </Field>
        <Field label="Duty-free up to">
          <input required inputMode="decimal" value={form.threshold} onChange={edit("threshold")} />
        </Field>
        <Field label="Default rate (%)">
          <input required inputMode="decimal" value={form.rate} onChange={edit("rate")} />
        </Field>
        <Field label="Rates per HS chapter" hint="One per line, e.g. 61 12">
          <textarea value={form.chapters} onChange={edit("chapters")} />
        </Field>
        <button type="submit" disabled={action.running}>
          Save duty rates
        </button>
      </form>
      <Outcome action={action} />
    </section>
  );
}

function FxRates() {
  const [loaded, reload] = useLoad(() => call(api.GET("/fx-rates")), []);
  const [rates, setRates] = useState("");
  const action = useAction();
  function save(event: FormEvent) {
    event.preventDefault();
    void action.run(async () => {
      await call(api.PUT("/fx-rates", { body: { rates: pairs(rates, "a currency and a rate, e.g. USD 1.0842") } }));
      reload();
      return "Exchange rates saved.";
    });
  }
  return (
    <section aria-labelledby="fx">
      <h2 id="fx">Exchange rates</h2>
      <Show loaded={loaded} what="exchange rates">
        {(fx) => (
          <table>
            <caption>Units of each currency per 1 {fx.base}</caption>
            <Columns names={["Currency", "Rate", "Source", "As of"]} numeric={["Rate"]} />
            <tbody>
              {Object.entries(fx.rates).map(([currency, rate]) => (
                <tr key={currency}>
                  <td>{currency}</td>
                  <td className="num">{rate.rate}</td>
                  <td>{rate.source}</td>
                  <td>{when(rate.as_of)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Show>
      <form aria-label="Set exchange rates by hand" onSubmit={save}>
        <Field label="Manual rates" hint="One per line, e.g. USD 1.0842; they override the ECB's">
          <textarea value={rates} onChange={(e) => setRates(e.target.value)} />
        </Field>
        <button type="submit" disabled={action.running}>
          Save exchange rates
        </button>
      </form>
      <Outcome action={action} />
    </section>
  );
}
