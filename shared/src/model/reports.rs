//! Sales figures per UTC day and currency, as `GET /admin/reports/sales`
//! answers them (decision 72). Pure: what one committed change of an order
//! adds to which day's figures, decided from the order before and after
//! the write the table's stream reports; the indexer adds each change once.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::macros::format_description;

use crate::foundation::clock::Timestamp;
use crate::foundation::error::Error;
use crate::foundation::money::Currency;
use crate::model::orders::{Order, OrderStatus};

/// A UTC calendar day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day(time::Date);

const DAY_FORMAT: &[time::format_description::BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]");

impl Day {
    pub fn of(at: Timestamp) -> Self {
        let (year, month, day) = at.ymd();
        let month = time::Month::try_from(month).unwrap_or(time::Month::January);
        Self(time::Date::from_calendar_date(year, month, day).unwrap_or(time::Date::MIN))
    }

    /// `YYYY-MM-DD`, as a query names it.
    pub fn parse(raw: &str) -> Result<Self, String> {
        time::Date::parse(raw, DAY_FORMAT)
            .map(Self)
            .map_err(|_| "must be a date as YYYY-MM-DD".to_owned())
    }

    pub fn previous(self) -> Option<Self> {
        self.0.previous_day().map(Self)
    }

    pub fn next(self) -> Option<Self> {
        self.0.next_day().map(Self)
    }

    /// How many days from `self` to `later`, both counted.
    pub fn span_to(self, later: Self) -> i64 {
        (later.0 - self.0).whole_days() + 1
    }
}

impl std::fmt::Display for Day {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = self.0.format(DAY_FORMAT).map_err(|_| std::fmt::Error)?;
        f.write_str(&text)
    }
}

impl Serialize for Day {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Day {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// One day's figures in one currency: counts of orders and sums of minor
/// units. Every field adds up: two figures of one day are their sum.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Figures {
    pub placed: i64,
    pub paid: i64,
    pub cancelled: i64,
    pub expired: i64,
    pub refunded: i64,
    /// Σ `total` of the orders paid.
    pub gross: i64,
    pub discounts: i64,
    pub shipping: i64,
    pub tax: i64,
    pub duties: i64,
    /// Σ of what was repaid.
    pub refunds: i64,
}

/// The names of [`Figures`]' fields, as stored and answered.
pub const FIELDS: [&str; 11] = [
    "placed",
    "paid",
    "cancelled",
    "expired",
    "refunded",
    "gross",
    "discounts",
    "shipping",
    "tax",
    "duties",
    "refunds",
];

impl Figures {
    /// The fields in [`FIELDS`]' order.
    pub fn values(&self) -> [i64; 11] {
        [
            self.placed,
            self.paid,
            self.cancelled,
            self.expired,
            self.refunded,
            self.gross,
            self.discounts,
            self.shipping,
            self.tax,
            self.duties,
            self.refunds,
        ]
    }

    pub fn from_values(v: [i64; 11]) -> Self {
        Self {
            placed: v[0],
            paid: v[1],
            cancelled: v[2],
            expired: v[3],
            refunded: v[4],
            gross: v[5],
            discounts: v[6],
            shipping: v[7],
            tax: v[8],
            duties: v[9],
            refunds: v[10],
        }
    }

    pub fn add(&mut self, other: &Self) {
        let mut sum = self.values();
        for (total, value) in sum.iter_mut().zip(other.values()) {
            *total += value;
        }
        *self = Self::from_values(sum);
    }

    pub fn is_empty(&self) -> bool {
        self.values().iter().all(|v| *v == 0)
    }

    /// `gross` − `refunds`.
    pub fn net(&self) -> i64 {
        self.gross - self.refunds
    }
}

/// What one change adds to one day's figures in one currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delta {
    pub day: Day,
    pub currency: Currency,
    pub figures: Figures,
}

/// What a change of an order from `before` (`None`: it is new) to `after`
/// adds to the sales figures:
/// - placed, on the day it was created;
/// - paid, with its total and the total's parts (discounts, shipping, tax,
///   duties), on the day its payment arrived (a payment after expiry too:
///   its refund follows);
/// - cancelled by its customer, or expired unpaid (cancelled at or past
///   its `expires_at`), on that day;
/// - refunded, with its total repaid, on that day (refunds are whole).
///
/// A change that is none of these (shipped, a dispute noted) adds nothing.
pub fn sales_deltas(before: Option<&Order>, after: &Order) -> Vec<Delta> {
    let mut deltas = Vec::new();
    let mut add = |at: Timestamp, figures: Figures| {
        deltas.push(Delta {
            day: Day::of(at),
            currency: after.currency,
            figures,
        });
    };
    let total = after.total.minor();
    let Some(before) = before else {
        add(
            after.created_at,
            Figures {
                placed: 1,
                ..Figures::default()
            },
        );
        return deltas;
    };
    if before.status == after.status && before.paid_at == after.paid_at {
        return deltas;
    }
    if before.paid_at.is_none()
        && let Some(paid_at) = after.paid_at
    {
        add(
            paid_at,
            Figures {
                paid: 1,
                gross: total,
                discounts: after.totals.discount_total,
                shipping: after.totals.shipping,
                tax: after.totals.tax_total,
                duties: after.totals.duties,
                ..Figures::default()
            },
        );
    }
    match (before.status, after.status) {
        (OrderStatus::PendingPayment, OrderStatus::Cancelled) => {
            let expired = before.expires_at.is_some_and(|due| due <= after.updated_at);
            add(
                after.updated_at,
                Figures {
                    cancelled: i64::from(!expired),
                    expired: i64::from(expired),
                    ..Figures::default()
                },
            );
        }
        (from, OrderStatus::Refunded) if from != OrderStatus::Refunded => add(
            after.updated_at,
            Figures {
                refunded: 1,
                refunds: total,
                ..Figures::default()
            },
        ),
        _ => {}
    }
    deltas
}

/// A report's row: one day's figures in one currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Row {
    pub date: Day,
    pub currency: Currency,
    #[serde(flatten)]
    pub figures: Figures,
    pub net: i64,
}

/// The rows of figures summed per (day, currency), by day then currency;
/// empty ones left out.
pub fn rows(parts: impl IntoIterator<Item = (Day, Currency, Figures)>) -> Vec<Row> {
    let mut sums: BTreeMap<(Day, String), (Currency, Figures)> = BTreeMap::new();
    for (day, currency, figures) in parts {
        sums.entry((day, currency.as_str().to_owned()))
            .or_insert((currency, Figures::default()))
            .1
            .add(&figures);
    }
    sums.into_iter()
        .filter(|(_, (_, figures))| !figures.is_empty())
        .map(|((date, _), (currency, figures))| Row {
            date,
            currency,
            net: figures.net(),
            figures,
        })
        .collect()
}

/// The most days one report covers.
pub const MAX_DAYS: i64 = 366;

/// A report's `from` and `to` (both inclusive, `from` ≤ `to`, at most
/// [`MAX_DAYS`] days).
pub fn parse_range(from: Option<&str>, to: Option<&str>) -> Result<(Day, Day), Error> {
    let day = |name: &str, raw: Option<&str>| {
        let raw = raw.ok_or_else(|| Error::invalid(name, "is required"))?;
        Day::parse(raw).map_err(|msg| Error::invalid(name, msg))
    };
    let (from, to) = (day("from", from)?, day("to", to)?);
    if from > to {
        return Err(Error::invalid("to", "must not be before from"));
    }
    if from.span_to(to) > MAX_DAYS {
        return Err(Error::invalid(
            "to",
            format!("must be within {MAX_DAYS} days of from"),
        ));
    }
    Ok((from, to))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn order(status: &str, paid_at: Option<&str>, expires_at: Option<&str>, updated_at: &str) -> Order {
        serde_json::from_value(json!({
            "id": "0193a1b2-0000-7000-8000-000000000001", "user_id": "0193a1b2-0000-7000-8000-000000000002",
            "status": status,
            "items": [{"product_id": "0193a1b2-0000-7000-8000-000000000003", "name": "Shirt",
                       "unit_price": 5000, "quantity": 2, "line_total": 10000, "amount": 9000}],
            "subtotal": 10000, "discount_total": 1000, "shipping": 500, "tax_total": 1805, "tax_lines": [],
            "duties": 0, "duties_due_on_delivery": false, "total": 11305, "currency": "EUR",
            "shipping_address": {"name": "Ann", "line1": "1 Main St", "city": "Berlin", "postal_code": "10115",
                                 "country": "DE"},
            "created_at": "2026-12-04T23:50:00Z", "updated_at": updated_at,
            "expires_at": expires_at, "paid_at": paid_at, "delivered_at": null
        }))
        .expect("an order")
    }

    fn day(raw: &str) -> Day {
        Day::parse(raw).expect("a day")
    }

    #[test]
    fn each_step_adds_to_the_day_it_happened() {
        let placed = order(
            "PENDING_PAYMENT",
            None,
            Some("2026-12-05T00:20:00Z"),
            "2026-12-04T23:50:00Z",
        );
        let new = sales_deltas(None, &placed);
        assert_eq!(new.len(), 1);
        assert_eq!((new[0].day, new[0].figures.placed), (day("2026-12-04"), 1));

        let paid = order("PAID", Some("2026-12-05T00:05:00Z"), None, "2026-12-05T00:05:00Z");
        let deltas = sales_deltas(Some(&placed), &paid);
        assert_eq!(deltas.len(), 1);
        assert_eq!(deltas[0].day, day("2026-12-05"), "the day it was paid");
        let f = deltas[0].figures;
        assert_eq!(
            (f.paid, f.gross, f.discounts, f.shipping, f.tax, f.duties),
            (1, 11305, 1000, 500, 1805, 0)
        );

        let shipped = order(
            "SHIPPED",
            Some("2026-12-05T00:05:00Z"),
            None,
            "2026-12-06T09:00:00Z",
        );
        assert!(
            sales_deltas(Some(&paid), &shipped).is_empty(),
            "shipping adds nothing"
        );
        let refunded = order(
            "REFUNDED",
            Some("2026-12-05T00:05:00Z"),
            None,
            "2026-12-07T10:00:00Z",
        );
        let deltas = sales_deltas(Some(&shipped), &refunded);
        assert_eq!(deltas[0].day, day("2026-12-07"));
        assert_eq!(
            (deltas[0].figures.refunded, deltas[0].figures.refunds),
            (1, 11305)
        );
        assert_eq!(deltas[0].figures.net(), -11305);
        assert!(
            sales_deltas(Some(&refunded), &refunded).is_empty(),
            "a replay of no change"
        );
    }

    #[test]
    fn a_cancellation_at_or_past_the_expiry_is_an_expiry() {
        let placed = order(
            "PENDING_PAYMENT",
            None,
            Some("2026-12-05T00:20:00Z"),
            "2026-12-04T23:50:00Z",
        );
        let by_customer = order("CANCELLED", None, None, "2026-12-05T00:10:00Z");
        let swept = order("CANCELLED", None, None, "2026-12-05T00:20:30Z");
        let cancelled = sales_deltas(Some(&placed), &by_customer)[0].figures;
        let expired = sales_deltas(Some(&placed), &swept)[0].figures;
        assert_eq!((cancelled.cancelled, cancelled.expired), (1, 0));
        assert_eq!((expired.cancelled, expired.expired), (0, 1));
        // Paid after it expired: captured (gross), then refunded.
        let late = order(
            "REFUND_PENDING",
            Some("2026-12-05T00:30:00Z"),
            None,
            "2026-12-05T00:30:00Z",
        );
        let deltas = sales_deltas(Some(&swept), &late);
        assert_eq!((deltas[0].figures.paid, deltas[0].figures.gross), (1, 11305));
    }

    /// Over random journeys of orders through the state machine, the
    /// figures summed from every change equal those counted from the
    /// orders as they end: placed, paid and its parts, refunds.
    #[test]
    fn random_journeys_sum_to_the_orders_they_leave() {
        let mut rng = fastrand::Rng::with_seed(2029);
        let paths: [&[&str]; 6] = [
            &["PENDING_PAYMENT"],
            &["PENDING_PAYMENT", "CANCELLED"],
            &["PENDING_PAYMENT", "PAID", "SHIPPED", "DELIVERED"],
            &["PENDING_PAYMENT", "PAID", "REFUND_PENDING", "REFUNDED"],
            &[
                "PENDING_PAYMENT",
                "PAID",
                "SHIPPED",
                "DELIVERED",
                "RETURN_REQUESTED",
                "REFUND_PENDING",
                "REFUNDED",
            ],
            &["PENDING_PAYMENT", "CANCELLED", "REFUND_PENDING", "REFUNDED"],
        ];
        let mut summed = Figures::default();
        let mut counted = Figures::default();
        for _ in 0..300 {
            let path = paths[rng.usize(..paths.len())];
            let mut at = 1_796_000_000 + rng.i64(0..86_400 * 30);
            let stamp = |at: i64| Timestamp::from_unix(at).to_string();
            let mut previous: Option<Order> = None;
            let mut paid_at = None;
            for status in path {
                at += rng.i64(60..7200);
                if matches!(*status, "PAID" | "REFUND_PENDING") && paid_at.is_none() {
                    paid_at = Some(stamp(at));
                }
                let expires = (*status == "PENDING_PAYMENT").then(|| stamp(at + 1800));
                let now = order(status, paid_at.as_deref(), expires.as_deref(), &stamp(at));
                // A redelivered change adds nothing more: only changes count.
                for delta in sales_deltas(previous.as_ref(), &now) {
                    summed.add(&delta.figures);
                }
                previous = Some(now);
            }
            let last = previous.expect("a journey");
            counted.placed += 1;
            if last.paid_at.is_some() {
                counted.paid += 1;
                counted.gross += last.total.minor();
                counted.discounts += last.totals.discount_total;
                counted.shipping += last.totals.shipping;
                counted.tax += last.totals.tax_total;
            }
            if last.status == OrderStatus::Refunded {
                counted.refunded += 1;
                counted.refunds += last.total.minor();
            }
            if path.get(1) == Some(&"CANCELLED") {
                counted.cancelled += 1;
            }
        }
        assert_eq!(
            (
                summed.placed,
                summed.paid,
                summed.gross,
                summed.refunds,
                summed.refunded
            ),
            (
                counted.placed,
                counted.paid,
                counted.gross,
                counted.refunds,
                counted.refunded
            )
        );
        assert_eq!(
            (summed.discounts, summed.shipping, summed.tax),
            (counted.discounts, counted.shipping, counted.tax)
        );
        assert_eq!(summed.cancelled + summed.expired, counted.cancelled);
    }

    #[test]
    fn rows_sum_per_day_and_currency_and_ranges_are_bounded() {
        let eur = Currency::parse("EUR".into()).expect("EUR");
        let usd = Currency::parse("USD".into()).expect("USD");
        let one = |gross| Figures {
            paid: 1,
            gross,
            ..Figures::default()
        };
        let rows = rows([
            (day("2026-12-05"), usd, one(100)),
            (day("2026-12-04"), eur, one(50)),
            (day("2026-12-05"), usd, one(25)),
            (day("2026-12-05"), eur, Figures::default()),
        ]);
        let shown: Vec<(String, &str, i64, i64)> = rows
            .iter()
            .map(|r| (r.date.to_string(), r.currency.as_str(), r.figures.paid, r.net))
            .collect();
        assert_eq!(
            shown,
            [
                ("2026-12-04".to_owned(), "EUR", 1, 50),
                ("2026-12-05".to_owned(), "USD", 2, 125)
            ]
        );
        assert!(parse_range(Some("2026-12-01"), Some("2026-12-31")).is_ok());
        assert!(parse_range(Some("2026-12-31"), Some("2026-12-01")).is_err());
        assert!(parse_range(Some("2025-01-01"), Some("2026-12-31")).is_err());
        assert!(parse_range(Some("2026-13-01"), Some("2026-12-31")).is_err());
        assert!(parse_range(None, Some("2026-12-31")).is_err());
    }
}
