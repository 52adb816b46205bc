import { expect, test } from "@playwright/test";
import { expectAccessible, signIn } from "./util/console";
import { admin, unique } from "./util/shop";

test("create a coupon, see it unused, deactivate it; a taken code is refused", async ({ page }) => {
  const boss = await admin();
  const name = unique("Console spring sale");
  const code = unique("SPRING").toUpperCase().replace(/-/g, "");
  await signIn(page, boss);
  await page.getByRole("link", { name: "Promotions" }).click();
  await expect(page.getByRole("heading", { name: "New promotion" })).toBeVisible();
  await expectAccessible(page);

  await page.getByLabel("Name").fill(name);
  await page.getByLabel("Coupon code").fill(code);
  await page.getByLabel("Kind").selectOption("fixed");
  await page.getByLabel("Amount off per currency").fill("USD 5.00\nEUR 4.50");
  await page.getByLabel("Usage limit (empty: none)").fill("100");
  await page.getByRole("button", { name: "Create promotion" }).click();
  await expect(page.getByRole("status").filter({ hasText: `${name} created` })).toBeVisible();
  const row = page.getByRole("row").filter({ hasText: name });
  await expect(row).toContainText("USD 5.00 off");
  await expect(row).toContainText("0 of 100");

  await page.getByLabel("Name").fill(`${name} again`);
  await page.getByRole("button", { name: "Create promotion" }).click();
  await expect(page.getByRole("alert")).toContainText("CODE_TAKEN");

  await row.getByRole("button", { name: `Deactivate ${name}` }).click();
  await expect(page.getByRole("status").filter({ hasText: `${name} deactivated` })).toBeVisible();
  await expect(row.getByRole("cell").nth(5)).toHaveText("no");
  await expectAccessible(page);
});
