//! The shop's emails: their subject, plain text and HTML, rendered from
//! the templates under `shared/templates/emails/` in the recipient's
//! language ([`format::EmailLocale`]). Pure: sending is the adapter's.
//!
//! Each language has `strings.json` (subjects, greeting, labels) and one
//! plain-text body per email; the HTML is the same body in
//! `layout.html`, paragraph by paragraph, with the order's figures as a
//! table. Templates are compiled into the binary.

pub mod feedback;
pub mod format;

use std::sync::LazyLock;

use minijinja::value::Serde;
use minijinja::{Environment, UndefinedBehavior, context};
use serde::Serialize;
use serde_json::Value;

use crate::foundation::error::Error;
use crate::model::orders::Order;
use crate::model::shipping::Shipment;

pub use format::{EmailLocale, Language, preferred_language};

/// The emails the shop sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Template {
    OrderPlaced,
    PaymentReceived,
    Shipped,
    Delivered,
    RefundIssued,
    ReturnReceived,
    VerifyEmail,
    RegistrationAttempt,
    PasswordReset,
}

impl Template {
    pub const ALL: [Self; 9] = [
        Self::OrderPlaced,
        Self::PaymentReceived,
        Self::Shipped,
        Self::Delivered,
        Self::RefundIssued,
        Self::ReturnReceived,
        Self::VerifyEmail,
        Self::RegistrationAttempt,
        Self::PasswordReset,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::OrderPlaced => "order_placed",
            Self::PaymentReceived => "payment_received",
            Self::Shipped => "shipped",
            Self::Delivered => "delivered",
            Self::RefundIssued => "refund_issued",
            Self::ReturnReceived => "return_received",
            Self::VerifyEmail => "verify_email",
            Self::RegistrationAttempt => "registration_attempt",
            Self::PasswordReset => "password_reset",
        }
    }

    /// Whether it lists the order's lines and figures.
    fn shows_order(self) -> bool {
        matches!(self, Self::OrderPlaced | Self::PaymentReceived)
    }

    /// Whether it ends with the shop's thanks (the account emails do not).
    fn signed(self) -> bool {
        !matches!(
            self,
            Self::VerifyEmail | Self::RegistrationAttempt | Self::PasswordReset
        )
    }
}

/// An email ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// What an email may say: the recipient's name and, as it applies, the
/// order, its shipment, a refund's amount and a link.
#[derive(Debug, Default, Serialize)]
pub struct Facts {
    pub name: String,
    pub order: Option<OrderFacts>,
    pub shipment: Option<ShipmentFacts>,
    pub refund: Option<String>,
    pub link: Option<String>,
}

/// An order as its emails show it, every amount and date formatted.
#[derive(Debug, Serialize)]
pub struct OrderFacts {
    pub number: String,
    pub placed_on: String,
    /// While it awaits payment: the minutes it stays reserved from when it
    /// was placed.
    pub pay_within_minutes: Option<i64>,
    pub delivered_on: Option<String>,
    pub address: String,
    pub lines: Vec<LineFacts>,
    pub subtotal: String,
    pub discounts: Vec<DiscountFacts>,
    pub shipping: String,
    pub tax: Option<String>,
    pub tax_included: bool,
    pub duties: Option<String>,
    pub duties_on_delivery: bool,
    pub total: String,
}

#[derive(Debug, Serialize)]
pub struct LineFacts {
    pub name: String,
    pub quantity: u32,
    pub total: String,
}

#[derive(Debug, Serialize)]
pub struct DiscountFacts {
    pub name: String,
    pub amount: String,
}

#[derive(Debug, Serialize)]
pub struct ShipmentFacts {
    pub carrier: String,
    pub tracking_number: String,
    pub link: String,
}

impl OrderFacts {
    pub fn of(order: &Order, locale: &EmailLocale) -> Self {
        let money = |minor: i64| locale.money(minor, order.currency);
        let totals = &order.totals;
        let duties_in_total = if totals.duties_due_on_delivery {
            0
        } else {
            totals.duties
        };
        // An inclusive market's total holds no tax on top of its prices.
        let tax_included = totals.tax_total > 0
            && order.total.minor()
                == totals.subtotal - totals.discount_total + totals.shipping + duties_in_total;
        Self {
            number: order.id.to_string(),
            placed_on: locale.date(order.created_at),
            pay_within_minutes: order
                .expires_at
                .filter(|_| order.status == crate::model::orders::OrderStatus::PendingPayment)
                .map(|at| (at.unix() - order.created_at.unix()).max(0) / 60),
            delivered_on: order.delivered_at.map(|at| locale.date(at)),
            address: order.shipping_address.lines().join("\n"),
            lines: order
                .items
                .iter()
                .map(|line| LineFacts {
                    name: line.name.clone(),
                    quantity: line.quantity,
                    total: money(line.line_total.minor()),
                })
                .collect(),
            subtotal: money(totals.subtotal),
            discounts: order
                .discounts
                .iter()
                .map(|discount| DiscountFacts {
                    name: discount.name.clone(),
                    amount: money(discount.amount),
                })
                .collect(),
            shipping: money(totals.shipping),
            tax: (totals.tax_total > 0).then(|| money(totals.tax_total)),
            tax_included,
            duties: (totals.duties > 0).then(|| money(totals.duties)),
            duties_on_delivery: totals.duties_due_on_delivery,
            total: money(order.total.minor()),
        }
    }
}

impl ShipmentFacts {
    /// `link`: where the customer follows it.
    pub fn of(shipment: &Shipment, link: String) -> Self {
        Self {
            carrier: shipment.carrier.clone(),
            tracking_number: shipment.tracking_number.clone(),
            link,
        }
    }
}

/// Every template file, compiled in.
const FILES: &[(&str, &str)] = &[
    (
        "layout.html",
        include_str!("../../../templates/emails/layout.html"),
    ),
    ("order.txt", include_str!("../../../templates/emails/order.txt")),
    (
        "en/strings.json",
        include_str!("../../../templates/emails/en/strings.json"),
    ),
    (
        "en/order_placed.txt",
        include_str!("../../../templates/emails/en/order_placed.txt"),
    ),
    (
        "en/payment_received.txt",
        include_str!("../../../templates/emails/en/payment_received.txt"),
    ),
    (
        "en/shipped.txt",
        include_str!("../../../templates/emails/en/shipped.txt"),
    ),
    (
        "en/delivered.txt",
        include_str!("../../../templates/emails/en/delivered.txt"),
    ),
    (
        "en/refund_issued.txt",
        include_str!("../../../templates/emails/en/refund_issued.txt"),
    ),
    (
        "en/return_received.txt",
        include_str!("../../../templates/emails/en/return_received.txt"),
    ),
    (
        "en/verify_email.txt",
        include_str!("../../../templates/emails/en/verify_email.txt"),
    ),
    (
        "en/registration_attempt.txt",
        include_str!("../../../templates/emails/en/registration_attempt.txt"),
    ),
    (
        "en/password_reset.txt",
        include_str!("../../../templates/emails/en/password_reset.txt"),
    ),
    (
        "de/strings.json",
        include_str!("../../../templates/emails/de/strings.json"),
    ),
    (
        "de/order_placed.txt",
        include_str!("../../../templates/emails/de/order_placed.txt"),
    ),
    (
        "de/payment_received.txt",
        include_str!("../../../templates/emails/de/payment_received.txt"),
    ),
    (
        "de/shipped.txt",
        include_str!("../../../templates/emails/de/shipped.txt"),
    ),
    (
        "de/delivered.txt",
        include_str!("../../../templates/emails/de/delivered.txt"),
    ),
    (
        "de/refund_issued.txt",
        include_str!("../../../templates/emails/de/refund_issued.txt"),
    ),
    (
        "de/return_received.txt",
        include_str!("../../../templates/emails/de/return_received.txt"),
    ),
    (
        "de/verify_email.txt",
        include_str!("../../../templates/emails/de/verify_email.txt"),
    ),
    (
        "de/registration_attempt.txt",
        include_str!("../../../templates/emails/de/registration_attempt.txt"),
    ),
    (
        "de/password_reset.txt",
        include_str!("../../../templates/emails/de/password_reset.txt"),
    ),
];

/// The templates, parsed once per process (HTML autoescaped by its name).
static TEMPLATES: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    // A fact a template names but was not given is an error, not a blank.
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    for (name, source) in FILES {
        if name.ends_with(".json") {
            continue;
        }
        // A template that does not parse fails every test that renders it.
        let _ = env.add_template(name, source);
    }
    env
});

fn strings(language: Language) -> Result<Value, Error> {
    let name = format!("{}/strings.json", language.as_str());
    let source = FILES
        .iter()
        .find(|(file, _)| *file == name)
        .map(|(_, source)| *source)
        .ok_or_else(|| Error::internal(format!("no {name}")))?;
    serde_json::from_str(source).map_err(Error::internal)
}

fn rendering(err: minijinja::Error) -> Error {
    Error::internal(format!("email template: {err:#}"))
}

/// Renders `template` in `locale`'s language from `facts`.
pub fn render(template: Template, locale: &EmailLocale, facts: &Facts) -> Result<Rendered, Error> {
    let env = &*TEMPLATES;
    let language = locale.language;
    let mut t = strings(language)?;
    let facts_value = minijinja::Value::from(Serde(facts));
    // The greeting and subject are templates too (they name the recipient
    // and the order).
    let hello = env
        .render_str(t["hello"].as_str().unwrap_or_default(), &facts_value)
        .map_err(rendering)?;
    let subject = env
        .render_str(
            t["subjects"][template.as_str()].as_str().unwrap_or_default(),
            &facts_value,
        )
        .map_err(rendering)?;
    t["hello"] = Value::String(hello.clone());
    let order = facts.order.as_ref().filter(|_| template.shows_order());
    let ctx =
        context! { ..facts_value, ..context! { hello => hello, t => Serde(&t), lang => language.as_str() } };
    let body = env
        .get_template(&format!("{}/{}.txt", language.as_str(), template.as_str()))
        .and_then(|body| body.render(&ctx))
        .map_err(rendering)?;
    let paragraphs: Vec<Vec<String>> = body
        .split("\n\n")
        .map(|paragraph| {
            paragraph
                .lines()
                .map(str::trim)
                .filter(|line| !line.is_empty())
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .filter(|paragraph| !paragraph.is_empty())
        .collect();
    let mut text = paragraphs
        .iter()
        .map(|paragraph| paragraph.join("\n"))
        .collect::<Vec<_>>()
        .join("\n\n");
    if order.is_some() {
        let figures = env
            .get_template("order.txt")
            .and_then(|figures| figures.render(&ctx))
            .map_err(rendering)?;
        text = format!("{text}\n\n{}", figures.trim());
    }
    if template.signed() {
        text = format!("{text}\n\n{}", t["signature"].as_str().unwrap_or_default());
    }
    let html = env
        .get_template("layout.html")
        .and_then(|layout| {
            layout.render(context! {
                lang => language.as_str(),
                subject => &subject,
                paragraphs => paragraphs,
                order => Serde(order),
                signed => template.signed(),
                t => Serde(&t),
            })
        })
        .map_err(rendering)?;
    Ok(Rendered {
        subject: subject.trim().to_owned(),
        text: format!("{text}\n"),
        html,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn order() -> Order {
        serde_json::from_value(json!({
            "id": "0193a1b2-0000-7000-8000-000000000001", "user_id": "0193a1b2-0000-7000-8000-000000000002",
            "status": "PAID",
            "items": [
                {"product_id": "0193a1b2-0000-7000-8000-000000000003", "name": "<b>Shirt</b> & tie",
                 "unit_price": 4999, "quantity": 2, "line_total": 9998},
                {"product_id": "0193a1b2-0000-7000-8000-000000000004", "name": "Buch",
                 "unit_price": 1200, "quantity": 1, "line_total": 1200}
            ],
            "subtotal": 11198, "discount_total": 1500, "shipping": 990, "tax_total": 1751, "tax_lines": [],
            "duties": 0, "duties_due_on_delivery": false,
            "discounts": [{"promotion_id": "p", "code": null, "name": "Shirts 10 %", "amount": 1000},
                          {"promotion_id": "q", "code": "FIVE", "name": "Five euros off", "amount": 500}],
            "total": 10688, "currency": "EUR", "market": "nl",
            "shipping_address": {"name": "Ann Smith", "line1": "Damrak 1", "city": "Amsterdam",
                                 "postal_code": "1012 LG", "country": "NL"},
            "created_at": "2026-12-05T09:30:00Z", "updated_at": "2026-12-05T09:30:00Z",
            "expires_at": "2026-12-05T10:00:00Z", "paid_at": null, "delivered_at": "2026-12-07T12:00:00Z"
        }))
        .expect("an order")
    }

    fn facts(locale: &EmailLocale) -> Facts {
        Facts {
            name: "Ann <Smith>".into(),
            order: Some(OrderFacts::of(&order(), locale)),
            shipment: Some(ShipmentFacts {
                carrier: "sandbox".into(),
                tracking_number: "SB123".into(),
                link: "https://shop.example/orders/1".into(),
            }),
            refund: Some(locale.money(10688, order().currency)),
            link: Some("https://shop.example/verify?token=abc".into()),
        }
    }

    #[test]
    fn every_email_renders_in_every_language() {
        for country in ["DE", "US"] {
            let locale = EmailLocale::choose(None, Some(country));
            for template in Template::ALL {
                let email = render(template, &locale, &facts(&locale))
                    .unwrap_or_else(|err| panic!("{template:?} in {country}: {err}"));
                assert!(!email.subject.is_empty(), "{template:?}");
                assert!(!email.subject.contains('\n'), "{template:?}");
                for part in [&email.subject, &email.text, &email.html] {
                    assert!(
                        !part.contains("{{") && !part.contains("{%"),
                        "{template:?}: {part}"
                    );
                }
                assert!(email.text.contains("Ann <Smith>"), "{template:?}: {}", email.text);
                // The HTML escapes what customers and admins typed.
                assert!(
                    email.html.contains("Ann &lt;Smith&gt;"),
                    "{template:?}: {}",
                    email.html
                );
                assert!(!email.html.contains("<Smith>"), "{template:?}");
            }
        }
    }

    #[test]
    fn an_order_email_shows_the_figures_in_the_recipients_format() {
        let de = EmailLocale::choose(None, Some("DE"));
        let email = render(Template::OrderPlaced, &de, &facts(&de)).expect("rendered");
        assert_eq!(
            email.subject,
            "Ihre Bestellung 0193a1b2-0000-7000-8000-000000000001 ist eingegangen"
        );
        assert!(
            email.text.contains("2 × <b>Shirt</b> & tie: 99,98\u{a0}€"),
            "{}",
            email.text
        );
        assert!(
            email.text.contains("Shirts 10 %: −10,00\u{a0}€"),
            "{}",
            email.text
        );
        assert!(
            email.text.contains("Enthaltene MwSt.: 17,51\u{a0}€"),
            "{}",
            email.text
        );
        assert!(email.text.contains("Gesamt: 106,88\u{a0}€"), "{}", email.text);
        assert!(email.text.contains("vom 5. Dezember 2026"), "{}", email.text);
        // The test's order is paid: no reservation to speak of.
        assert!(!email.text.contains("reservieren"), "{}", email.text);
        assert!(!email.text.contains("None"), "{}", email.text);
        let pending = Order {
            status: crate::model::orders::OrderStatus::PendingPayment,
            ..order()
        };
        let awaiting = Facts {
            order: Some(OrderFacts::of(&pending, &de)),
            ..facts(&de)
        };
        let email = render(Template::OrderPlaced, &de, &awaiting).expect("rendered");
        assert!(
            email.text.contains("Wir reservieren sie 30 Minuten für Sie;"),
            "{}",
            email.text
        );
        assert!(
            email.text.contains("Damrak 1\n1012 LG Amsterdam\nNL"),
            "{}",
            email.text
        );
        assert!(email.html.contains("2 × &lt;b&gt;Shirt&lt;"), "{}", email.html);
        assert!(email.html.contains("&amp; tie"), "{}", email.html);
        assert!(email.html.contains("<html lang=\"de\">"), "{}", email.html);

        let us = EmailLocale::choose(None, Some("US"));
        let email = render(Template::PaymentReceived, &us, &facts(&us)).expect("rendered");
        assert!(email.text.contains("your payment of €106.88"), "{}", email.text);
        assert!(
            email.text.ends_with("Thank you for shopping with us.\n"),
            "{}",
            email.text
        );
    }

    #[test]
    fn account_emails_carry_the_link_and_no_order() {
        let en = EmailLocale::english();
        let email = render(Template::VerifyEmail, &en, &facts(&en)).expect("rendered");
        assert!(
            email.text.contains("https://shop.example/verify?token=abc"),
            "{}",
            email.text
        );
        // In HTML the link is an anchor (its `/` escaped as `&#x2f;`, which
        // a mail client reads back as `/`).
        assert!(
            email
                .html
                .contains("<a href=\"https:&#x2f;&#x2f;shop.example&#x2f;verify?token=abc\">"),
            "{}",
            email.html
        );
        assert!(!email.text.contains("Total"), "{}", email.text);
        assert!(!email.text.contains("Thank you for shopping"), "{}", email.text);
    }

    #[test]
    fn a_missing_fact_is_an_error_not_a_blank() {
        let en = EmailLocale::english();
        let facts = Facts {
            name: "Ann".into(),
            ..Facts::default()
        };
        assert!(render(Template::Shipped, &en, &facts).is_err());
    }
}
