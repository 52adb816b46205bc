import { expect, test } from "@playwright/test";
import { formatMoney } from "../src/money";
import { expectAccessible, screenshot, signIn } from "./util/console";
import { admin, client, customer, ok, order, orderStatus, pay, product, until } from "./util/shop";

test("find a customer's orders, then deliver, take back and refund them", async ({ page }) => {
  const boss = await admin();
  const buyer = await customer();
  const lamp = await product(boss, 50);
  const shipped = await order(buyer, lamp, 2);
  const refunded = await order(buyer, lamp, 1);
  await pay(buyer, shipped);
  await pay(buyer, refunded);
  // The shipping worker ships paid orders after SHIPPING_DELAY_SECONDS.
  await until("both orders shipped", async () => (await orderStatus(boss, shipped)) === "SHIPPED");

  // The search waits for its answer: a loading state first.
  let release: () => void = () => {};
  const held = new Promise<void>((resolve) => (release = resolve));
  await page.route("**/admin/orders?*", async (route) => {
    await held;
    await route.continue();
  });
  await signIn(page, boss);
  await expect(page.getByRole("status").filter({ hasText: "Loading orders" })).toBeVisible();
  release();
  await expect(page.getByRole("table")).toBeVisible();

  await page.getByLabel("Customer email").fill(buyer.email);
  await page.getByRole("button", { name: "Search" }).click();
  const rows = page.getByRole("table").getByRole("row");
  await expect(rows).toHaveCount(3); // the header and the two orders
  await expect(page.getByRole("link", { name: shipped })).toBeVisible();
  await expectAccessible(page);
  await page.screenshot({ path: screenshot("orders.png"), fullPage: true });

  // An order's breakdown, shipment and history.
  await page.getByRole("link", { name: shipped }).click();
  await expect(page.getByRole("heading", { name: `Order ${shipped}` })).toBeVisible();
  await expect(page.getByRole("table", { name: "Lines" })).toContainText("2");
  const placed = await ok(client(boss.token).GET("/orders/{id}", { params: { path: { id: shipped } } }));
  const amount = (term: string) => page.locator(`dt:text-is("${term}") + dd`);
  await expect(amount("Subtotal")).toHaveText(formatMoney(placed.subtotal, placed.currency));
  await expect(amount("Shipping")).toHaveText(formatMoney(placed.shipping, placed.currency));
  await expect(amount("Total")).toHaveText(formatMoney(placed.total, placed.currency));
  await expect(page.getByRole("region", { name: "Shipment and history" })).toContainText("Paid");
  await expectAccessible(page);

  // A tracking event: the carrier delivered it.
  await page.getByLabel("Tracking status").selectOption("DELIVERED");
  await page.getByLabel("Location").fill("Springfield");
  await page.getByRole("button", { name: "Add tracking event" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Tracking event DELIVERED added" })).toBeVisible();
  await until("delivered", async () => (await orderStatus(boss, shipped)) === "DELIVERED");

  // The customer sends it back; the admin receives the return.
  await ok(
    client(buyer.token).POST("/orders/{id}/return", {
      params: { path: { id: shipped } },
      body: { reason: "too bright" },
    }),
  );
  await page.reload();
  await page.getByRole("button", { name: "Receive the return" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Return received" })).toBeVisible();

  // The other order: refunded in full.
  await page.goto(`index.html#/orders/${refunded}`);
  await page.getByRole("button", { name: "Refund in full" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Refund requested" })).toBeVisible();
  await until("refunded", async () => (await orderStatus(boss, refunded)) === "REFUNDED");
});
