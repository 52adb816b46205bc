import { expect, test } from "@playwright/test";
import { expectAccessible, signIn } from "./util/console";
import { admin, client, ok, unique } from "./util/shop";

test("create a product, price it in another currency, restock it and spread its stock", async ({ page }) => {
  const boss = await admin();
  const name = unique("Console kettle");
  await signIn(page, boss);
  await page.getByRole("link", { name: "Products" }).click();
  await expect(page.getByRole("heading", { name: "Products" })).toBeVisible();
  await expectAccessible(page);

  // A price the base currency cannot hold is refused before it is sent.
  const form = page.getByRole("region", { name: "New product" });
  await form.getByLabel("Name").fill(name);
  await form.getByLabel("Description").fill("Boils water quietly");
  await form.getByLabel("Category").fill("kitchen");
  await form.getByLabel(/^Price/).fill("12.345");
  await form.getByLabel("Stock").fill("7");
  await form.getByRole("button", { name: "Create product" }).click();
  await expect(page.getByRole("alert")).toContainText("not an amount in USD");

  await form.getByLabel(/^Price/).fill("24.50");
  await form.getByRole("button", { name: "Create product" }).click();
  await expect(page.getByRole("heading", { name })).toBeVisible();
  await expect(page.getByLabel("Stock", { exact: true })).toContainText("7");
  await expect(page.getByLabel("Prices", { exact: true })).toContainText("USD 24.50");
  await expectAccessible(page);

  await page.getByLabel("Prices per currency").fill("EUR 22.90\nJPY 3900");
  await page.getByRole("button", { name: "Save product" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Saved." })).toBeVisible();
  await expect(page.getByLabel("Prices", { exact: true })).toContainText("EUR 22.90");
  await expect(page.getByLabel("Prices", { exact: true })).toContainText("JPY 3,900");

  await page.getByLabel("Units to add (negative to remove)").fill("18");
  await page.getByRole("button", { name: "Restock" }).click();
  await expect(page.getByLabel("Stock", { exact: true })).toContainText("25");
  await page.getByLabel("Counters (1 to 16)").fill("4");
  await page.getByRole("button", { name: "Set counters" }).click();
  await expect(page.getByRole("status").filter({ hasText: "spread over 4 counters" })).toBeVisible();

  // What the API now holds, exactly.
  const id = page.url().split("/").pop() ?? "";
  const saved = await ok(client(boss.token).GET("/products/{id}", { params: { path: { id } } }));
  expect(saved).toMatchObject({
    name,
    base_price: 2450,
    prices: { EUR: 2290, JPY: 3900 },
    stock: 25,
    stock_counters: 4,
  });

  // Counters never shrink: the API's problem, as it said it.
  await page.getByLabel("Counters (1 to 16)").fill("2");
  await page.getByRole("button", { name: "Set counters" }).click();
  await expect(page.getByRole("alert")).toContainText("COUNTERS_CANNOT_SHRINK");
});
