// The shop as the tests set it up: accounts, products and orders through
// the API (the same typed client the console uses) and `shopctl` (an admin;
// the sandbox's signed payment).
import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import createClient from "openapi-fetch";
import type { paths } from "../../src/api/schema";

export const API = process.env.SHOP_API_URL ?? "http://127.0.0.1:3000";

export function unique(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

export function client(token?: string) {
  return createClient<paths>({ baseUrl: API, headers: token ? { Authorization: `Bearer ${token}` } : {} });
}

/** The data of an answer; any other answer fails the test with its body. */
export async function ok<T>(answer: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  const { data, error, response } = await answer;
  if (data === undefined) throw new Error(`${response.url}: ${response.status} ${JSON.stringify(error)}`);
  return data;
}

/** An answer without a body (`204`); any failure fails the test. */
export async function done(answer: Promise<{ error?: unknown; response: Response }>): Promise<void> {
  const { error, response } = await answer;
  if (!response.ok) throw new Error(`${response.url}: ${response.status} ${JSON.stringify(error)}`);
}

function shopctl(...args: string[]): string {
  const bin = process.env.SHOPCTL;
  if (!bin) throw new Error("SHOPCTL (target/debug/shopctl) is not set; run through make test or make test-ui");
  return execFileSync(bin, ["--env-file", "none", ...args], { encoding: "utf8" });
}

export type Account = { email: string; password: string; token: string; id: string };

async function login(email: string, password: string): Promise<Account> {
  const session = await ok(client().POST("/auth/login", { body: { email, password } }));
  return { email, password, token: session.access_token, id: session.user.id };
}

export async function admin(): Promise<Account> {
  const email = `${unique("console-admin")}@example.com`;
  const password = "console admin password";
  shopctl("create-admin", "--email", email, "--password", password, "--name", "Console Admin");
  return login(email, password);
}

export async function customer(): Promise<Account> {
  const email = `${unique("console-customer")}@example.com`;
  const password = "correct horse battery staple";
  await ok(client().POST("/auth/register", { body: { email, password, name: "Console Customer" } }));
  await ok(client().POST("/auth/verify", { body: { token: await emailedToken(email, "Confirm your email address") } }));
  return login(email, password);
}

type SentEmail = { To?: string[]; Subject?: string; BodyText?: string };

/** The token in the link of the newest email to `to` with `subject`, as the
 *  emulator's SES recorded it (the notifier sends it from the table's stream). */
async function emailedToken(to: string, subject: string): Promise<string> {
  const endpoint = process.env.AWS_ENDPOINT_URL;
  if (!endpoint) throw new Error("AWS_ENDPOINT_URL (the emulator) is not set");
  let token: string | undefined;
  await until(`an email "${subject}" to ${to}`, async () => {
    const listed = (await (await fetch(`${endpoint}/_ministack/ses/messages`)).json()) as {
      messages?: Record<string, SentEmail[]>;
    };
    const found = Object.values(listed.messages ?? {})
      .flat()
      .filter((m) => m.To?.includes(to) && m.Subject === subject)
      .pop();
    token = found?.BodyText?.match(/\?token=([A-Za-z0-9_-]{43})/)?.[1];
    return token !== undefined;
  });
  return token as string;
}

export async function product(by: Account, stock: number): Promise<string> {
  const created = await ok(
    client(by.token).POST("/products", {
      body: { name: unique("Console lamp"), category: "lighting", price: 12_000, stock },
    }),
  );
  return created.id;
}

/** A customer's order of `quantity` of `productId`, shipped to the default market (US). */
export async function order(by: Account, productId: string, quantity = 1): Promise<string> {
  const placed = await ok(
    client(by.token).POST("/orders", {
      body: {
        items: [{ product_id: productId, quantity }],
        shipping_address: {
          name: "A Customer",
          line1: "1 Main St",
          city: "Springfield",
          region: "US-IL",
          postal_code: "62701",
          country: "US",
        },
      },
    }),
  );
  return placed.id;
}

/** Pays `orderId` in the sandbox: its owner starts the payment, the provider's signed success follows. */
export async function pay(by: Account, orderId: string): Promise<void> {
  await ok(client(by.token).POST("/orders/{id}/payment", { params: { path: { id: orderId } } }));
  shopctl("pay", orderId);
}

export async function orderStatus(by: Account, orderId: string): Promise<string> {
  return (await ok(client(by.token).GET("/orders/{id}", { params: { path: { id: orderId } } }))).status;
}

/** Waits (up to 30 s) until `check` holds. */
export async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > 30_000) throw new Error(`not within 30 s: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}
