//! Carts (openapi.yaml, "Carts and checkout"): one per customer, its lines,
//! address, shipping method and coupon codes, and a version that every
//! write moves on. A cart reserves nothing; it is priced afresh on every
//! answer by the same function as an order ([`crate::model::quote`]).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::foundation::clock::Timestamp;
use crate::foundation::error::Error;
use crate::foundation::ids::{ProductId, UserId};
use crate::foundation::input::{Errors, FromJson, Object, Update};
use crate::model::coupons;
use crate::model::fx::FxSnapshot;
use crate::model::markets::{MarketCode, ShippingOption};
use crate::model::orders::{AppliedDiscount, OrderLimits};
use crate::model::quote::{LineRequest, Problem, Quote, QuotedLine, Totals};
use crate::model::users::Address;

/// The most lines a cart holds (a 51st: `409 CART_FULL`).
pub const MAX_CART_LINES: usize = 50;

/// A line as stored: which product, how many.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CartItem {
    pub product_id: ProductId,
    pub quantity: u32,
}

/// A customer's cart as stored. `version` 0: never written (every
/// customer has an empty one from the start).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cart {
    pub user_id: UserId,
    pub version: u64,
    pub items: Vec<CartItem>,
    pub shipping_address: Option<Address>,
    pub shipping_method: Option<MarketCode>,
    #[serde(default)]
    pub coupon_codes: Vec<String>,
    pub updated_at: Option<Timestamp>,
}

impl Cart {
    /// The cart a customer has before their first write.
    pub fn empty(user_id: UserId) -> Self {
        Self {
            user_id,
            version: 0,
            items: Vec::new(),
            shipping_address: None,
            shipping_method: None,
            coupon_codes: Vec::new(),
            updated_at: None,
        }
    }

    /// Its lines as a request to price.
    pub fn lines(&self) -> Vec<LineRequest> {
        self.items
            .iter()
            .map(|item| LineRequest {
                product_id: item.product_id.clone(),
                quantity: item.quantity,
            })
            .collect()
    }

    /// Sets a line's quantity (a new line goes last): `QUANTITY_LIMIT`
    /// above the per-product cap, `CART_FULL` for a 51st line.
    pub fn set_quantity(
        &mut self,
        product_id: &ProductId,
        quantity: u32,
        limits: &OrderLimits,
    ) -> Result<(), Error> {
        if quantity > limits.max_units_per_product {
            return Err(Error::QuantityLimit {
                product_id: product_id.clone(),
                max: limits.max_units_per_product,
            });
        }
        let full = self.items.len() >= MAX_CART_LINES;
        match self.items.iter_mut().find(|item| item.product_id == *product_id) {
            Some(item) => item.quantity = quantity,
            None if full => return Err(Error::CartFull(MAX_CART_LINES)),
            None => self.items.push(CartItem {
                product_id: product_id.clone(),
                quantity,
            }),
        }
        Ok(())
    }

    /// Removes a line; `NOT_FOUND` when it is not there.
    pub fn remove(&mut self, product_id: &ProductId) -> Result<(), Error> {
        let before = self.items.len();
        self.items.retain(|item| item.product_id != *product_id);
        if self.items.len() == before {
            return Err(Error::NotFound);
        }
        Ok(())
    }

    /// Applies a `PATCH` (the shipping method is checked against the
    /// market the result is priced in, by the caller).
    pub fn patch(&mut self, patch: CartPatch) {
        match patch.shipping_address {
            Update::Keep => {}
            Update::Clear => self.shipping_address = None,
            Update::Set(address) => self.shipping_address = Some(address),
        }
        match patch.shipping_method {
            Update::Keep => {}
            Update::Clear => self.shipping_method = None,
            Update::Set(method) => self.shipping_method = Some(method),
        }
        if let Some(codes) = patch.coupon_codes {
            self.coupon_codes = codes;
        }
    }

    /// This cart after a write at `now`: the next version.
    pub fn written(mut self, now: Timestamp) -> Self {
        self.version += 1;
        self.updated_at = Some(now);
        self
    }

    /// This cart checked out at `now`: its lines and coupon codes gone, its
    /// address and method kept for the next, the next version.
    pub fn checked_out(&self, now: Timestamp) -> Self {
        Self {
            items: Vec::new(),
            coupon_codes: Vec::new(),
            ..self.clone()
        }
        .written(now)
    }
}

/// `PUT /cart/items/{product_id}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CartQuantity(pub u32);

impl FromJson for CartQuantity {
    fn from_json(value: Value, at: &str, errors: &mut Errors) -> Option<Self> {
        let mut o = Object::new(value, at, errors)?;
        let quantity = o.required("quantity", |n: u32| {
            if (1..=crate::model::quote::MAX_QUANTITY).contains(&n) {
                Ok(n)
            } else {
                Err(format!(
                    "must be an integer from 1 to {}",
                    crate::model::quote::MAX_QUANTITY
                ))
            }
        });
        o.end();
        Some(Self(quantity?))
    }
}

/// `POST /cart/checkout`: the total the client saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checkout {
    pub expected_total: i64,
}

impl FromJson for Checkout {
    fn from_json(value: Value, at: &str, errors: &mut Errors) -> Option<Self> {
        let mut o = Object::new(value, at, errors)?;
        let expected_total = o.required("expected_total", |n: i64| {
            if (0..=crate::model::charges::MAX_CHARGE).contains(&n) {
                Ok(n)
            } else {
                Err(format!(
                    "must be an integer of minor units from 0 to {}",
                    crate::model::charges::MAX_CHARGE
                ))
            }
        });
        o.end();
        Some(Self {
            expected_total: expected_total?,
        })
    }
}

/// `PATCH /cart`: any of the address, the method (either may be `null`)
/// and the coupon codes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CartPatch {
    pub shipping_address: Update<Address>,
    pub shipping_method: Update<MarketCode>,
    pub coupon_codes: Option<Vec<String>>,
}

impl FromJson for CartPatch {
    fn from_json(value: Value, at: &str, errors: &mut Errors) -> Option<Self> {
        let mut o = Object::new(value, at, errors)?;
        let shipping_address = o.patch_nested("shipping_address");
        let shipping_method = o.nullable("shipping_method", MarketCode::parse);
        let coupon_codes = o.optional("coupon_codes", coupons::coupon_codes);
        o.end();
        Some(Self {
            shipping_address: shipping_address?,
            shipping_method: shipping_method?,
            coupon_codes: coupon_codes?,
        })
    }
}

/// A cart as answered: stored fields and every figure of its quote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CartView {
    pub id: UserId,
    pub version: u64,
    pub market: MarketCode,
    pub currency: crate::foundation::money::Currency,
    pub items: Vec<QuotedLine>,
    pub shipping_address: Option<Address>,
    pub shipping_method: Option<MarketCode>,
    pub shipping_options: Vec<ShippingOption>,
    pub coupon_codes: Vec<String>,
    pub discounts: Vec<AppliedDiscount>,
    #[serde(flatten)]
    pub totals: Totals,
    pub total: i64,
    pub fx: Option<FxSnapshot>,
    pub problems: Vec<Problem>,
    pub updated_at: Option<Timestamp>,
}

impl CartView {
    /// `cart` priced as `quote` says. The method shown is the one that
    /// applies (the chosen one, or the cheapest that takes the cart).
    pub fn new(cart: &Cart, quote: Quote) -> Self {
        Self {
            id: cart.user_id.clone(),
            version: cart.version,
            market: quote.market,
            currency: quote.currency,
            items: quote.lines,
            shipping_address: cart.shipping_address.clone(),
            shipping_method: quote.shipping_method,
            shipping_options: quote.shipping_options,
            coupon_codes: cart.coupon_codes.clone(),
            discounts: quote.discounts,
            totals: quote.totals,
            total: quote.total,
            fx: quote.fx,
            problems: quote.problems,
            updated_at: cart.updated_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::foundation::input::parse_document;

    fn limits() -> OrderLimits {
        OrderLimits {
            max_unpaid_orders: 3,
            max_units_per_product: 10,
        }
    }

    #[test]
    fn lines_are_set_replaced_and_removed_within_the_limits() {
        let mut cart = Cart::empty(UserId::new());
        let first = ProductId::new();
        cart.set_quantity(&first, 2, &limits()).expect("added");
        cart.set_quantity(&first, 5, &limits()).expect("replaced");
        assert_eq!(cart.lines()[0].quantity, 5);
        assert!(matches!(
            cart.set_quantity(&first, 11, &limits()),
            Err(Error::QuantityLimit { max: 10, .. })
        ));
        for _ in 1..MAX_CART_LINES {
            cart.set_quantity(&ProductId::new(), 1, &limits()).expect("room");
        }
        assert!(matches!(
            cart.set_quantity(&ProductId::new(), 1, &limits()),
            Err(Error::CartFull(50))
        ));
        cart.set_quantity(&first, 1, &limits())
            .expect("a line already there fits");
        cart.remove(&first).expect("removed");
        assert!(matches!(cart.remove(&first), Err(Error::NotFound)));
        assert_eq!(cart.items.len(), MAX_CART_LINES - 1);
    }

    #[test]
    fn every_write_moves_the_version_and_checkout_keeps_the_address() {
        let mut cart = Cart::empty(UserId::new());
        cart.patch(
            parse_document(
                json!({"shipping_address": {"name": "A", "line1": "1 Road", "city": "Berlin",
                                  "postal_code": "10115", "country": "DE"}, "shipping_method": "standard",
                                  "coupon_codes": [" summer-10 ", "SUMMER-10", "vip_2"]}),
            )
            .expect("valid"),
        );
        assert_eq!(cart.coupon_codes, ["SUMMER-10", "VIP_2"], "normalised, once each");
        cart.set_quantity(&ProductId::new(), 1, &limits()).expect("added");
        let written = cart.written(Timestamp::from_unix(5));
        assert_eq!(written.version, 1);
        let emptied = written.checked_out(Timestamp::from_unix(6));
        assert_eq!(
            (emptied.version, emptied.items.len(), emptied.coupon_codes.len()),
            (2, 0, 0)
        );
        assert!(emptied.shipping_address.is_some() && emptied.shipping_method.is_some());
        let mut cleared = emptied;
        cleared.patch(
            parse_document(json!({"shipping_address": null, "shipping_method": null})).expect("valid"),
        );
        assert!(cleared.shipping_address.is_none() && cleared.shipping_method.is_none());
    }

    #[test]
    fn a_patch_names_each_bad_field() {
        let Err(Error::Validation(errors)) = parse_document::<CartPatch>(json!({
            "shipping_method": "Not A Code", "coupon_codes": ["ok", "no spaces inside"], "x": 1
        })) else {
            panic!("expected validation errors")
        };
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["shipping_method", "coupon_codes", "x"]);
        assert!(parse_document::<CartQuantity>(json!({"quantity": 0})).is_err());
        assert_eq!(
            parse_document::<CartQuantity>(json!({"quantity": 100})).expect("valid"),
            CartQuantity(100)
        );
    }
}
