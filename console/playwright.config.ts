// Browser tests of the console, in Debian's Chromium (Playwright's own
// browser download cannot work offline), against the stack at SHOP_API_URL:
// `make test` runs them on its own stack, `make test-ui` on one of its own.
import { defineConfig } from "@playwright/test";

const api = process.env.SHOP_API_URL ?? "http://127.0.0.1:3000";

export default defineConfig({
  testDir: "tests",
  timeout: 90_000,
  expect: { timeout: 15_000 },
  // One stack, one admin's data per test: in order, one at a time.
  workers: 1,
  fullyParallel: false,
  retries: 0,
  reporter: [["list"]],
  outputDir: "test-results",
  use: {
    // The console's folder; CONSOLE_PAGE is the address the tests open
    // (make test: `/admin/`, as make dev serves it; make test-deployed:
    // `/admin`, which redirects into the folder).
    baseURL: `${api}/admin/`,
    browserName: "chromium",
    viewport: { width: 1280, height: 860 },
    screenshot: "only-on-failure",
    launchOptions: {
      executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
      // As root, without a sandbox; no connection leaves loopback.
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    },
  },
});
