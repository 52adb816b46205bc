//! Markets: sets of destination countries served in one currency under
//! one set of tax, duty and shipping rules (openapi.yaml, "Markets"), and
//! the rules that price a product in one. Pure: the store keeps markets,
//! these decide.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::foundation::clock::Timestamp;
use crate::foundation::error::FieldError;
use crate::foundation::input::{Errors, FromJson, Object, bounded_text, report};
use crate::foundation::money::{Amount, Currency, MoneyError};
use crate::model::fx::{FxRates, FxSnapshot, QuotedRate, Rate};
use crate::model::users::CountryCode;

/// The code of the market that exists from the start.
pub const DEFAULT_MARKET: &str = "default";

/// A market's code: 1 to 20 of `[a-z0-9-]`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MarketCode(String);

impl MarketCode {
    /// The default market's code.
    pub fn default_market() -> Self {
        Self(DEFAULT_MARKET.into())
    }

    pub fn parse(code: String) -> Result<Self, String> {
        crate::foundation::input::slug(code, 20).map(Self)
    }

    pub fn is_default(&self) -> bool {
        self.0 == DEFAULT_MARKET
    }
}

crate::foundation::newtype::string_newtype!(MarketCode);

/// Whether prices include tax, exclude it, or there is none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TaxMode {
    Inclusive,
    Exclusive,
    None,
}

/// Where tax is rounded: per line, or once per order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TaxRounding {
    Line,
    Order,
}

/// Who pays import duty: the shop at checkout (delivered duty paid) or the
/// customer at delivery (delivered at place).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Duties {
    Ddp,
    Dap,
}

/// How a converted price is rounded after its half-up rounding to the
/// minor unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PriceRounding {
    /// Left as it is.
    Minor,
    /// Up to the next whole major unit (12.01 → 13.00; 13.00 stays).
    Whole,
    /// Up to the next amount ending in .99 (12.01 → 12.99, 12.99 stays,
    /// 13.00 → 13.99; .990 in a three-decimal currency).
    Charm,
}

impl PriceRounding {
    /// `amount` rounded by this rule. In a currency without a minor unit
    /// (or charged only in whole units: MGA) `whole` and `charm` change
    /// nothing.
    pub fn apply(self, amount: Amount) -> Result<Amount, MoneyError> {
        let currency = amount.currency();
        let major = currency.minor_per_major();
        if self == Self::Minor || currency.exponent() < 2 || currency.step() >= major {
            return Ok(amount);
        }
        let minor = amount.minor();
        let whole = minor - minor % major;
        let rounded = match self {
            Self::Minor => minor,
            Self::Whole if minor % major == 0 => minor,
            Self::Whole => whole.checked_add(major).ok_or(MoneyError::Overflow)?,
            // .99 (.990 in three decimals) of this unit, or of the next
            // when the price is past it (4.995 IQD → 5.990).
            Self::Charm => {
                let charm = major - major / 100;
                let unit = if minor % major <= charm {
                    whole
                } else {
                    whole + major
                };
                unit.checked_add(charm).ok_or(MoneyError::Overflow)?
            }
        };
        Amount::new(rounded, currency)
    }
}

/// Where a product's price in a market came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PriceSource {
    /// Set for the market's currency on the product.
    Explicit,
    /// The base price, when the market sells in the base currency.
    Base,
    /// The base price converted at a rate, then rounded by the market.
    Converted,
}

/// A product's unit price in a market selling in `currency`: its explicit
/// price in that currency; else its base price if that is the currency;
/// else the base price converted at `rate` (half up to the minor unit,
/// then `rounding`). `None`: no explicit price and no rate, so the product
/// is not sold there.
pub fn unit_price(
    base: Amount,
    explicit: Option<Amount>,
    currency: Currency,
    rate: Option<Rate>,
    rounding: PriceRounding,
) -> Option<Result<(Amount, PriceSource), MoneyError>> {
    if let Some(price) = explicit.filter(|price| price.currency() == currency) {
        return Some(Ok((price, PriceSource::Explicit)));
    }
    if base.currency() == currency {
        return Some(Ok((base, PriceSource::Base)));
    }
    let rate = rate?;
    Some(
        base.convert(rate.value(), currency)
            .and_then(|converted| rounding.apply(converted))
            .map(|price| (price, PriceSource::Converted)),
    )
}

/// What a market sells at: its currency, its rounding of converted
/// prices, and the rate from the base currency that may be used now (none
/// when it sells in the base currency, or has no usable rate).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PriceList {
    currency: Currency,
    rounding: PriceRounding,
    base: Currency,
    rate: Option<QuotedRate>,
}

impl PriceList {
    /// The base currency's own prices: the default market as it starts.
    pub fn base(base: Currency) -> Self {
        Self {
            currency: base,
            rounding: PriceRounding::Minor,
            base,
            rate: None,
        }
    }

    /// `market`'s prices at `now`, converting from `base` at `rates`.
    pub fn for_market(market: &Market, base: Currency, rates: &FxRates, now: Timestamp) -> Self {
        let currency = market.settings.currency;
        Self {
            currency,
            rounding: market.settings.price_rounding,
            base,
            rate: (currency != base)
                .then(|| rates.usable(currency, base, now))
                .flatten(),
        }
    }

    pub fn currency(&self) -> Currency {
        self.currency
    }

    /// A product's unit price here, from its `base` price and its explicit
    /// price in this currency ([`unit_price`]).
    pub fn price(
        &self,
        base: Amount,
        explicit: Option<Amount>,
    ) -> Option<Result<(Amount, PriceSource), MoneyError>> {
        unit_price(
            base,
            explicit,
            self.currency,
            self.rate.map(|quoted| quoted.rate),
            self.rounding,
        )
    }

    /// The rate an order priced here keeps, if a conversion may be
    /// involved.
    pub fn snapshot(&self) -> Option<FxSnapshot> {
        self.rate.map(|quoted| FxSnapshot {
            from: self.base,
            to: self.currency,
            rate: quoted.rate,
            source: quoted.source,
            as_of: quoted.as_of,
        })
    }
}

/// A weight band of a shipping method: up to `max_weight_grams`, `price`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeightBand {
    pub max_weight_grams: u32,
    pub price: i64,
}

/// How many days a delivery takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryDays {
    pub min: u16,
    pub max: u16,
}

/// A way of shipping in a market, priced by weight band in its currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShippingMethod {
    pub code: MarketCode,
    pub name: String,
    pub rates: Vec<WeightBand>,
    pub free_over: Option<i64>,
    pub delivery_days: DeliveryDays,
}

impl ShippingMethod {
    /// Its price for a cart weighing `weight_grams` whose goods after
    /// discounts, as displayed (gross in an inclusive market, net in an
    /// exclusive one), come to `goods`: the first band that holds the
    /// weight, or 0 once the goods reach `free_over`. `None`: the cart is
    /// heavier than its last band.
    pub fn quote(&self, weight_grams: u64, goods: i64) -> Option<i64> {
        let band = self
            .rates
            .iter()
            .find(|band| u64::from(band.max_weight_grams) >= weight_grams)?;
        Some(match self.free_over {
            Some(free_over) if goods >= free_over => 0,
            _ => band.price,
        })
    }
}

/// A shipping method as a cart offers it: its price for that cart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ShippingOption {
    pub code: MarketCode,
    pub name: String,
    pub price: i64,
    pub delivery_days: DeliveryDays,
}

/// Every method of a market that takes a cart, cheapest first (ties: the
/// order the market lists them in).
pub fn shipping_options(methods: &[ShippingMethod], weight_grams: u64, goods: i64) -> Vec<ShippingOption> {
    let mut options: Vec<ShippingOption> = methods
        .iter()
        .filter_map(|method| {
            Some(ShippingOption {
                code: method.code.clone(),
                name: method.name.clone(),
                price: method.quote(weight_grams, goods)?,
                delivery_days: method.delivery_days,
            })
        })
        .collect();
    options.sort_by_key(|option| option.price);
    options
}

pub use crate::foundation::error::NotShippable;

/// A cart's shipping: the chosen method when it takes the cart, else the
/// cheapest that does; `None` in a market with no methods (no shipping
/// charge).
pub fn choose_shipping(
    methods: &[ShippingMethod],
    chosen: Option<&MarketCode>,
    weight_grams: u64,
    goods: i64,
) -> Result<Option<ShippingOption>, NotShippable> {
    if methods.is_empty() {
        return Ok(None);
    }
    let options = shipping_options(methods, weight_grams, goods);
    match chosen {
        Some(code) => options
            .into_iter()
            .find(|option| option.code == *code)
            .map(Some)
            .ok_or(NotShippable::Method),
        None => options.into_iter().next().map(Some).ok_or(NotShippable::Weight),
    }
}

/// What `PUT /markets/{code}` sets: every field of a market but its code,
/// `default` and its timestamps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarketSettings {
    pub name: String,
    pub countries: Vec<CountryCode>,
    pub currency: Currency,
    pub tax_mode: TaxMode,
    pub tax_rounding: TaxRounding,
    pub price_rounding: PriceRounding,
    pub duties: Duties,
    pub shipping_methods: Vec<ShippingMethod>,
}

/// Most countries a market may list: a market and the countries it claims
/// and gives up are one transaction (at most 100 items). The default
/// market serves every country no market lists.
pub const MAX_COUNTRIES: usize = 49;

/// Most weight bands and methods a market may have.
const MAX_METHODS: usize = 20;
const MAX_BANDS: usize = 20;
const MAX_WEIGHT_GRAMS: u32 = 1_000_000;
/// The largest amount a market's settings may hold, in minor units (what
/// one charge may be).
const MAX_AMOUNT: i64 = crate::model::charges::MAX_CHARGE;

impl FromJson for MarketSettings {
    fn from_json(value: Value, at: &str, errors: &mut Errors) -> Option<Self> {
        let mut o = Object::new(value, at, errors)?;
        let name = o.required("name", |s| bounded_text(s, 1, 100));
        let countries = o.required("countries", |codes: Vec<String>| {
            if codes.len() > MAX_COUNTRIES {
                return Err(format!("may list at most {MAX_COUNTRIES} countries"));
            }
            let mut seen = BTreeSet::new();
            codes
                .into_iter()
                .map(|code| {
                    let country = CountryCode::strict(code)?;
                    if seen.insert(country.as_str().to_owned()) {
                        Ok(country)
                    } else {
                        Err(format!("lists {} twice", country.as_str()))
                    }
                })
                .collect::<Result<Vec<_>, String>>()
        });
        let currency = o.required("currency", |code: String| {
            let currency = Currency::parse(code)?;
            if crate::model::charges::chargeable(currency) {
                Ok(currency)
            } else {
                Err(format!("the payment provider cannot charge {currency}"))
            }
        });
        let tax_mode = o.required("tax_mode", |mode: TaxMode| Ok::<_, String>(mode));
        let tax_rounding = o.required("tax_rounding", |r: TaxRounding| Ok::<_, String>(r));
        let price_rounding = o.required("price_rounding", |r: PriceRounding| Ok::<_, String>(r));
        let duties = o.required("duties", |d: Duties| Ok::<_, String>(d));
        let methods = o.required_list::<MethodInput>("shipping_methods", 0, MAX_METHODS);
        o.end();
        let currency = currency?;
        let methods = methods?;
        // Amounts are in the market's currency: whole steps of it (tens of
        // fils in KWD).
        let mut valid = true;
        for (i, method) in methods.iter().enumerate() {
            for (j, band) in method.0.rates.iter().enumerate() {
                if band.price % currency.step() != 0 {
                    report(
                        errors,
                        at,
                        &format!("shipping_methods[{i}].rates[{j}].price"),
                        format!("must be a multiple of {} in {currency}", currency.step()),
                    );
                    valid = false;
                }
            }
            if method.0.free_over.is_some_and(|free| free % currency.step() != 0) {
                report(
                    errors,
                    at,
                    &format!("shipping_methods[{i}].free_over"),
                    format!("must be a multiple of {} in {currency}", currency.step()),
                );
                valid = false;
            }
        }
        let codes: BTreeSet<&str> = methods.iter().map(|m| m.0.code.as_str()).collect();
        if codes.len() != methods.len() {
            report(errors, at, "shipping_methods", "names a method code twice");
            valid = false;
        }
        valid.then_some(())?;
        Some(Self {
            name: name?,
            countries: countries?,
            currency,
            tax_mode: tax_mode?,
            tax_rounding: tax_rounding?,
            price_rounding: price_rounding?,
            duties: duties?,
            shipping_methods: methods.into_iter().map(|m| m.0).collect(),
        })
    }
}

/// A shipping method as sent, checked.
struct MethodInput(ShippingMethod);

impl FromJson for MethodInput {
    fn from_json(value: Value, at: &str, errors: &mut Errors) -> Option<Self> {
        let mut o = Object::new(value, at, errors)?;
        let code = o.required("code", MarketCode::parse);
        let name = o.required("name", |s| bounded_text(s, 1, 100));
        let rates = o.required("rates", |bands: Vec<WeightBand>| {
            if bands.is_empty() || bands.len() > MAX_BANDS {
                return Err(format!("must hold 1 to {MAX_BANDS} weight bands"));
            }
            if bands
                .iter()
                .any(|b| b.max_weight_grams > MAX_WEIGHT_GRAMS || !(0..=MAX_AMOUNT).contains(&b.price))
            {
                return Err(format!(
                    "each band is up to {MAX_WEIGHT_GRAMS} grams at a price from 0 to {MAX_AMOUNT}"
                ));
            }
            if bands
                .windows(2)
                .any(|w| w[0].max_weight_grams >= w[1].max_weight_grams)
            {
                return Err("bands must go up in weight".into());
            }
            Ok(bands)
        });
        let free_over = o.optional("free_over", |amount: i64| {
            if (0..=MAX_AMOUNT).contains(&amount) {
                Ok(amount)
            } else {
                Err(format!("must be from 0 to {MAX_AMOUNT}"))
            }
        });
        let days = o.required("delivery_days", |days: DeliveryDays| {
            if days.min <= days.max && days.max <= 365 {
                Ok(days)
            } else {
                Err("min must not exceed max, nor max 365".to_owned())
            }
        });
        o.end();
        Some(Self(ShippingMethod {
            code: code?,
            name: name?,
            rates: rates?,
            free_over: free_over?,
            delivery_days: days?,
        }))
    }
}

/// A market as stored and answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Market {
    pub code: MarketCode,
    #[serde(flatten)]
    pub settings: MarketSettings,
    pub default: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Market {
    /// The default market as it is until an admin replaces its settings:
    /// the store's currency, no tax, no duty, no shipping charge, and every
    /// country no other market holds (so it lists none).
    pub fn initial_default(currency: Currency, since: Timestamp) -> Self {
        Self {
            code: MarketCode(DEFAULT_MARKET.into()),
            settings: MarketSettings {
                name: "Default".into(),
                countries: Vec::new(),
                currency,
                tax_mode: TaxMode::None,
                tax_rounding: TaxRounding::Line,
                price_rounding: PriceRounding::Minor,
                duties: Duties::Dap,
                shipping_methods: Vec::new(),
            },
            default: true,
            created_at: since,
            updated_at: since,
        }
    }

    /// This market with `settings` at `now`: a new one (`None` before), or
    /// a replacement. The default market keeps its currency and countries:
    /// a change of either is refused, naming the field.
    pub fn replaced(
        code: MarketCode,
        before: Option<&Market>,
        settings: MarketSettings,
        now: Timestamp,
    ) -> Result<Self, Vec<FieldError>> {
        if code.is_default() {
            let current = before.map(|m| (m.settings.currency, m.settings.countries.as_slice()));
            let mut errors = Vec::new();
            if current.is_some_and(|(currency, _)| currency != settings.currency) {
                errors.push(FieldError::new(
                    "currency",
                    "the default market's currency cannot change",
                ));
            }
            if !settings.countries.is_empty() {
                errors.push(FieldError::new(
                    "countries",
                    "the default market holds every country no other market holds; it lists none",
                ));
            }
            if !errors.is_empty() {
                return Err(errors);
            }
        }
        Ok(Self {
            default: code.is_default(),
            created_at: before.map_or(now, |m| m.created_at),
            code,
            settings,
            updated_at: now,
        })
    }
}

/// The market that serves `country`: the one listing it, else the default
/// (`markets` holds the default).
pub fn market_for<'a>(markets: &'a [Market], country: &CountryCode) -> Option<&'a Market> {
    markets
        .iter()
        .find(|m| m.settings.countries.contains(country))
        .or_else(|| markets.iter().find(|m| m.default))
}

/// Whether a market's countries are free: the first country another
/// market (by code) already holds, with that market's code.
pub fn country_taken<'a>(
    code: &MarketCode,
    countries: &[CountryCode],
    others: impl IntoIterator<Item = (&'a MarketCode, &'a [CountryCode])>,
) -> Option<(CountryCode, MarketCode)> {
    others
        .into_iter()
        .filter(|(other, _)| *other != code)
        .find_map(|(other, held)| {
            countries
                .iter()
                .find(|c| held.contains(c))
                .map(|c| (c.clone(), other.clone()))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::foundation::input::parse_document;
    use crate::foundation::money::testing::{amount, currency};
    use serde_json::json;

    #[test]
    fn price_rounding_rules() {
        use PriceRounding::*;
        let round = |rule: PriceRounding, minor, code| rule.apply(amount(minor, code)).map(Amount::minor);
        assert_eq!(round(Minor, 1201, "EUR"), Ok(1201));
        assert_eq!(round(Whole, 1201, "EUR"), Ok(1300));
        assert_eq!(round(Whole, 1300, "EUR"), Ok(1300));
        assert_eq!(round(Charm, 1201, "EUR"), Ok(1299));
        assert_eq!(round(Charm, 1299, "EUR"), Ok(1299));
        assert_eq!(round(Charm, 1300, "EUR"), Ok(1399));
        assert_eq!(round(Charm, 0, "EUR"), Ok(99));
        assert_eq!(round(Charm, 12_010, "KWD"), Ok(12_990), ".990 in fils");
        assert_eq!(
            round(Charm, 4_995, "IQD"),
            Ok(5_990),
            "past .990: the next unit's"
        );
        assert_eq!(round(Whole, 12_010, "KWD"), Ok(13_000));
        for rule in [Minor, Whole, Charm] {
            assert_eq!(round(rule, 1234, "JPY"), Ok(1234), "no minor unit: unchanged");
        }
    }

    /// Over every active currency: a rounded price is never below the
    /// price, is less than one major unit above it, and rounding it again
    /// changes nothing.
    #[test]
    fn price_rounding_only_raises_by_less_than_a_unit_and_is_idempotent() {
        let mut rng = fastrand::Rng::with_seed(2503);
        for currency in Currency::all() {
            for _ in 0..200 {
                let minor = rng.i64(0..10_000_000) / currency.step() * currency.step();
                let price = Amount::new(minor, currency).expect("valid");
                for rule in [PriceRounding::Minor, PriceRounding::Whole, PriceRounding::Charm] {
                    let rounded = rule.apply(price).expect("in range");
                    assert!(rounded.minor() >= minor, "{rule:?} {price} → {rounded}");
                    assert!(
                        rounded.minor() - minor < currency.minor_per_major().max(1),
                        "{rule:?} {price} → {rounded}"
                    );
                    assert_eq!(rule.apply(rounded), Ok(rounded), "{rule:?} {price}");
                }
            }
        }
    }

    #[test]
    fn a_price_in_a_market_is_explicit_base_or_converted() {
        let base = amount(1999, "USD");
        let rate = |text| Some(Rate::parse(text).expect("valid"));
        assert_eq!(
            unit_price(
                base,
                Some(amount(1899, "EUR")),
                currency("EUR"),
                rate("0.9"),
                PriceRounding::Charm
            ),
            Some(Ok((amount(1899, "EUR"), PriceSource::Explicit))),
            "explicit prices are never rounded"
        );
        assert_eq!(
            unit_price(base, None, currency("USD"), None, PriceRounding::Whole),
            Some(Ok((base, PriceSource::Base)))
        );
        // 19.99 × 0.9 = 17.991 → 17.99 → charm 17.99.
        assert_eq!(
            unit_price(base, None, currency("EUR"), rate("0.9"), PriceRounding::Charm),
            Some(Ok((amount(1799, "EUR"), PriceSource::Converted)))
        );
        // 19.99 × 155.2860215054 = 3104.19... → ¥3,104.
        assert_eq!(
            unit_price(
                base,
                None,
                currency("JPY"),
                rate("155.2860215054"),
                PriceRounding::Whole
            ),
            Some(Ok((amount(3104, "JPY"), PriceSource::Converted)))
        );
        // 19.99 × 0.30795 = 6.1559205 → 6.160 KWD.
        assert_eq!(
            unit_price(base, None, currency("KWD"), rate("0.30795"), PriceRounding::Minor),
            Some(Ok((amount(6160, "KWD"), PriceSource::Converted)))
        );
        assert_eq!(
            unit_price(
                base,
                Some(amount(100, "GBP")),
                currency("EUR"),
                None,
                PriceRounding::Minor
            ),
            None,
            "no price in EUR and no rate: not sold"
        );
    }

    fn settings(value: Value) -> Result<MarketSettings, Vec<String>> {
        parse_document::<MarketSettings>(value).map_err(|err| match err {
            crate::foundation::error::Error::Validation(errors) => {
                errors.into_iter().map(|e| e.field).collect()
            }
            other => panic!("{other:?}"),
        })
    }

    fn eu() -> Value {
        json!({
            "name": "European Union", "countries": ["DE", "FR"], "currency": "EUR",
            "tax_mode": "inclusive", "tax_rounding": "line", "price_rounding": "charm", "duties": "ddp",
            "shipping_methods": [{
                "code": "standard", "name": "Standard",
                "rates": [{"max_weight_grams": 1000, "price": 490}, {"max_weight_grams": 5000, "price": 990}],
                "free_over": 5000, "delivery_days": {"min": 2, "max": 5}
            }]
        })
    }

    #[test]
    fn market_settings_are_checked_field_by_field() {
        let market = settings(eu()).expect("valid");
        assert_eq!(market.currency, currency("EUR"));
        assert_eq!(market.shipping_methods[0].rates[1].price, 990);
        let mut bad = eu();
        bad["countries"] = json!(["DE", "DE"]);
        bad["currency"] = json!("XYZ");
        bad["tax_mode"] = json!("sometimes");
        bad["shipping_methods"][0]["rates"] =
            json!([{"max_weight_grams": 5000, "price": 1}, {"max_weight_grams": 1000, "price": 2}]);
        bad["colour"] = json!("blue");
        assert_eq!(
            settings(bad),
            Err(vec![
                "countries".into(),
                "currency".into(),
                "tax_mode".into(),
                "shipping_methods[0].rates".into(),
                "colour".into()
            ])
        );
        let mut kwd = eu();
        kwd["currency"] = json!("KWD");
        kwd["shipping_methods"][0]["free_over"] = json!(5005);
        assert_eq!(settings(kwd), Err(vec!["shipping_methods[0].free_over".into()]));
        let mut ariary = eu();
        ariary["currency"] = json!("MGA");
        assert_eq!(
            settings(ariary),
            Err(vec![
                "shipping_methods[0].rates[0].price".into(),
                "shipping_methods[0].rates[1].price".into()
            ]),
            "4.90 MGA is not whole ariary"
        );
        let mut dinar = eu();
        dinar["currency"] = json!("IQD");
        assert_eq!(settings(dinar), Err(vec!["currency".into()]), "not charged");
        let mut countries = eu();
        countries["countries"] = json!(["QQ"]);
        assert_eq!(
            settings(countries),
            Err(vec!["countries".into()]),
            "no such country"
        );
    }

    #[test]
    fn shipping_takes_the_first_band_that_holds_the_weight_and_is_free_over_a_sum() {
        let market = settings(eu()).expect("valid");
        let standard = &market.shipping_methods[0];
        // Bands: up to 1 kg 4.90, up to 5 kg 9.90; free from 50.00.
        assert_eq!(standard.quote(0, 0), Some(490));
        assert_eq!(standard.quote(1000, 4999), Some(490), "a band holds its maximum");
        assert_eq!(standard.quote(1001, 4999), Some(990));
        assert_eq!(standard.quote(1001, 5000), Some(0), "free from free_over");
        assert_eq!(standard.quote(5001, 100_000), None, "too heavy, even when free");
    }

    #[test]
    fn a_cart_ships_by_its_chosen_method_or_the_cheapest_that_takes_it() {
        let mut value = eu();
        value["shipping_methods"] = json!([
            {"code": "express", "name": "Express", "rates": [{"max_weight_grams": 2000, "price": 1500}],
             "delivery_days": {"min": 1, "max": 1}},
            {"code": "standard", "name": "Standard",
             "rates": [{"max_weight_grams": 1000, "price": 490}, {"max_weight_grams": 5000, "price": 990}],
             "free_over": 5000, "delivery_days": {"min": 2, "max": 5}},
            {"code": "pickup", "name": "Pickup", "rates": [{"max_weight_grams": 20000, "price": 990}],
             "delivery_days": {"min": 0, "max": 1}}
        ]);
        let market = settings(value).expect("valid");
        let methods = &market.shipping_methods;
        let code = |c: &str| MarketCode::parse(c.into()).expect("valid");
        let options: Vec<(String, i64)> = shipping_options(methods, 1500, 0)
            .into_iter()
            .map(|o| (o.code.as_str().to_owned(), o.price))
            .collect();
        assert_eq!(
            options,
            [
                ("standard".into(), 990),
                ("pickup".into(), 990),
                ("express".into(), 1500)
            ],
            "cheapest first; ties in the market's order"
        );
        let cheapest = choose_shipping(methods, None, 1500, 0).expect("shippable");
        assert_eq!(cheapest.map(|o| o.code), Some(code("standard")));
        let chosen = choose_shipping(methods, Some(&code("express")), 1500, 0).expect("shippable");
        assert_eq!(chosen.map(|o| o.price), Some(1500));
        assert_eq!(
            choose_shipping(methods, Some(&code("express")), 3000, 0),
            Err(NotShippable::Method)
        );
        assert_eq!(
            choose_shipping(methods, None, 20_001, 0),
            Err(NotShippable::Weight)
        );
        assert_eq!(
            choose_shipping(&[], None, 99_999_999, 0),
            Ok(None),
            "no methods, no charge"
        );
    }

    #[test]
    fn the_default_market_keeps_its_currency_and_countries() {
        let now = Timestamp::from_unix(1_000);
        let default = Market::initial_default(currency("USD"), now);
        let code = MarketCode::parse(DEFAULT_MARKET.into()).expect("valid");
        let mut changed = settings(eu()).expect("valid");
        let errors = Market::replaced(code.clone(), Some(&default), changed.clone(), now.plus_secs(1))
            .expect_err("refused");
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["currency", "countries"]);
        changed.currency = currency("USD");
        changed.countries.clear();
        let replaced =
            Market::replaced(code, Some(&default), changed, now.plus_secs(1)).expect("its settings");
        assert!(replaced.default);
        assert_eq!(replaced.created_at, now);
        assert_eq!(replaced.settings.tax_mode, TaxMode::Inclusive);
        let eu_market = Market::replaced(
            MarketCode::parse("eu".into()).expect("valid"),
            None,
            settings(eu()).expect("valid"),
            now,
        )
        .expect("new");
        let markets = [replaced, eu_market];
        let de = CountryCode::parse("DE".into()).expect("valid");
        let us = CountryCode::parse("US".into()).expect("valid");
        assert_eq!(market_for(&markets, &de).map(|m| m.code.as_str()), Some("eu"));
        assert_eq!(
            market_for(&markets, &us).map(|m| m.code.as_str()),
            Some(DEFAULT_MARKET)
        );
        let json = serde_json::to_value(&markets[1]).expect("json");
        assert_eq!(json["code"], "eu");
        assert_eq!(json["currency"], "EUR");
        assert_eq!(json["default"], false);
        assert_eq!(json["shipping_methods"][0]["rates"][0]["price"], 490);
    }

    #[test]
    fn a_country_belongs_to_one_market() {
        let code = |c: &str| MarketCode::parse(c.into()).expect("valid");
        let countries = |cs: &[&str]| -> Vec<CountryCode> {
            cs.iter()
                .map(|c| CountryCode::parse((*c).into()).expect("valid"))
                .collect()
        };
        let eu = countries(&["DE", "FR"]);
        let uk = countries(&["GB"]);
        let others = [(code("eu"), eu.clone()), (code("uk"), uk)];
        let held = |market: &MarketCode, wanted: &[CountryCode]| {
            country_taken(market, wanted, others.iter().map(|(c, l)| (c, l.as_slice())))
        };
        assert_eq!(held(&code("eu"), &eu), None, "its own countries");
        assert_eq!(
            held(&code("dach"), &countries(&["AT", "DE"])),
            Some((countries(&["DE"])[0].clone(), code("eu")))
        );
        assert!(MarketCode::parse("Default".into()).is_err());
        assert!(MarketCode::parse("x".repeat(21)).is_err());
        assert!(
            MarketCode::parse(DEFAULT_MARKET.into())
                .expect("valid")
                .is_default()
        );
    }
}
