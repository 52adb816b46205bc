//! A cart or an order request priced whole (openapi.yaml, "Carts and
//! checkout"): its market and currency from the destination, each line's
//! unit price from the catalogue, the shipping method, the destination's
//! tax rates and duty rule, then every figure from the pricing engine
//! ([`crate::model::pricing::price`]). What would stop a checkout now is
//! listed as `problems`; a cart shows them, an order refuses on the first.
//! Carts and `POST /orders` both go through [`quote`], so the same lines
//! cost the same either way.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use serde_json::Value;

use crate::foundation::clock::Timestamp;
use crate::foundation::error::{Error, NotShippable, Shortage, Unavailable};
use crate::foundation::ids::ProductId;
use crate::foundation::input::{Errors, FromJson, Object};
use crate::foundation::money::Currency;
use crate::model::fx::{FxRates, FxSnapshot};
use crate::model::markets::{
    Market, MarketCode, PriceList, PriceSource, ShippingOption, TaxMode, choose_shipping, market_for,
    shipping_options,
};
use crate::model::pricing::{self, Breakdown, LineInput, PricedLine, PricingInput};
use crate::model::products::ProductState;
use crate::model::promotions::uses::{RedeemFrom, UsesRead};
use crate::model::promotions::{
    self, AppliedDiscount, CartFacts, DiscountLine, NotApplicable, Offer, Promotion,
};
use crate::model::tax::{self, DutySettings, TaxRatesSettings};
use crate::model::users::{CountryCode, RegionCode};

/// The markets (the default included) and the rates, as read at one time:
/// what a priced request is priced from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setup {
    pub markets: Vec<Market>,
    pub rates: FxRates,
    /// Tax rates an admin set, by country (the shop's defaults elsewhere).
    pub tax: BTreeMap<CountryCode, TaxRatesSettings>,
    /// Duty rules, by country (none: no duty).
    pub duties: BTreeMap<CountryCode, DutySettings>,
    /// Every promotion (their uses are read apart, when needed).
    pub promotions: Vec<Promotion>,
}

impl Setup {
    /// The market that serves `country`, the default without one.
    pub fn find(&self, country: Option<&CountryCode>) -> Option<&Market> {
        match country {
            Some(country) => market_for(&self.markets, country),
            None => self.markets.iter().find(|m| m.default),
        }
    }

    /// The market that serves `country` (the default without one) and what
    /// it sells at `now`, converting from `base`.
    pub fn market(
        &self,
        country: Option<&CountryCode>,
        base: Currency,
        now: Timestamp,
    ) -> (MarketCode, PriceList) {
        match self.find(country) {
            Some(market) => (
                market.code.clone(),
                PriceList::for_market(market, base, &self.rates, now),
            ),
            None => (MarketCode::default_market(), PriceList::base(base)),
        }
    }
}

/// The most units of one product a line may ask for (the contract's
/// bound; `MAX_UNITS_PER_PRODUCT` is the shop's own, lower).
pub const MAX_QUANTITY: u32 = 100;

/// One line of an order request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineRequest {
    pub product_id: ProductId,
    pub quantity: u32,
}

impl FromJson for LineRequest {
    fn from_json(value: Value, at: &str, errors: &mut Errors) -> Option<Self> {
        let mut o = Object::new(value, at, errors)?;
        let product_id = o.required("product_id", |s: String| ProductId::parse(&s));
        let quantity = o.required("quantity", |n: u32| {
            if (1..=MAX_QUANTITY).contains(&n) {
                Ok(n)
            } else {
                Err(format!("must be an integer from 1 to {MAX_QUANTITY}"))
            }
        });
        o.end();
        Some(Self {
            product_id: product_id?,
            quantity: quantity?,
        })
    }
}

/// Where the goods go: the country picks the market, the country and
/// region the tax rates and duty rule.
#[derive(Debug, Clone, Copy)]
pub struct Destination<'a> {
    pub country: &'a CountryCode,
    pub region: Option<&'a RegionCode>,
}

/// What every quote is priced with besides its lines.
#[derive(Debug, Clone, Copy)]
pub struct QuoteTerms<'a> {
    pub setup: &'a Setup,
    /// The base currency (`STORE_CURRENCY`).
    pub base: Currency,
    /// Where products without an `origin_country` are made, and where a
    /// cart without an address is presumed to go for its tax.
    pub store_country: &'a CountryCode,
    pub now: Timestamp,
}

/// What to price.
#[derive(Debug, Clone, Copy)]
pub struct QuoteInput<'a> {
    pub lines: &'a [LineRequest],
    /// `None`: a cart without an address (the default market; taxed as
    /// if it stayed in the store's country, no duty).
    pub destination: Option<Destination<'a>>,
    /// The method chosen, if any (else the cheapest that takes the cart).
    pub shipping_method: Option<&'a MarketCode>,
    /// Coupon codes, normalised, in the order entered.
    pub coupon_codes: &'a [String],
    /// The uses of the promotions that needed them read
    /// ([`promotions::needs_uses`]), by id.
    pub uses: &'a BTreeMap<String, UsesRead>,
}

/// A line as a cart or an order shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QuotedLine {
    pub product_id: ProductId,
    pub name: String,
    #[serde(flatten)]
    pub figures: PricedLine,
}

/// What would stop a checkout now (a cart's `problems`): each with the
/// fields of its error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "code", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Problem {
    OutOfStock {
        product_id: ProductId,
        available: i64,
    },
    ProductUnavailable {
        product_id: ProductId,
        reason: Unavailable,
    },
    NotShippable {
        reason: NotShippable,
    },
    CouponNotApplicable {
        coupon: String,
        reason: NotApplicable,
    },
}

pub use crate::model::pricing::Totals;

/// A priced cart or order request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quote {
    pub market: MarketCode,
    pub currency: Currency,
    /// The rate a converted line was priced at; `None` when none was.
    pub fx: Option<FxSnapshot>,
    pub lines: Vec<QuotedLine>,
    pub totals: Totals,
    pub total: i64,
    pub shipping_method: Option<MarketCode>,
    pub shipping_options: Vec<ShippingOption>,
    pub problems: Vec<Problem>,
    /// The promotions that apply, in the order applied (each with an
    /// amount above 0).
    pub discounts: Vec<AppliedDiscount>,
    /// Where each of those takes its use from, when an order redeems it.
    pub redeem: Vec<RedeemFrom>,
    /// The method asked for is none of the market's (a request naming it
    /// is `400`; a cart that moved market shows `NOT_SHIPPABLE`).
    pub unknown_method: bool,
}

impl Quote {
    /// The first problem as the error a checkout or an order answers:
    /// `PRODUCT_UNAVAILABLE` (the first such line), then `OUT_OF_STOCK`
    /// (every short line, with what it asked for), then `NOT_SHIPPABLE`,
    /// then `COUPON_NOT_APPLICABLE` (the first code that does not apply).
    pub fn refusal(&self, requested: &[LineRequest]) -> Option<Error> {
        if let Some((product_id, reason)) = self.problems.iter().find_map(|p| match p {
            Problem::ProductUnavailable { product_id, reason } => Some((product_id, reason)),
            _ => None,
        }) {
            return Some(Error::ProductUnavailable(product_id.clone(), *reason));
        }
        let shortages: Vec<Shortage> = self
            .problems
            .iter()
            .filter_map(|p| match p {
                Problem::OutOfStock {
                    product_id,
                    available,
                } => Some(Shortage {
                    product_id: product_id.clone(),
                    requested: requested
                        .iter()
                        .find(|l| l.product_id == *product_id)
                        .map_or(0, |l| l.quantity),
                    available: *available,
                }),
                _ => None,
            })
            .collect();
        if !shortages.is_empty() {
            return Some(Error::OutOfStock(shortages));
        }
        if let Some(refused) = self.problems.iter().find_map(|p| match p {
            Problem::NotShippable { reason } => Some(Error::NotShippable(*reason)),
            _ => None,
        }) {
            return Some(refused);
        }
        self.problems.iter().find_map(|p| match p {
            Problem::CouponNotApplicable { coupon, reason } => Some(Error::CouponNotApplicable {
                coupon: coupon.clone(),
                reason: reason.as_str(),
            }),
            _ => None,
        })
    }
}

/// The line a product that cannot be sold shows: its quantity, no price.
fn unpriced(product_id: &ProductId, name: String, quantity: u32) -> QuotedLine {
    QuotedLine {
        product_id: product_id.clone(),
        name,
        figures: PricedLine {
            unit_price: 0,
            quantity,
            amount: 0,
            discount: 0,
            net: 0,
            tax: 0,
            tax_rate: pricing::Percent::ZERO,
            duty: 0,
        },
    }
}

/// Prices `input` from `catalogue` (products by id, deleted ones
/// included). A product that is gone or has no price in the market is a
/// problem, shown at its quantity with no price and left out of every
/// total; a short line is a problem and priced all the same; a cart no
/// method takes is a problem, and then ships for 0.
pub fn quote(
    input: QuoteInput<'_>,
    catalogue: &HashMap<ProductId, ProductState>,
    terms: QuoteTerms<'_>,
) -> Result<Quote, Error> {
    let country = input.destination.map(|d| d.country);
    let fallback;
    let market: &Market = match terms.setup.find(country) {
        Some(market) => market,
        None => {
            fallback = Market::initial_default(terms.base, Timestamp::from_unix(0));
            &fallback
        }
    };
    let prices = PriceList::for_market(market, terms.base, &terms.setup.rates, terms.now);
    let currency = prices.currency();
    let tax_country = country.unwrap_or(terms.store_country);

    let mut problems = Vec::new();
    let mut shown: Vec<Option<QuotedLine>> = Vec::with_capacity(input.lines.len());
    let mut priced = Vec::new();
    let mut converted = false;
    let mut weight_grams: u64 = 0;
    for line in input.lines {
        let product = catalogue.get(&line.product_id);
        let Some(product) = product.filter(|p| p.record.for_sale()) else {
            problems.push(Problem::ProductUnavailable {
                product_id: line.product_id.clone(),
                reason: Unavailable::Deleted,
            });
            let name = product.map(|p| p.record.name.clone()).unwrap_or_default();
            shown.push(Some(unpriced(&line.product_id, name, line.quantity)));
            continue;
        };
        let record = &product.record;
        let Some(found) = record.price_in(&prices) else {
            problems.push(Problem::ProductUnavailable {
                product_id: line.product_id.clone(),
                reason: Unavailable::NoPrice,
            });
            shown.push(Some(unpriced(
                &line.product_id,
                record.name.clone(),
                line.quantity,
            )));
            continue;
        };
        let (unit_price, source) =
            found.map_err(|err| Error::internal(format!("pricing {}: {err}", record.id)))?;
        converted |= source == PriceSource::Converted;
        if product.stock() < i64::from(line.quantity) {
            problems.push(Problem::OutOfStock {
                product_id: line.product_id.clone(),
                available: product.stock().max(0),
            });
        }
        weight_grams += u64::from(record.weight_grams) * u64::from(line.quantity);
        let origin = record.origin_country.as_ref().unwrap_or(terms.store_country);
        priced.push((
            shown.len(),
            record.name.clone(),
            record.category.clone(),
            LineInput {
                unit_price: unit_price.minor(),
                quantity: line.quantity,
                tax_category: record.tax_category.clone(),
                hs_chapter: record.hs_code.as_ref().map(|hs| hs.chapter().to_owned()),
                domestic: origin == tax_country,
                discount: 0,
            },
        ));
        shown.push(None);
    }

    // Promotions: the codes and the automatic ones the cart is eligible
    // for, those that apply together, and what each takes off.
    let facts = CartFacts {
        market: &market.code,
        currency,
        subtotal: priced.iter().map(|(_, _, _, l)| l.amount()).sum(),
        now: terms.now,
    };
    let considered = promotions::consider(
        Offer {
            promotions: &terms.setup.promotions,
            codes: input.coupon_codes,
            uses: input.uses,
        },
        &facts,
    );
    problems.extend(
        considered
            .refused
            .into_iter()
            .map(|(coupon, reason)| Problem::CouponNotApplicable { coupon, reason }),
    );
    let discount_lines: Vec<DiscountLine> = priced
        .iter()
        .map(|(at, _, category, l)| DiscountLine {
            product_id: input.lines[*at].product_id.clone(),
            category: category.clone(),
            amount: l.amount(),
        })
        .collect();

    // Shipping: nothing to ship, nothing charged. A method's `free_over`
    // looks at the goods after their discounts.
    let methods = &market.settings.shipping_methods;
    let goods_after = |discounts: &[i64]| -> i64 {
        discount_lines.iter().map(|l| l.amount).sum::<i64>() - discounts.iter().sum::<i64>()
    };
    let shipping_for = |discounts: &[i64]| -> i64 {
        match choose_shipping(
            methods,
            input.shipping_method,
            weight_grams,
            goods_after(discounts),
        ) {
            Ok(Some(option)) => option.price,
            _ => 0,
        }
    };
    let chosen = if priced.is_empty() {
        Vec::new()
    } else {
        promotions::stack(&considered.eligible, &discount_lines, &shipping_for, currency)
    };
    let line_discounts = promotions::apply(&chosen, &discount_lines, 0, currency).lines;
    let goods = goods_after(&line_discounts);
    let unknown_method = input
        .shipping_method
        .is_some_and(|chosen| !methods.iter().any(|m| m.code == *chosen));
    let (shipping, shipping_method, shipping_options) = if priced.is_empty() {
        (0, None, Vec::new())
    } else {
        let options = shipping_options(methods, weight_grams, goods);
        match choose_shipping(methods, input.shipping_method, weight_grams, goods) {
            Ok(Some(option)) => (option.price, Some(option.code), options),
            Ok(None) if unknown_method => {
                problems.push(Problem::NotShippable {
                    reason: NotShippable::Method,
                });
                (0, None, options)
            }
            Ok(None) => (0, None, options),
            Err(reason) => {
                problems.push(Problem::NotShippable { reason });
                (0, None, options)
            }
        }
    };
    let discounts = promotions::apply(&chosen, &discount_lines, shipping, currency);
    for ((_, _, _, line), discount) in priced.iter_mut().zip(&discounts.lines) {
        line.discount = *discount;
    }
    let mut applied = Vec::new();
    let mut redeem = Vec::new();
    for part in discounts.applied.iter().filter(|a| a.amount > 0) {
        if let Some(promotion) = chosen.iter().find(|p| p.id == part.promotion_id) {
            applied.push(AppliedDiscount {
                promotion_id: promotion.id.clone(),
                code: promotion.code.clone(),
                name: promotion.name.clone(),
                amount: part.amount,
            });
            redeem.push(RedeemFrom::new(promotion, input.uses.get(&promotion.id)));
        }
    }

    let tax_rates = match market.settings.tax_mode {
        TaxMode::None => Default::default(),
        _ => tax::rates_at(
            &terms.setup.tax,
            tax_country,
            input.destination.and_then(|d| d.region),
        ),
    };
    let duty = country
        .and_then(|country| terms.setup.duties.get(country))
        .and_then(|rule| rule.rule_in(currency));
    let breakdown: Breakdown = pricing::price(&PricingInput {
        currency,
        tax_mode: market.settings.tax_mode,
        tax_rounding: market.settings.tax_rounding,
        duties: market.settings.duties,
        lines: priced.iter().map(|(_, _, _, l)| l.clone()).collect(),
        shipping: shipping - discounts.shipping,
        shipping_discount: discounts.shipping,
        tax: tax_rates,
        duty,
    })
    .map_err(|err| Error::internal(format!("pricing a cart: {err}")))?;

    for ((at, name, _, _), figures) in priced.into_iter().zip(breakdown.lines) {
        if let Some(slot) = shown.get_mut(at) {
            *slot = Some(QuotedLine {
                product_id: input.lines[at].product_id.clone(),
                name,
                figures,
            });
        }
    }
    Ok(Quote {
        market: market.code.clone(),
        currency,
        fx: if converted { prices.snapshot() } else { None },
        lines: shown.into_iter().flatten().collect(),
        totals: breakdown.totals,
        total: breakdown.total,
        shipping_method,
        shipping_options,
        problems,
        discounts: applied,
        redeem,
        unknown_method,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::foundation::input::parse_document;
    use crate::foundation::money::{Money, testing::currency};
    use crate::model::fx::FxRates;
    use crate::model::markets::MarketSettings;
    use crate::model::products::{Category, HsCode, ProductRecord, RatingTotals, StockCounter, TaxCategory};

    struct Product {
        /// Explicit prices: (currency, minor units).
        price: (&'static str, i64),
        category: &'static str,
        hs: Option<&'static str>,
        origin: &'static str,
        weight: u32,
        stock: i64,
    }

    fn country(code: &str) -> CountryCode {
        CountryCode::strict(code.into()).expect("valid")
    }

    fn catalogue(products: &[Product]) -> (Vec<ProductId>, HashMap<ProductId, ProductState>) {
        let mut ids = Vec::new();
        let mut all = HashMap::new();
        for (i, p) in products.iter().enumerate() {
            let id = ProductId::new();
            let record = ProductRecord {
                id: id.clone(),
                name: format!("product {i}"),
                description: String::new(),
                category: Category::parse("things".into()).expect("valid"),
                price: Money::new(1_000).expect("valid"),
                currency: currency("USD"),
                prices: [(currency(p.price.0), Money::new(p.price.1).expect("valid"))].into(),
                weight_grams: p.weight,
                tax_category: TaxCategory::parse(p.category.into()).expect("valid"),
                hs_code: p.hs.map(|hs| HsCode::parse(hs.into()).expect("valid")),
                origin_country: Some(country(p.origin)),
                prices_rev: 0,
                created_at: Timestamp::from_unix(0),
                updated_at: Timestamp::from_unix(0),
                deleted_at: None,
                stock_counters: 1,
                low_stock_threshold: None,
                low_stock: None,
                low_stock_alerts: 0,
            };
            let counters = vec![StockCounter {
                index: 0,
                stock: p.stock,
                rating: RatingTotals::default(),
                sold: 0,
            }];
            all.insert(id.clone(), ProductState { record, counters });
            ids.push(id);
        }
        (ids, all)
    }

    fn market(code: &str, settings: serde_json::Value) -> Market {
        let settings: MarketSettings = parse_document(settings).expect("valid");
        Market::replaced(
            MarketCode::parse(code.into()).expect("valid"),
            None,
            settings,
            Timestamp::from_unix(0),
        )
        .expect("valid")
    }

    fn setup(markets: Vec<Market>, duties: &[(&str, serde_json::Value)]) -> Setup {
        Setup {
            markets,
            rates: FxRates::none(currency("USD")),
            tax: Default::default(),
            duties: duties
                .iter()
                .map(|(c, rule)| {
                    (
                        country(c),
                        parse_document::<DutySettings>(rule.clone()).expect("valid"),
                    )
                })
                .collect(),
            promotions: Vec::new(),
        }
    }

    fn lines(ids: &[ProductId], quantities: &[u32]) -> Vec<LineRequest> {
        ids.iter()
            .zip(quantities)
            .map(|(id, q)| LineRequest {
                product_id: id.clone(),
                quantity: *q,
            })
            .collect()
    }

    fn run(
        setup: &Setup,
        catalogue: &HashMap<ProductId, ProductState>,
        lines: &[LineRequest],
        to: Option<(&str, Option<&str>)>,
    ) -> Quote {
        run_with(setup, catalogue, lines, to, &[], &BTreeMap::new())
    }

    fn run_with(
        setup: &Setup,
        catalogue: &HashMap<ProductId, ProductState>,
        lines: &[LineRequest],
        to: Option<(&str, Option<&str>)>,
        codes: &[String],
        uses: &BTreeMap<String, UsesRead>,
    ) -> Quote {
        let country = to.map(|(c, _)| country(c));
        let region = to
            .and_then(|(_, r)| r)
            .map(|r| RegionCode::parse(r.into()).expect("valid"));
        quote(
            QuoteInput {
                lines,
                destination: country.as_ref().map(|country| Destination {
                    country,
                    region: region.as_ref(),
                }),
                shipping_method: None,
                coupon_codes: codes,
                uses,
            },
            catalogue,
            QuoteTerms {
                setup,
                base: currency("USD"),
                store_country: &self::country("US"),
                now: Timestamp::from_unix(1_000),
            },
        )
        .expect("priced")
    }

    /// A shirt at €49.99 (standard rate, made in China, 300 g) and a book
    /// at €12.00 (reduced rate, made in Germany, 500 g).
    fn shirts_and_books(
        shirt_hs: Option<&'static str>,
    ) -> (Vec<ProductId>, HashMap<ProductId, ProductState>) {
        catalogue(&[
            Product {
                price: ("EUR", 4_999),
                category: "standard",
                hs: shirt_hs,
                origin: "CN",
                weight: 300,
                stock: 9,
            },
            Product {
                price: ("EUR", 1_200),
                category: "reduced",
                hs: None,
                origin: "DE",
                weight: 500,
                stock: 9,
            },
        ])
    }

    fn eu() -> Market {
        market(
            "eu",
            json!({"name": "EU", "countries": ["DE"], "currency": "EUR", "tax_mode": "inclusive",
                   "tax_rounding": "line", "price_rounding": "minor", "duties": "ddp",
                   "shipping_methods": [{"code": "standard", "name": "Standard",
                       "rates": [{"max_weight_grams": 1000, "price": 490}, {"max_weight_grams": 5000, "price": 990}],
                       "free_over": 15000, "delivery_days": {"min": 2, "max": 4}}]}),
        )
    }

    fn promotion(id: &str, code: Option<&str>, kind: serde_json::Value) -> Promotion {
        let mut body = kind;
        body["name"] = json!(id);
        if let Some(code) = code {
            body["code"] = json!(code);
        }
        let new: crate::model::promotions::input::NewPromotion = parse_document(body).expect("valid");
        let mut p = new.promotion(id.into(), Timestamp::from_unix(0));
        // Older first by creation: the id's number.
        p.created_at = Timestamp::from_unix(id.len() as i64);
        p
    }

    #[test]
    fn promotions_stack_before_tax_in_an_inclusive_market() {
        let (ids, catalogue) = shirts_and_books(None);
        let mut setup = setup(vec![eu()], &[]);
        setup.promotions = vec![
            promotion(
                "shirts",
                None,
                json!({"kind": "percent", "percent": "10", "combinable": true,
                       "applies_to": {"product_ids": [ids[0].to_string()]}}),
            ),
            promotion(
                "five-off",
                Some("save5"),
                json!({"kind": "fixed", "amounts": {"EUR": 500}, "combinable": true}),
            ),
            promotion("alone", Some("ALONE"), json!({"kind": "percent", "percent": "5"})),
        ];
        let codes = ["SAVE5".to_owned(), "NOPE".to_owned(), "ALONE".to_owned()];
        let q = run_with(
            &setup,
            &catalogue,
            &lines(&ids, &[2, 1]),
            Some(("DE", None)),
            &codes,
            &BTreeMap::new(),
        );
        // 10 % of the shirts' 99.98, per line: 10.00. Then €5.00 over what
        // remains (89.98 and 12.00): 4.41…, 0.58… → 441 and 59 (the larger
        // remainder). "ALONE" (5 % of 111.98 = 5.60) does not beat 15.00.
        let discounts: Vec<i64> = q.lines.iter().map(|l| l.figures.discount).collect();
        assert_eq!(discounts, [1_441, 59]);
        let applied: Vec<(&str, Option<&str>, i64)> = q
            .discounts
            .iter()
            .map(|d| (d.promotion_id.as_str(), d.code.as_deref(), d.amount))
            .collect();
        assert_eq!(
            applied,
            [("shirts", None, 1_000), ("five-off", Some("SAVE5"), 500)]
        );
        // Tax on what remains, gross: 8557 → 7191 + 1366 at 19 %; 1141 →
        // 1066 + 75 at 7 %; shipping 990 → 832 + 158.
        let figures: Vec<(i64, i64)> = q.lines.iter().map(|l| (l.figures.net, l.figures.tax)).collect();
        assert_eq!(figures, [(7_191, 1_366), (1_066, 75)]);
        assert_eq!(
            (
                q.totals.subtotal,
                q.totals.discount_total,
                q.totals.shipping,
                q.totals.tax_total,
                q.total
            ),
            (11_198, 1_500, 990, 1_599, 10_688)
        );
        assert_eq!(
            q.problems,
            [Problem::CouponNotApplicable {
                coupon: "NOPE".into(),
                reason: NotApplicable::Unknown
            }]
        );
        assert_eq!(q.redeem.len(), 2, "both applied promotions are redeemed");
    }

    #[test]
    fn free_over_looks_at_the_goods_after_discounts_and_uses_are_limits() {
        let (ids, catalogue) = catalogue(&[Product {
            price: ("EUR", 15_100),
            category: "standard",
            hs: None,
            origin: "DE",
            weight: 300,
            stock: 9,
        }]);
        let mut setup = setup(vec![eu()], &[]);
        setup.promotions = vec![
            promotion(
                "five",
                Some("FIVE"),
                json!({"kind": "fixed", "amounts": {"EUR": 500}, "usage_limit": 2, "combinable": true}),
            ),
            promotion(
                "ship",
                Some("SHIP"),
                json!({"kind": "free_shipping", "combinable": true}),
            ),
        ];
        let plain = run(&setup, &catalogue, &lines(&ids, &[1]), Some(("DE", None)));
        assert_eq!(plain.totals.shipping, 0, "€151.00 ships free");
        let five = run_with(
            &setup,
            &catalogue,
            &lines(&ids, &[1]),
            Some(("DE", None)),
            &["FIVE".into()],
            &BTreeMap::new(),
        );
        assert_eq!(
            (five.totals.shipping, five.total),
            (490, 15_100 - 500 + 490),
            "€146.00 after the discount does not"
        );
        let both = run_with(
            &setup,
            &catalogue,
            &lines(&ids, &[1]),
            Some(("DE", None)),
            &["FIVE".into(), "SHIP".into()],
            &BTreeMap::new(),
        );
        assert_eq!(
            (both.totals.shipping, both.totals.discount_total, both.total),
            (0, 990, 14_600)
        );

        // No use left on any counter: exhausted, and no discount.
        let uses = BTreeMap::from([(
            "five".to_owned(),
            UsesRead {
                counters: vec![crate::model::promotions::uses::UseCounter {
                    counter: 0,
                    used: 2,
                    left: 0,
                }],
                by_customer: 0,
            },
        )]);
        let line = lines(&ids, &[1]);
        let out = run_with(
            &setup,
            &catalogue,
            &line,
            Some(("DE", None)),
            &["FIVE".into()],
            &uses,
        );
        assert_eq!((out.total, out.discounts.len()), (15_100, 0));
        assert_eq!(
            out.refusal(&line).map(|e| e.to_string()),
            Some("the coupon FIVE does not apply (exhausted)".into())
        );
    }

    #[test]
    fn an_inclusive_ddp_market_charges_shipping_vat_and_duty_exactly() {
        let (ids, catalogue) = shirts_and_books(Some("610910"));
        let setup = setup(
            vec![eu()],
            &[(
                "DE",
                json!({"threshold": {"amount": 5000, "currency": "EUR"}, "default_rate": "4", "chapters": {"61": "12"}}),
            )],
        );
        let q = run(&setup, &catalogue, &lines(&ids, &[2, 1]), Some(("DE", None)));
        // Weight 1,100 g: the second band, €9.90; goods €111.98 < €150.
        assert_eq!(
            (q.totals.shipping, q.shipping_method.as_ref().map(|m| m.as_str())),
            (990, Some("standard"))
        );
        let figures: Vec<(i64, i64, i64, i64)> = q
            .lines
            .iter()
            .map(|l| (l.figures.amount, l.figures.net, l.figures.tax, l.figures.duty))
            .collect();
        // 9998 × 100/119 = 8401.68 → 8402 net, 1596 VAT; 1200 × 100/107 =
        // 1121.50 (1121.495…) → 1121, 79. Customs value 9523 > 5000: the
        // Chinese shirt pays 12 % of 8402 = 1008.24 → 1008; the German good
        // none.
        assert_eq!(figures, [(9_998, 8_402, 1_596, 1_008), (1_200, 1_121, 79, 0)]);
        let tax: Vec<(&str, String, i64, i64)> = q
            .totals
            .tax_lines
            .iter()
            .map(|t| (t.category.as_str(), String::from(t.rate), t.taxable, t.tax))
            .collect();
        // Shipping 990 at 19 %: 832 net, 158 VAT.
        assert_eq!(
            tax,
            [
                ("reduced", "7".into(), 1_121, 79),
                ("standard", "19".into(), 8_402, 1_596),
                ("shipping", "19".into(), 832, 158)
            ]
        );
        assert_eq!(
            (
                q.totals.tax_total,
                q.totals.duties,
                q.totals.duties_due_on_delivery
            ),
            (1_833, 1_008, false)
        );
        // 11198 + 990 shipping + 1008 duty (VAT is inside the prices).
        assert_eq!(
            (q.totals.subtotal, q.total, q.currency),
            (11_198, 13_196, currency("EUR"))
        );
        assert!(q.problems.is_empty());
    }

    #[test]
    fn an_exclusive_market_taxes_by_region_rounds_per_order_and_announces_dap_duty() {
        let ca = market(
            "ca",
            json!({"name": "Canada", "countries": ["CA"], "currency": "CAD", "tax_mode": "exclusive",
                   "tax_rounding": "order", "price_rounding": "minor", "duties": "dap",
                   "shipping_methods": [{"code": "express", "name": "Express",
                       "rates": [{"max_weight_grams": 2000, "price": 1500}], "free_over": null,
                       "delivery_days": {"min": 1, "max": 2}}]}),
        );
        let (ids, catalogue) = catalogue(&[
            Product {
                price: ("CAD", 1_999),
                category: "standard",
                hs: None,
                origin: "US",
                weight: 100,
                stock: 9,
            },
            Product {
                price: ("CAD", 525),
                category: "standard",
                hs: None,
                origin: "US",
                weight: 100,
                stock: 9,
            },
        ]);
        let setup = setup(
            vec![ca],
            &[(
                "CA",
                json!({"threshold": {"amount": 2000, "currency": "CAD"}, "default_rate": "5"}),
            )],
        );
        let q = run(
            &setup,
            &catalogue,
            &lines(&ids, &[3, 1]),
            Some(("CA", Some("CA-QC"))),
        );
        // Quebec: 14.975 % once over 6522 = 976.6695 → 977, spread 898.05 /
        // 78.62 → 898 + 79 (the larger remainder takes the cent).
        let taxes: Vec<i64> = q.lines.iter().map(|l| l.figures.tax).collect();
        assert_eq!(taxes, [898, 79]);
        // Shipping 1500 × 14.975 % = 224.625 → 225.
        assert_eq!(q.totals.tax_total, 977 + 225);
        // Duty 5 % of 5997 = 299.85 → 300 and of 525 = 26.25 → 26, due on
        // delivery: not in the total.
        let duties: Vec<i64> = q.lines.iter().map(|l| l.figures.duty).collect();
        assert_eq!(
            (duties, q.totals.duties, q.totals.duties_due_on_delivery),
            (vec![300, 26], 326, true)
        );
        assert_eq!(q.total, 6_522 + 1_500 + 1_202);
        // Alberta has no subdivision rate: the federal 5 %.
        let alberta = run(
            &setup,
            &catalogue,
            &lines(&ids, &[3, 1]),
            Some(("CA", Some("CA-AB"))),
        );
        assert_eq!(alberta.totals.tax_total, 326 + 75);
    }

    #[test]
    fn the_default_market_charges_what_it_always_did() {
        let (ids, catalogue) = catalogue(&[Product {
            price: ("EUR", 1),
            category: "standard",
            hs: Some("850110"),
            origin: "CN",
            weight: 9_000,
            stock: 9,
        }]);
        let q = run(
            &setup(Vec::new(), &[]),
            &catalogue,
            &lines(&ids, &[3]),
            Some(("DE", None)),
        );
        assert_eq!(
            (q.total, q.totals.subtotal, q.totals.shipping, q.totals.tax_total),
            (3_000, 3_000, 0, 0)
        );
        assert_eq!(
            (q.market.as_str(), q.currency, q.shipping_method.clone()),
            ("default", currency("USD"), None)
        );
    }

    #[test]
    fn problems_name_what_would_stop_a_checkout() {
        let (ids, mut catalogue) = catalogue(&[
            Product {
                price: ("EUR", 1_000),
                category: "standard",
                hs: None,
                origin: "DE",
                weight: 4_000,
                stock: 1,
            },
            Product {
                price: ("GBP", 1_000),
                category: "standard",
                hs: None,
                origin: "DE",
                weight: 4_000,
                stock: 5,
            },
            Product {
                price: ("EUR", 1_000),
                category: "standard",
                hs: None,
                origin: "DE",
                weight: 100,
                stock: 5,
            },
        ]);
        if let Some(gone) = catalogue.get_mut(&ids[2]) {
            gone.record.deleted_at = Some(Timestamp::from_unix(1));
        }
        let setup = setup(vec![eu()], &[]);
        let wanted = lines(&ids, &[2, 1, 1]);
        let q = run(&setup, &catalogue, &wanted, Some(("DE", None)));
        assert_eq!(
            q.problems,
            [
                Problem::OutOfStock {
                    product_id: ids[0].clone(),
                    available: 1
                },
                // No EUR price and no rate: not sold here.
                Problem::ProductUnavailable {
                    product_id: ids[1].clone(),
                    reason: Unavailable::NoPrice
                },
                Problem::ProductUnavailable {
                    product_id: ids[2].clone(),
                    reason: Unavailable::Deleted
                },
                // 8 kg: above the last band.
                Problem::NotShippable {
                    reason: NotShippable::Weight
                },
            ]
        );
        // Unsold lines show their quantity at no price; no shipping is charged.
        let shown: Vec<(i64, u32)> = q
            .lines
            .iter()
            .map(|l| (l.figures.amount, l.figures.quantity))
            .collect();
        assert_eq!(shown, [(2_000, 2), (0, 1), (0, 1)]);
        assert_eq!((q.totals.shipping, q.total), (0, 2_000));
        let problem = serde_json::to_value(&q.problems[1]).expect("json");
        assert_eq!(
            problem,
            json!({"code": "PRODUCT_UNAVAILABLE", "product_id": ids[1].to_string(), "reason": "no_price"})
        );
        assert!(
            matches!(q.refusal(&wanted), Some(Error::ProductUnavailable(id, Unavailable::NoPrice)) if id == ids[1])
        );
        let short = run(&setup, &catalogue, &wanted[..1], Some(("DE", None)));
        assert!(
            matches!(short.refusal(&wanted[..1]), Some(Error::OutOfStock(s)) if s[0].requested == 2 && s[0].available == 1)
        );
    }
}

/// Random carts under random promotions, priced whole: every cent of every
/// discount accounted for, in every tax mode and currency.
#[cfg(test)]
mod promotion_properties {
    use serde_json::{Value, json};

    use super::*;
    use crate::foundation::input::parse_document;
    use crate::foundation::money::{Money, testing::currency};
    use crate::model::markets::MarketSettings;
    use crate::model::products::{Category, ProductRecord, RatingTotals, StockCounter, TaxCategory};
    use crate::model::promotions::input::NewPromotion;

    const CATEGORIES: [&str; 3] = ["shoes", "hats", "books"];

    fn product(rng: &mut fastrand::Rng, code: &str, step: i64) -> ProductState {
        let id = ProductId::new();
        let record = ProductRecord {
            id: id.clone(),
            name: "thing".into(),
            description: String::new(),
            category: Category::parse(CATEGORIES[rng.usize(..3)].into()).expect("valid"),
            price: Money::new(1_000).expect("valid"),
            currency: currency("USD"),
            prices: [(
                currency(code),
                Money::new(rng.i64(1..5_000) * step).expect("valid"),
            )]
            .into(),
            weight_grams: rng.u32(0..800),
            tax_category: TaxCategory::parse(if rng.bool() { "standard" } else { "reduced" }.into())
                .expect("valid"),
            hs_code: None,
            origin_country: Some(CountryCode::strict("DE".into()).expect("valid")),
            prices_rev: 0,
            created_at: Timestamp::from_unix(0),
            updated_at: Timestamp::from_unix(0),
            deleted_at: None,
            stock_counters: 1,
            low_stock_threshold: None,
            low_stock: None,
            low_stock_alerts: 0,
        };
        ProductState {
            record,
            counters: vec![StockCounter {
                index: 0,
                stock: 1_000,
                rating: RatingTotals::default(),
                sold: 0,
            }],
        }
    }

    fn promotion(rng: &mut fastrand::Rng, i: usize, code: &str, step: i64, ids: &[ProductId]) -> Promotion {
        let mut body = match rng.u8(0..3) {
            0 => json!({"kind": "percent", "percent": format!("{}.{}", rng.u32(1..100), rng.u32(0..10))}),
            1 => json!({"kind": "fixed", "amounts": {code: rng.i64(1..3_000) * step}}),
            _ => json!({"kind": "free_shipping"}),
        };
        body["name"] = json!(format!("p{i}"));
        body["combinable"] = json!(rng.u8(0..4) != 0);
        if rng.bool() {
            body["code"] = json!(format!("CODE-{i}"));
        }
        match rng.u8(0..4) {
            0 => body["applies_to"] = json!({"categories": [CATEGORIES[rng.usize(..3)]]}),
            1 => body["applies_to"] = json!({"product_ids": [ids[rng.usize(..ids.len())].to_string()]}),
            _ => {}
        }
        if rng.u8(0..5) == 0 {
            body["min_subtotal"] = json!({code: rng.i64(0..8_000) * step});
        }
        let new: NewPromotion = parse_document(body).expect("a valid promotion");
        let mut p = new.promotion(format!("promo-{i:02}"), Timestamp::from_unix(0));
        // Some share a creation time: the id breaks the tie.
        p.created_at = Timestamp::from_unix(rng.i64(0..4));
        p
    }

    fn market(code: &str, mode: &str, step: i64, free_over: Value) -> Market {
        let settings: MarketSettings = parse_document(json!({
            "name": "M", "countries": ["DE"], "currency": code, "tax_mode": mode,
            "tax_rounding": if mode == "exclusive" { "order" } else { "line" },
            "price_rounding": "minor", "duties": "ddp",
            "shipping_methods": [{"code": "standard", "name": "Standard",
                "rates": [{"max_weight_grams": 2_000, "price": 490 * step},
                          {"max_weight_grams": 50_000, "price": 990 * step}],
                "free_over": free_over, "delivery_days": {"min": 1, "max": 3}}]
        }))
        .expect("valid");
        Market::replaced(
            MarketCode::parse("m".into()).expect("valid"),
            None,
            settings,
            Timestamp::from_unix(0),
        )
        .expect("valid")
    }

    fn priced(
        setup: &Setup,
        catalogue: &HashMap<ProductId, ProductState>,
        lines: &[LineRequest],
        codes: &[String],
    ) -> Quote {
        let de = CountryCode::strict("DE".into()).expect("valid");
        quote(
            QuoteInput {
                lines,
                destination: Some(Destination {
                    country: &de,
                    region: None,
                }),
                shipping_method: None,
                coupon_codes: codes,
                uses: &BTreeMap::new(),
            },
            catalogue,
            QuoteTerms {
                setup,
                base: currency("USD"),
                store_country: &de,
                now: Timestamp::from_unix(100),
            },
        )
        .expect("priced")
    }

    #[test]
    fn every_discount_is_accounted_for_to_the_cent_in_any_order() {
        let mut rng = fastrand::Rng::with_seed(2_027);
        let (mut discounted, mut shipping_off, mut refused) = (0, 0, 0);
        for case in 0..10_000 {
            let (code, step) = [("EUR", 1), ("JPY", 1), ("KWD", 10)][rng.usize(..3)];
            let mode = ["inclusive", "exclusive"][rng.usize(..2)];
            let free_over = if rng.bool() {
                json!(rng.i64(1..20_000) * step)
            } else {
                Value::Null
            };
            let products: Vec<ProductState> = (0..rng.usize(1..=5))
                .map(|_| product(&mut rng, code, step))
                .collect();
            let ids: Vec<ProductId> = products.iter().map(|p| p.record.id.clone()).collect();
            let catalogue: HashMap<ProductId, ProductState> =
                products.into_iter().map(|p| (p.record.id.clone(), p)).collect();
            let lines: Vec<LineRequest> = ids
                .iter()
                .map(|id| LineRequest {
                    product_id: id.clone(),
                    quantity: rng.u32(1..=4),
                })
                .collect();
            let promotions: Vec<Promotion> = (0..rng.usize(0..=5))
                .map(|i| promotion(&mut rng, i, code, step, &ids))
                .collect();
            let codes: Vec<String> = promotions.iter().filter_map(|p| p.code.clone()).collect();
            let mut setup = Setup {
                markets: vec![market(code, mode, step, free_over)],
                rates: crate::model::fx::FxRates::none(currency("USD")),
                tax: Default::default(),
                duties: Default::default(),
                promotions: promotions.clone(),
            };
            let q = priced(&setup, &catalogue, &lines, &codes);
            let t = &q.totals;
            let line_discounts: i64 = q.lines.iter().map(|l| l.figures.discount).sum();
            let shipping_discount = t.discount_total - line_discounts;
            assert_eq!(
                q.discounts.iter().map(|d| d.amount).sum::<i64>(),
                t.discount_total,
                "case {case}: the promotions' amounts are the discount total"
            );
            assert!(q.discounts.iter().all(|d| d.amount > 0), "case {case}");
            assert!(shipping_discount >= 0 && t.shipping >= 0, "case {case}");
            for l in &q.lines {
                let f = &l.figures;
                assert!((0..=f.amount).contains(&f.discount), "case {case}: {f:?}");
                assert_eq!(f.discount % step, 0, "case {case}: whole steps");
                match mode {
                    "inclusive" => assert_eq!(f.net + f.tax, f.amount - f.discount, "case {case}"),
                    _ => assert_eq!(f.net, f.amount - f.discount, "case {case}"),
                }
            }
            let tax = if mode == "exclusive" { t.tax_total } else { 0 };
            assert_eq!(
                q.total,
                t.subtotal - line_discounts + t.shipping + tax + t.duties,
                "case {case}: the totals formula"
            );
            assert!(q.total >= 0, "case {case}");
            discounted += usize::from(t.discount_total > 0);
            shipping_off += usize::from(shipping_discount > 0);
            refused += usize::from(
                q.problems
                    .iter()
                    .any(|p| matches!(p, Problem::CouponNotApplicable { .. })),
            );

            // Created in another order, codes entered in another order: the
            // same result (one non-combinable code at most, or the second
            // is refused whichever it is).
            let exclusive_codes = promotions
                .iter()
                .filter(|p| p.code.is_some() && !p.combinable)
                .count();
            setup.promotions.reverse();
            let mut reversed_codes = codes.clone();
            if exclusive_codes <= 1 {
                reversed_codes.reverse();
            }
            let again = priced(&setup, &catalogue, &lines, &reversed_codes);
            assert_eq!(
                (&again.totals, again.total, &again.discounts),
                (&q.totals, q.total, &q.discounts),
                "case {case}: the order given changes nothing"
            );
        }
        // The cases reach every path: most carts discounted, some shipping
        // taken off, some codes refused (a minimum, a second exclusive one).
        assert!(
            discounted > 6_000 && shipping_off > 500 && refused > 500,
            "{discounted} discounted, {shipping_off} with shipping off, {refused} with a code refused"
        );
    }
}
