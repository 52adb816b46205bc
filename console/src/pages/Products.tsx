// The catalogue: search it (GET /products?q=) and create a product.
import { useState, type FormEvent } from "react";
import { Link, useLocation } from "wouter";
import { api, call } from "../api/client";
import { formatMoney, toMinor } from "../money";
import { Columns, Field, Outcome, Show, useAction, useLoad } from "../ui";

/** The store's base currency, in which base prices are set (the exchange
 *  rates' base). */
export function useBaseCurrency() {
  return useLoad(async () => (await call(api.GET("/fx-rates"))).base, []);
}

export function Products() {
  const [draft, setDraft] = useState({ q: "", category: "" });
  const [search, setSearch] = useState({ q: "", category: "" });
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors[cursors.length - 1];
  const [loaded] = useLoad(
    () =>
      call(
        api.GET("/products", {
          params: { query: { q: search.q || undefined, category: search.category || undefined, limit: 20, cursor } },
        }),
      ),
    [search, cursor],
  );
  function find(event: FormEvent) {
    event.preventDefault();
    setCursors([]);
    setSearch(draft);
  }
  return (
    <>
      <h1>Products</h1>
      <form role="search" aria-label="Find products" onSubmit={find}>
        <Field label="Words">
          <input type="search" value={draft.q} onChange={(e) => setDraft({ ...draft, q: e.target.value })} />
        </Field>
        <Field label="Category">
          <input value={draft.category} onChange={(e) => setDraft({ ...draft, category: e.target.value })} />
        </Field>
        <button type="submit">Search</button>
      </form>
      <Show loaded={loaded} what="products">
        {(page) => (
          <>
            <table>
              <caption className="sr-only">Products</caption>
              <Columns
                names={["Name", "Category", "Base price", "Stock", "Counters"]}
                numeric={["Base price", "Stock", "Counters"]}
              />
              <tbody>
                {page.items.map((product) => (
                  <tr key={product.id}>
                    <td>
                      <Link href={`/products/${product.id}`}>{product.name}</Link>
                    </td>
                    <td>{product.category}</td>
                    <td className="num">{formatMoney(product.base_price, product.base_currency)}</td>
                    <td className="num">{product.stock}</td>
                    <td className="num">{product.stock_counters}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            {page.items.length === 0 && <p>No product matches.</p>}
            {page.next_cursor && (
              <button type="button" onClick={() => setCursors([...cursors, page.next_cursor as string])}>
                Next page
              </button>
            )}
          </>
        )}
      </Show>
      <NewProduct />
    </>
  );
}

type Naming = { name: string; description: string; category: string };

/** What a product is called and filed under: in the create and edit forms. */
export function NamingFields({
  form,
  edit,
}: {
  form: Naming;
  edit: (key: keyof Naming) => (e: { target: { value: string } }) => void;
}) {
  return (
    <>
      <Field label="Name">
        <input required value={form.name} onChange={edit("name")} />
      </Field>
      <Field label="Description">
        <textarea value={form.description} onChange={edit("description")} />
      </Field>
      <Field label="Category">
        <input required value={form.category} onChange={edit("category")} />
      </Field>
    </>
  );
}

function NewProduct() {
  const [base] = useBaseCurrency();
  const [, navigate] = useLocation();
  const [form, setForm] = useState({ name: "", description: "", category: "", price: "", stock: "0" });
  const action = useAction();
  const edit = (key: keyof typeof form) => (e: { target: { value: string } }) =>
    setForm({ ...form, [key]: e.target.value });
  const currency = base.state === "ready" ? base.data : null;

  async function create(event: FormEvent) {
    event.preventDefault();
    if (!currency) return;
    const created = await action.run(async () => {
      const price = toMinor(form.price, currency);
      if (price === null) throw new Error(`The price is not an amount in ${currency}.`);
      const product = await call(
        api.POST("/products", {
          body: {
            name: form.name,
            description: form.description || null,
            category: form.category,
            price,
            stock: Number(form.stock),
          },
        }),
      );
      navigate(`/products/${product.id}`);
      return `Created ${product.name}.`;
    });
    if (created) setForm({ name: "", description: "", category: "", price: "", stock: "0" });
  }

  return (
    <section aria-labelledby="new-product">
      <h2 id="new-product">New product</h2>
      <form className="stacked" onSubmit={create}>
        <NamingFields form={form} edit={edit} />
        <Field label={`Price${currency ? ` (${currency})` : ""}`} hint="In the store's base currency, e.g. 12.50">
          <input required inputMode="decimal" value={form.price} onChange={edit("price")} />
        </Field>
        <Field label="Stock">
          <input type="number" min={0} required value={form.stock} onChange={edit("stock")} />
        </Field>
        <button type="submit" disabled={action.running || !currency}>
          Create product
        </button>
      </form>
      <Outcome action={action} />
    </section>
  );
}
