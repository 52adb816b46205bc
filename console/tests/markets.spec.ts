import { expect, test } from "@playwright/test";
import { expectAccessible, signIn } from "./util/console";
import { admin, client, done, ok, unique } from "./util/shop";

// Countries other tests leave alone: the first no market holds is used.
const SPARE = ["TV", "NR", "KI", "PW", "MH", "FM", "WS", "TO", "SB", "VU"];

test("create a market; a second market cannot take its country", async ({ page }) => {
  const boss = await admin();
  // What an earlier, interrupted run of this test left behind goes first.
  const before = await ok(client(boss.token).GET("/markets", { params: { query: { limit: 100 } } }));
  for (const stale of before.items.filter((m) => m.name === "Pacific islands")) {
    await done(client(boss.token).DELETE("/markets/{code}", { params: { path: { code: stale.code } } }));
  }
  const markets = await ok(client(boss.token).GET("/markets", { params: { query: { limit: 100 } } }));
  const held = new Set(markets.items.flatMap((m) => m.countries));
  const country = SPARE.find((c) => !held.has(c));
  test.skip(!country, "every spare country is held by a market");
  const code = unique("ui").toLowerCase();

  await signIn(page, boss);
  await page.getByRole("link", { name: "Markets" }).click();
  await expect(page.getByRole("table")).toContainText("(default)");
  await expectAccessible(page);

  await page.getByLabel("Code", { exact: true }).fill(code);
  await page.getByLabel("Name").fill("Pacific islands");
  await page.getByLabel("Countries").fill(country ?? "");
  await page.getByLabel("Currency").fill("AUD");
  await page.getByLabel("Shipping methods (JSON)").fill(
    JSON.stringify([
      {
        code: "post",
        name: "Island post",
        rates: [{ max_weight_grams: 5000, price: 1500 }],
        delivery_days: { min: 5, max: 12 },
      },
    ]),
  );
  await page.getByRole("button", { name: "Save market" }).click();
  await expect(page.getByRole("status").filter({ hasText: `Market ${code} saved` })).toBeVisible();
  const row = page.getByRole("row").filter({ hasText: code });
  await expect(row).toContainText("AUD");
  await expect(row).toContainText("Island post from AUD 15.00");

  // A second market cannot take a country the first holds.
  await page.getByLabel("Code", { exact: true }).fill(`${code}-2`);
  await page.getByRole("button", { name: "Save market" }).click();
  await expect(page.getByRole("alert")).toContainText("COUNTRY_IN_OTHER_MARKET");
  await expect(page.getByRole("row").filter({ hasText: `${code}-2` })).toHaveCount(0);

  await done(client(boss.token).DELETE("/markets/{code}", { params: { path: { code } } }));
});
