import { expect, test } from "@playwright/test";
import { CONSOLE_PAGE, expectAccessible, signIn } from "./util/console";
import { admin, customer } from "./util/shop";

test("a wrong password is the API's problem; an admin signs in and out", async ({ page }) => {
  const account = await admin();
  await page.goto(CONSOLE_PAGE);
  await expect(page.getByRole("heading", { name: /Sign in/ })).toBeVisible();
  await expectAccessible(page);

  await page.getByLabel("Email").fill(account.email);
  await page.getByLabel("Password").fill("not the password");
  await page.getByRole("button", { name: "Sign in" }).click();
  const problem = page.getByRole("alert");
  await expect(problem).toContainText("401");
  await expect(problem).toContainText("INVALID_CREDENTIALS");
  await expectAccessible(page);

  await signIn(page, account);
  await expect(page).toHaveURL(/#\/orders$/);
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page.getByRole("heading", { name: /Sign in/ })).toBeVisible();
});

test("a customer cannot sign in to the console", async ({ page }) => {
  const account = await customer();
  await page.goto(CONSOLE_PAGE);
  await page.getByLabel("Email").fill(account.email);
  await page.getByLabel("Password").fill(account.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("alert")).toContainText("not an admin");
  await expect(page.getByRole("navigation", { name: "Areas" })).toHaveCount(0);
});
