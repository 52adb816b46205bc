// The sales report (GET /admin/reports/sales) as a chart per currency and
// as the exact figures in a table.
import { useEffect, useRef, useState, type FormEvent } from "react";
import { BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, Tooltip } from "chart.js";
import { api, call, type Schemas } from "../api/client";
import { decimal, formatMoney } from "../money";
import { Columns, Field, Show, useLoad } from "../ui";

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Legend, Tooltip);

type Row = Schemas["SalesReport"]["days"][number];

const COUNTS = ["Placed", "Paid", "Cancelled", "Expired", "Refunded"];
const AMOUNTS = ["Gross", "Discounts", "Shipping", "Tax", "Duties", "Refunds", "Net"];

function day(offset: number): string {
  return new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);
}

export function Sales() {
  const [draft, setDraft] = useState({ from: day(-29), to: day(0) });
  const [range, setRange] = useState(draft);
  const [loaded] = useLoad(() => call(api.GET("/admin/reports/sales", { params: { query: range } })), [range]);
  function show(event: FormEvent) {
    event.preventDefault();
    setRange(draft);
  }
  return (
    <>
      <h1>Sales</h1>
      <form aria-label="Report range" onSubmit={show}>
        <Field label="From">
          <input
            type="date"
            required
            value={draft.from}
            onChange={(e) => setDraft({ ...draft, from: e.target.value })}
          />
        </Field>
        <Field label="To">
          <input type="date" required value={draft.to} onChange={(e) => setDraft({ ...draft, to: e.target.value })} />
        </Field>
        <button type="submit">Show</button>
      </form>
      <Show loaded={loaded} what="the sales report">
        {(report) => (report.days.length === 0 ? <p>No sales in this range.</p> : <Report rows={report.days} />)}
      </Show>
    </>
  );
}

function Report({ rows }: { rows: Row[] }) {
  const currencies = [...new Set(rows.map((row) => row.currency))].sort();
  const [currency, setCurrency] = useState(currencies[0] ?? "");
  const shown = rows.filter((row) => row.currency === currency);
  return (
    <>
      <div className="controls">
        <Field label="Currency">
          <select value={currency} onChange={(e) => setCurrency(e.target.value)}>
            {currencies.map((c) => (
              <option key={c}>{c}</option>
            ))}
          </select>
        </Field>
      </div>
      <SalesChart rows={shown} currency={currency} />
      <div className="scroll" role="region" aria-label="Sales per day, exact figures" tabIndex={0}>
        <table>
          <caption>Sales per day in {currency}</caption>
          <Columns names={["Day", ...COUNTS, ...AMOUNTS]} numeric={[...COUNTS, ...AMOUNTS]} />
          <tbody>
            {shown.map((row) => (
              <tr key={row.date}>
                <th scope="row">{row.date}</th>
                {[row.placed, row.paid, row.cancelled, row.expired, row.refunded].map((n, i) => (
                  <td className="num" key={i}>
                    {n}
                  </td>
                ))}
                {[row.gross, row.discounts, row.shipping, row.tax, row.duties, row.refunds, row.net].map((minor, i) => (
                  <td className="num" key={i}>
                    {formatMoney(minor, currency)}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}

/** Gross and net per day, in the currency's major units (the chart only; the
 *  table has the exact figures). */
function SalesChart({ rows, currency }: { rows: Row[]; currency: string }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    if (!canvas.current) return;
    const major = (minor: number) => Number(decimal(minor, currency));
    const chart = new Chart(canvas.current, {
      type: "bar",
      data: {
        labels: rows.map((row) => row.date),
        datasets: [
          { label: `Gross (${currency})`, data: rows.map((row) => major(row.gross)), backgroundColor: "#93c5fd" },
          { label: `Net (${currency})`, data: rows.map((row) => major(row.net)), backgroundColor: "#1d4ed8" },
        ],
      },
      options: { responsive: true, maintainAspectRatio: false, animation: false },
    });
    return () => chart.destroy();
  }, [rows, currency]);
  const total = rows.reduce((sum, row) => sum + row.net, 0);
  return (
    <figure className="chart">
      <canvas
        ref={canvas}
        role="img"
        aria-label={`Gross and net sales per day in ${currency}; net over the range ${formatMoney(total, currency)}`}
      />
      <figcaption className="sr-only">Gross and net sales per day in {currency}</figcaption>
    </figure>
  );
}
