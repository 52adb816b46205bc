import { expect, test } from "@playwright/test";
import { formatMoney } from "../src/money";
import { expectAccessible, screenshot, signIn } from "./util/console";
import { admin, client, customer, ok, order, pay, product, until } from "./util/shop";

test("the sales report shows today's orders as a chart and exact figures", async ({ page }) => {
  const boss = await admin();
  const buyer = await customer();
  const lamp = await product(boss, 20);
  const today = new Date().toISOString().slice(0, 10);
  const orders = [];
  for (const quantity of [1, 2, 3]) orders.push(await order(buyer, lamp, quantity));
  // The currency of the market the address falls in.
  const { currency } = await ok(client(buyer.token).GET("/orders/{id}", { params: { path: { id: orders[0] ?? "" } } }));
  const report = async () =>
    (
      await ok(client(boss.token).GET("/admin/reports/sales", { params: { query: { from: today, to: today } } }))
    ).days.find((d) => d.currency === currency);
  const before = (await report())?.paid ?? 0;
  for (const id of orders) await pay(buyer, id);
  // The indexer adds the orders from the table's stream.
  await until("the report counts the three payments", async () => ((await report())?.paid ?? 0) >= before + 3);
  const row = await report();

  await signIn(page, boss);
  await page.getByRole("link", { name: "Sales" }).click();
  await page.getByLabel("Currency").selectOption(currency);
  await expect(
    page.getByRole("img", { name: `Gross and net sales per day in ${currency}`, exact: false }),
  ).toBeVisible();
  const todayRow = page.getByRole("row").filter({ has: page.getByRole("rowheader", { name: today }) });
  await expect(todayRow.getByRole("cell").first()).toHaveText(String(row?.placed));
  await expect(todayRow.getByRole("cell").last()).toContainText(formatMoney(row?.net ?? 0, currency));
  await expectAccessible(page);
  await page.screenshot({ path: screenshot("sales.png"), fullPage: true });
});
