// One product: edit it, set its prices per currency, restock it, and spread
// its stock over counters (PATCH /products/{id}).
import { useState, type FormEvent } from "react";
import { Link } from "wouter";
import { NamingFields } from "./Products";
import { api, call, idempotencyKey, type Schemas } from "../api/client";
import { decimal, formatMoney, parseAmounts, toMinor } from "../money";
import { Field, Outcome, Show, useAction, useLoad } from "../ui";

type Product = Schemas["Product"];
type Patch = Schemas["ProductPatch"];

export function ProductDetail({ id }: { id: string }) {
  const [loaded, reload] = useLoad(() => call(api.GET("/products/{id}", { params: { path: { id } } })), [id]);
  return (
    <>
      <p>
        <Link href="/products">← Products</Link>
      </p>
      <Show loaded={loaded} what="the product">
        {(product) => <Editor key={product.id} product={product} changed={reload} />}
      </Show>
    </>
  );
}

function Editor({ product, changed }: { product: Product; changed: () => void }) {
  const base = product.base_currency;
  const [form, setForm] = useState({
    name: product.name,
    description: product.description,
    category: product.category,
    price: decimal(product.base_price, base),
    prices: Object.entries(product.prices)
      .map(([currency, minor]) => `${currency} ${decimal(minor, currency)}`)
      .join("\n"),
    threshold: product.low_stock_threshold === null ? "" : String(product.low_stock_threshold),
  });
  const [delta, setDelta] = useState("10");
  const [counters, setCounters] = useState(String(product.stock_counters));
  const action = useAction();
  const edit = (key: keyof typeof form) => (e: { target: { value: string } }) =>
    setForm({ ...form, [key]: e.target.value });

  function patch(body: Patch, done: string) {
    return action.run(async () => {
      await call(
        api.PATCH("/products/{id}", {
          params: { path: { id: product.id }, header: { "Idempotency-Key": idempotencyKey() } },
          body,
        }),
      );
      changed();
      return done;
    });
  }
  function save(event: FormEvent) {
    event.preventDefault();
    void action.run(async () => {
      const price = toMinor(form.price, base);
      if (price === null) throw new Error(`The base price is not an amount in ${base}.`);
      await call(
        api.PATCH("/products/{id}", {
          params: { path: { id: product.id }, header: { "Idempotency-Key": idempotencyKey() } },
          body: {
            name: form.name,
            description: form.description,
            category: form.category,
            price,
            prices: parseAmounts(form.prices),
            low_stock_threshold: form.threshold === "" ? null : Number(form.threshold),
          },
        }),
      );
      changed();
      return "Saved.";
    });
  }

  return (
    <>
      <h1>{product.name}</h1>
      <div className="cards">
        <dl className="card" aria-label="Stock">
          <dt>Stock</dt>
          <dd>{product.stock}</dd>
          <dt>Stock counters</dt>
          <dd>{product.stock_counters}</dd>
          <dt>Low-stock alert at</dt>
          <dd>{product.low_stock_threshold ?? "not watched"}</dd>
          <dt>Rating</dt>
          <dd>
            {product.rating.average ?? "—"} ({product.rating.count} reviews)
          </dd>
        </dl>
        <dl className="card" aria-label="Prices">
          <dt>Base price</dt>
          <dd>{formatMoney(product.base_price, base)}</dd>
          {Object.entries(product.prices).map(([currency, minor]) => (
            <div key={currency} style={{ display: "contents" }}>
              <dt>Price in {currency}</dt>
              <dd>{formatMoney(minor, currency)}</dd>
            </div>
          ))}
        </dl>
      </div>
      <Outcome action={action} />
      <section aria-labelledby="restock">
        <h2 id="restock">Restock and counters</h2>
        <form
          aria-label="Restock"
          onSubmit={(e) => {
            e.preventDefault();
            void patch({ stock_delta: Number(delta) }, `Stock changed by ${delta}.`);
          }}
        >
          <Field label="Units to add (negative to remove)">
            <input type="number" value={delta} onChange={(e) => setDelta(e.target.value)} />
          </Field>
          <button type="submit" disabled={action.running}>
            Restock
          </button>
        </form>
        <form
          aria-label="Stock counters"
          onSubmit={(e) => {
            e.preventDefault();
            void patch({ stock_counters: Number(counters) }, `The stock is spread over ${counters} counters.`);
          }}
        >
          <Field label="Counters (1 to 16)" hint="Spreads a fast seller's writes; never fewer than now.">
            <input type="number" min={1} max={16} value={counters} onChange={(e) => setCounters(e.target.value)} />
          </Field>
          <button type="submit" disabled={action.running}>
            Set counters
          </button>
        </form>
      </section>
      <section aria-labelledby="edit">
        <h2 id="edit">Edit</h2>
        <form className="stacked" onSubmit={save}>
          <NamingFields form={form} edit={edit} />
          <Field label={`Base price (${base})`}>
            <input required inputMode="decimal" value={form.price} onChange={edit("price")} />
          </Field>
          <Field
            label="Prices per currency"
            hint="One per line, e.g. USD 12.99; these replace converting the base price."
          >
            <textarea value={form.prices} onChange={edit("prices")} />
          </Field>
          <Field label="Low-stock alert at (empty: not watched)">
            <input type="number" min={0} value={form.threshold} onChange={edit("threshold")} />
          </Field>
          <button type="submit" disabled={action.running}>
            Save product
          </button>
        </form>
      </section>
    </>
  );
}
