import { expect, test } from "@playwright/test";
import { expectAccessible, signIn } from "./util/console";
import { admin, client, done, ok } from "./util/shop";

test("set a country's tax rates, a destination's duties and an exchange rate", async ({ page }) => {
  const boss = await admin();
  await signIn(page, boss);
  await page.getByRole("link", { name: "Tax, duties and exchange" }).click();
  await expect(page.getByRole("heading", { name: "Exchange rates" })).toBeVisible();
  await expect(page.getByRole("table", { name: /per 1 USD/ })).toBeVisible();
  await expectAccessible(page);

  const tax = page.getByRole("form", { name: "Set a country's tax rates" });
  await tax.getByLabel("Country").fill("IS");
  await tax.getByLabel("Rates per tax category").fill("standard 24\nreduced 11");
  await tax.getByRole("button", { name: "Save tax rates" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Tax rates of IS saved" })).toBeVisible();
  const taxTable = page.getByRole("table", { name: "Tax rates per country" });
  await expect(taxTable.getByRole("row").filter({ hasText: /^IS/ })).toContainText("standard 24 %");

  const duty = page.getByRole("form", { name: "Set a destination's duty rates" });
  await duty.getByLabel("Destination country").fill("IS");
  // A threshold in another currency than the destination market's is refused.
  await duty.getByLabel("Threshold currency").fill("ISK");
  await duty.getByLabel("Duty-free up to").fill("2000");
  await duty.getByLabel("Default rate (%)").fill("7.5");
  await duty.getByRole("button", { name: "Save duty rates" }).click();
  await expect(page.getByRole("alert")).toContainText("threshold.currency");
  await duty.getByLabel("Threshold currency").fill("USD");
  await duty.getByLabel("Duty-free up to").fill("150");
  await duty.getByLabel("Default rate (%)").fill("7.5");
  await duty.getByLabel("Rates per HS chapter").fill("61 15");
  await duty.getByRole("button", { name: "Save duty rates" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Duty rates of IS saved" })).toBeVisible();
  const dutyTable = page.getByRole("table", { name: "Duty rates per destination" });
  await expect(dutyTable.getByRole("row").filter({ hasText: /^IS/ })).toContainText("USD 150.00");
  await expect(dutyTable.getByRole("row").filter({ hasText: /^IS/ })).toContainText("61 15 %");

  const fx = page.getByRole("form", { name: "Set exchange rates by hand" });
  await fx.getByLabel("Manual rates").fill("ISK 138.5");
  await fx.getByRole("button", { name: "Save exchange rates" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Exchange rates saved" })).toBeVisible();
  const rates = await ok(client(boss.token).GET("/fx-rates"));
  expect(rates.rates.ISK).toMatchObject({ source: "manual" });
  expect(Number(rates.rates.ISK?.rate)).toBe(138.5);
  await expectAccessible(page);
  await done(client(boss.token).DELETE("/fx-rates/{currency}", { params: { path: { currency: "ISK" } } }));
});
