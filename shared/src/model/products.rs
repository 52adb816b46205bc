//! The catalogue: products, their stock and their rating.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::foundation::clock::Timestamp;
use crate::foundation::error::Error;
pub use crate::foundation::ids::ProductId;
use crate::foundation::input::{Errors, FromJson, Object, Update, bounded_text};
use crate::foundation::money::{Currency, Money};
use crate::foundation::newtype::string_newtype;

pub const MAX_PRICE: i64 = 100_000_000;
pub const MAX_STOCK: i64 = 1_000_000;

/// 1..50 characters of `[a-z0-9-]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Category(String);

impl Category {
    pub fn parse(raw: String) -> Result<Self, String> {
        let valid = (1..=50).contains(&raw.len())
            && raw
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if valid {
            Ok(Self(raw))
        } else {
            Err("must be 1 to 50 characters of a-z, 0-9 and -".into())
        }
    }
}

string_newtype!(Category);

fn price(minor: i64) -> Result<Money, String> {
    if (1..=MAX_PRICE).contains(&minor) {
        Money::new(minor)
    } else {
        Err(format!("must be an integer from 1 to {MAX_PRICE} (minor units)"))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Rating {
    pub average: Option<f64>,
    pub count: u32,
}

impl Rating {
    pub fn from_totals(count: u32, sum: u32) -> Self {
        Self {
            average: (count > 0).then(|| f64::from(sum) / f64::from(count)),
            count,
        }
    }
}

/// A product as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Product {
    pub id: ProductId,
    pub name: String,
    pub description: String,
    pub category: Category,
    pub price: Money,
    pub currency: Currency,
    pub stock: i64,
    pub rating: Rating,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A product as stored: deleted ones too (orders name them), with the
/// rating as totals. What pricing an order reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProductRecord {
    pub id: ProductId,
    pub name: String,
    pub description: String,
    pub category: Category,
    pub price: Money,
    pub currency: Currency,
    pub stock: i64,
    #[serde(default)]
    pub rating_count: u32,
    #[serde(default)]
    pub rating_sum: u32,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<Timestamp>,
}

impl ProductRecord {
    /// A new product, with no ratings, for sale.
    pub fn new(input: NewProduct, currency: Currency, now: Timestamp) -> Self {
        Self {
            id: ProductId::new(),
            name: input.name,
            description: input.description,
            category: input.category,
            price: input.price,
            currency,
            stock: input.stock,
            rating_count: 0,
            rating_sum: 0,
            created_at: now,
            updated_at: now,
            deleted_at: None,
        }
    }

    pub fn for_sale(&self) -> bool {
        self.deleted_at.is_none()
    }

    /// The product as the API shows it, if it is for sale.
    pub fn listed(self) -> Option<Product> {
        self.for_sale().then(|| self.into_product())
    }

    /// The product as the API shows it.
    pub fn into_product(self) -> Product {
        Product {
            id: self.id,
            name: self.name,
            description: self.description,
            category: self.category,
            price: self.price,
            currency: self.currency,
            stock: self.stock,
            rating: Rating::from_totals(self.rating_count, self.rating_sum),
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewProduct {
    pub name: String,
    pub description: String,
    pub category: Category,
    pub price: Money,
    pub stock: i64,
}

impl FromJson for NewProduct {
    fn from_json(value: Value, at: &str, errors: &mut Errors) -> Option<Self> {
        let mut o = Object::new(value, at, errors)?;
        let name = o.required("name", |s| bounded_text(s, 1, 200));
        let description = o.optional("description", |s| bounded_text(s, 0, 5000));
        let category = o.required("category", Category::parse);
        let price = o.required("price", price);
        let stock = o.required("stock", |n: i64| {
            if (0..=MAX_STOCK).contains(&n) {
                Ok(n)
            } else {
                Err(format!("must be an integer from 0 to {MAX_STOCK}"))
            }
        });
        o.end();
        Some(Self {
            name: name?,
            description: description?.unwrap_or_default(),
            category: category?,
            price: price?,
            stock: stock?,
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProductPatch {
    pub name: Update<String>,
    pub description: Update<String>,
    pub category: Update<Category>,
    pub price: Update<Money>,
    /// Added to the stock atomically; may not take it below zero.
    pub stock_delta: i64,
}

impl FromJson for ProductPatch {
    fn from_json(value: Value, at: &str, errors: &mut Errors) -> Option<Self> {
        let mut o = Object::new(value, at, errors)?;
        let name = o.patch("name", |s| bounded_text(s, 1, 200));
        let description = o.patch("description", |s| bounded_text(s, 0, 5000));
        let category = o.patch("category", Category::parse);
        let price = o.patch("price", price);
        let stock_delta = o.optional("stock_delta", |n: i64| {
            if (-MAX_STOCK..=MAX_STOCK).contains(&n) {
                Ok(n)
            } else {
                Err(format!("must be an integer from -{MAX_STOCK} to {MAX_STOCK}"))
            }
        });
        o.end();
        Some(Self {
            name: name?,
            description: description?,
            category: category?,
            price: price?,
            stock_delta: stock_delta?.unwrap_or(0),
        })
    }
}

/// The catalogue listing's optional filter.
pub fn parse_category_filter(raw: Option<String>) -> Result<Option<Category>, Error> {
    raw.map(|c| Category::parse(c).map_err(|msg| Error::invalid("category", msg)))
        .transpose()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::foundation::input::parse_document;

    #[test]
    fn categories_are_slugs() {
        assert!(Category::parse("home-office-2".into()).is_ok());
        for bad in ["", "Shoes", "a b", "é", &"a".repeat(51)] {
            assert!(Category::parse(bad.to_owned()).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn new_products_are_bounded() {
        let ok: NewProduct =
            parse_document(json!({"name": "Mug", "category": "kitchen", "price": 1200, "stock": 0}))
                .expect("valid");
        assert_eq!(ok.description, "");
        let Err(Error::Validation(errors)) = parse_document::<NewProduct>(json!({
            "name": "", "description": "x".repeat(5001), "category": "Kitchen", "price": 0, "stock": 1_000_001, "currency": "EUR"
        })) else {
            panic!("expected validation errors")
        };
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            ["name", "description", "category", "price", "stock", "currency"]
        );
        assert!(
            parse_document::<NewProduct>(json!({"name": "M", "category": "k", "price": 1.5, "stock": 1}))
                .is_err()
        );
        assert!(
            parse_document::<NewProduct>(
                json!({"name": "M", "category": "k", "price": 100_000_001, "stock": 1})
            )
            .is_err()
        );
    }

    #[test]
    fn patches_take_a_stock_delta_not_a_stock() {
        let patch: ProductPatch = parse_document(json!({"stock_delta": -3, "price": 999})).expect("valid");
        assert_eq!(patch.stock_delta, -3);
        assert_eq!(patch.price, Update::Set(Money::new(999).expect("valid")));
        let Err(Error::Validation(errors)) = parse_document::<ProductPatch>(json!({"stock": 5})) else {
            panic!("stock is not patchable")
        };
        assert_eq!(errors[0].field, "stock");
    }

    #[test]
    fn deleted_products_are_not_listed() {
        let input: NewProduct =
            parse_document(json!({"name": "Mug", "category": "kitchen", "price": 1200, "stock": 3}))
                .expect("valid");
        let mut record = ProductRecord::new(
            input,
            Currency::parse("USD".into()).expect("valid"),
            Timestamp::from_unix(0),
        );
        record.rating_count = 2;
        record.rating_sum = 9;
        let listed = record.clone().listed().expect("for sale");
        assert_eq!((listed.stock, listed.rating.average), (3, Some(4.5)));
        record.deleted_at = Some(Timestamp::from_unix(1));
        assert_eq!(record.listed(), None);
    }

    #[test]
    fn ratings_average_exactly() {
        assert_eq!(Rating::from_totals(0, 0).average, None);
        assert_eq!(Rating::from_totals(3, 13).average, Some(13.0 / 3.0));
    }
}
