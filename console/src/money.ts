// Amounts are integer minor units of their currency (ISO 4217 exponent, as
// the shop prices them). They are shown exactly: the integer is turned into
// a decimal string, which Intl formats without passing through a float.
import { code } from "currency-codes";

/** The ISO 4217 exponent of `currency` (2 when unknown). */
export function exponent(currency: string): number {
  return code(currency)?.digits ?? 2;
}

/** `1234` in EUR → `"12.34"`; `-5` in JPY → `"-5"`. */
export function decimal(minor: number, currency: string): string {
  const digits = exponent(currency);
  const sign = minor < 0 ? "-" : "";
  const units = String(Math.abs(Math.trunc(minor))).padStart(digits + 1, "0");
  if (digits === 0) return sign + units;
  return `${sign}${units.slice(0, -digits)}.${units.slice(-digits)}`;
}

/** An amount for people to read: `12.34 EUR` with grouping, say `€12.34`. */
export function formatMoney(minor: number, currency: string): string {
  const digits = exponent(currency);
  try {
    return new Intl.NumberFormat("en", {
      style: "currency",
      currency,
      currencyDisplay: "code",
      minimumFractionDigits: digits,
      maximumFractionDigits: digits,
    }).format(decimal(minor, currency) as Intl.StringNumericLiteral);
  } catch {
    return `${decimal(minor, currency)} ${currency}`;
  }
}

/** A decimal the admin typed (`"12.5"`) in minor units, or null if it is not one. */
export function toMinor(text: string, currency: string): number | null {
  const digits = exponent(currency);
  const match = /^\s*(\d+)(?:\.(\d*))?\s*$/.exec(text);
  if (!match) return null;
  const fraction = match[2] ?? "";
  if (fraction.length > digits) return null;
  const minor = Number(match[1] + fraction.padEnd(digits, "0"));
  return Number.isSafeInteger(minor) ? minor : null;
}

/** `"USD 12.99"` lines → minor units per currency; the first line that is
 *  not a currency and an amount it can hold is an error. */
export function parseAmounts(text: string): Record<string, number> {
  const amounts: Record<string, number> = {};
  for (const line of text
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean)) {
    const [code = "", amount = ""] = line.split(/\s+/);
    const currency = code.toUpperCase();
    const minor = /^[A-Z]{3}$/.test(currency) ? toMinor(amount, currency) : null;
    if (minor === null) throw new Error(`"${line}" is not a currency and an amount, e.g. USD 12.99.`);
    amounts[currency] = minor;
  }
  return amounts;
}
