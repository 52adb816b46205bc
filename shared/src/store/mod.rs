//! The single DynamoDB table: keys, item mapping, conditional writes and
//! transactions. No other module builds a key or an expression.
//!
//! | item | PK | SK |
//! | --- | --- | --- |
//! | user profile and password hash | `USER#<id>` | `PROFILE` |
//! | email → user id (uniqueness) | `EMAIL#<email>` | `EMAIL` |
//! | login attempts in the current window | `LOGIN#<email>` | `ATTEMPTS` (TTL) |

mod schema;
mod users;

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;

pub use schema::{GSIS, Gsi, PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE, create_table, delete_table};
pub use users::Account;

type Item = HashMap<String, AttributeValue>;

/// The table and the client that reaches it.
#[derive(Debug, Clone)]
pub struct Store {
    client: Client,
    table: String,
}

impl Store {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn table(&self) -> &str {
        &self.table
    }
}

/// Key builders: the only place that knows how keys are spelt.
mod keys {
    use crate::users::{Email, UserId};

    pub fn user(id: &UserId) -> (String, &'static str) {
        (format!("USER#{id}"), "PROFILE")
    }

    pub fn email(email: &Email) -> (String, &'static str) {
        (format!("EMAIL#{}", email.as_str()), "EMAIL")
    }

    pub fn login_attempts(email: &Email) -> (String, &'static str) {
        (format!("LOGIN#{}", email.as_str()), "ATTEMPTS")
    }
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn key((pk, sk): (String, &str)) -> Item {
    HashMap::from([(PARTITION_KEY.to_owned(), s(pk)), (SORT_KEY.to_owned(), s(sk))])
}

/// An item with its key attributes set, from any serialisable record.
fn item<T: serde::Serialize>((pk, sk): (String, &str), record: &T) -> Result<Item, crate::Error> {
    let mut item: Item = serde_dynamo::to_item(record)?;
    item.insert(PARTITION_KEY.to_owned(), s(pk));
    item.insert(SORT_KEY.to_owned(), s(sk));
    Ok(item)
}
