// The console as a person uses it: signing in, and the accessibility check
// every page gets.
import AxeBuilder from "@axe-core/playwright";
import { expect, type Page } from "@playwright/test";
import { API, type Account } from "./shop";

/** Where screenshots go: docs/console/ (make test), or CONSOLE_SCREENSHOTS. */
export function screenshot(name: string): string {
  return `${process.env.CONSOLE_SCREENSHOTS ?? "../docs/console"}/${name}`;
}

/** The console's address, as an admin opens it. */
export const CONSOLE_PAGE = `${API}${process.env.CONSOLE_PAGE ?? "/admin/"}`;

export async function signIn(page: Page, account: Account): Promise<void> {
  await page.goto(CONSOLE_PAGE);
  await page.getByLabel("Email").fill(account.email);
  await page.getByLabel("Password").fill(account.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("navigation", { name: "Areas" })).toBeVisible();
}

/** axe-core's WCAG 2.1 A and AA rules over the whole page: no violation. */
export async function expectAccessible(page: Page): Promise<void> {
  const results = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]).analyze();
  const found = results.violations.map(
    (v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join("; ")})`,
  );
  expect(found, "accessibility violations").toEqual([]);
}
