//! The catalogue: products, their stock and their rating.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::App;
use crate::auth::Admin;
use crate::clock::Timestamp;
use crate::cursor::Page;
use crate::error::Error;
use crate::input::{Errors, FromJson, Object, Update, bounded_text};
use crate::money::{Currency, Money};
use crate::newtype::{string_newtype, uuid_id};
use crate::store::Store;

pub const MAX_PRICE: i64 = 100_000_000;
pub const MAX_STOCK: i64 = 1_000_000;

uuid_id!(ProductId, "a product id");

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

pub fn parse_id(raw: &str) -> Result<ProductId, Error> {
    // An id that cannot exist is simply not found.
    ProductId::parse(raw).map_err(|_| Error::NotFound)
}

// ---------------------------------------------------------------- use cases

pub async fn create_product(app: &App, _admin: &Admin, input: NewProduct) -> Result<Product, Error> {
    add_product(&app.store, input, &app.config.store_currency).await
}

/// Adds a product to the catalogue (the operator tool's seeding uses this).
pub async fn add_product(store: &Store, input: NewProduct, currency: &Currency) -> Result<Product, Error> {
    let now = Timestamp::now();
    let product = Product {
        id: ProductId::new(),
        name: input.name,
        description: input.description,
        category: input.category,
        price: input.price,
        currency: currency.clone(),
        stock: input.stock,
        rating: Rating::from_totals(0, 0),
        created_at: now,
        updated_at: now,
    };
    store.put_product(&product).await?;
    Ok(product)
}

pub async fn get_product(app: &App, id: &ProductId) -> Result<Product, Error> {
    app.store.get_product(id).await?.ok_or(Error::NotFound)
}

pub async fn list_products(
    app: &App,
    category: Option<&Category>,
    limit: usize,
    cursor: Option<&str>,
) -> Result<Page<Product>, Error> {
    app.store
        .list_products(app.config.jwt_secret()?, category, limit, cursor)
        .await
}

pub async fn update_product(
    app: &App,
    _admin: &Admin,
    id: &ProductId,
    patch: ProductPatch,
) -> Result<Product, Error> {
    if patch == ProductPatch::default() {
        return get_product(app, id).await;
    }
    app.store.update_product(id, &patch, Timestamp::now()).await
}

pub async fn delete_product(app: &App, _admin: &Admin, id: &ProductId) -> Result<(), Error> {
    app.store.delete_product(id, Timestamp::now()).await
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::input::parse_document;

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
    fn ratings_average_exactly() {
        assert_eq!(Rating::from_totals(0, 0).average, None);
        assert_eq!(Rating::from_totals(3, 13).average, Some(13.0 / 3.0));
    }
}
