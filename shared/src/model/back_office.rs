//! What an admin searches the orders by (`GET /admin/orders`), and how a
//! search walks the index of orders by day (decision 72).

use crate::foundation::clock::Timestamp;
use crate::foundation::error::Error;
use crate::foundation::status::OrderStatus;
use crate::model::markets::MarketCode;
use crate::model::users::Email;

/// The filters of an order search; every one given must hold.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OrderSearch {
    pub status: Option<OrderStatus>,
    pub market: Option<MarketCode>,
    /// Normalised as registration does (trimmed, lower case).
    pub email: Option<Email>,
    /// Both included.
    pub created_from: Option<Timestamp>,
    pub created_to: Option<Timestamp>,
}

/// The most days one page of a search walks before it answers what it
/// found, with a cursor to walk on: a filter that matches little over a
/// long range costs pages, not one slow request.
pub const DAYS_PER_PAGE: usize = 31;

impl OrderSearch {
    /// From a request's query parameters (`param(name)`).
    pub fn parse(param: impl Fn(&str) -> Option<String>) -> Result<Self, Error> {
        // An empty value is a value, and refused as the filter's.
        let given = |name: &str| param(name);
        let status = given("status")
            .map(|raw| {
                OrderStatus::ALL
                    .into_iter()
                    .find(|s| s.as_str() == raw)
                    .ok_or_else(|| Error::invalid("status", "must be an order status, as orders show it"))
            })
            .transpose()?;
        let market = given("market")
            .map(|raw| MarketCode::parse(raw).map_err(|msg| Error::invalid("market", msg)))
            .transpose()?;
        let email = given("email")
            .map(|raw| Email::parse(raw).map_err(|msg| Error::invalid("email", msg)))
            .transpose()?;
        let time = |name: &str| {
            given(name)
                .map(|raw| {
                    Timestamp::parse(&raw)
                        .map_err(|_| Error::invalid(name, "must be an RFC 3339 date and time"))
                })
                .transpose()
        };
        let (created_from, created_to) = (time("created_from")?, time("created_to")?);
        if let (Some(from), Some(to)) = (created_from, created_to)
            && from > to
        {
            return Err(Error::invalid("created_to", "must not be before created_from"));
        }
        Ok(Self {
            status,
            market,
            email,
            created_from,
            created_to,
        })
    }

    /// The search as its cursors are bound to: a cursor of one search is
    /// refused by another.
    pub fn scope(&self) -> String {
        let part = |value: Option<String>| value.unwrap_or_default();
        format!(
            "admin-orders:{}|{}|{}|{}|{}",
            part(self.status.map(|s| s.as_str().to_owned())),
            part(self.market.as_ref().map(|m| m.as_str().to_owned())),
            part(self.email.as_ref().map(|e| e.as_str().to_owned())),
            part(self.created_from.map(|t| t.to_string())),
            part(self.created_to.map(|t| t.to_string())),
        )
    }

    /// The lowest index sort key (`<created_at>#<id>`) it takes.
    pub fn lower_key(&self) -> String {
        self.created_from.map(|t| t.to_string()).unwrap_or_default()
    }

    /// Above every index sort key it takes (`created_to` included).
    pub fn upper_key(&self, now: Timestamp) -> String {
        format!("{}#~", self.created_to.unwrap_or(now))
    }
}

/// The newest `limit` of several newest-first lists of `(key, item)`,
/// each sorted: a page merged over shards.
pub fn merge_newest<T>(lists: Vec<Vec<(String, T)>>, limit: usize) -> Vec<(String, T)> {
    let mut all: Vec<(String, T)> = lists.into_iter().flatten().collect();
    all.sort_by(|a, b| b.0.cmp(&a.0));
    all.truncate(limit);
    all
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn parse(pairs: &[(&str, &str)]) -> Result<OrderSearch, Error> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        OrderSearch::parse(|name| map.get(name).cloned())
    }

    #[test]
    fn filters_parse_as_the_contract_spells_them() {
        let search = parse(&[
            ("status", "PAID"),
            ("market", "eu"),
            ("email", "  Ann@Example.COM "),
            ("created_from", "2026-12-01T00:00:00Z"),
            ("created_to", "2026-12-05T23:59:59Z"),
        ])
        .expect("valid");
        assert_eq!(search.status, Some(OrderStatus::Paid));
        assert_eq!(search.email.as_ref().map(Email::as_str), Some("ann@example.com"));
        assert_eq!(search.lower_key(), "2026-12-01T00:00:00Z");
        assert!(
            search
                .upper_key(Timestamp::now())
                .starts_with("2026-12-05T23:59:59Z#")
        );
        assert_eq!(parse(&[]).expect("no filter"), OrderSearch::default());
        for (name, bad) in [
            ("status", "paid"),
            ("market", "EU!"),
            ("email", "nobody"),
            ("created_from", "2026-12-01"),
        ] {
            let Err(Error::Validation(errors)) = parse(&[(name, bad)]) else {
                panic!("{name}={bad} accepted");
            };
            assert_eq!(errors[0].field, name);
        }
        assert!(
            parse(&[
                ("created_from", "2026-12-05T00:00:00Z"),
                ("created_to", "2026-12-01T00:00:00Z")
            ])
            .is_err()
        );
    }

    #[test]
    fn cursors_of_one_search_name_it_whole() {
        let paid = parse(&[("status", "PAID")]).expect("valid");
        let shipped = parse(&[("status", "SHIPPED")]).expect("valid");
        assert_ne!(paid.scope(), shipped.scope());
        assert_ne!(paid.scope(), OrderSearch::default().scope());
    }

    #[test]
    fn a_page_merged_over_shards_is_the_newest_of_all() {
        let mut rng = fastrand::Rng::with_seed(72);
        for _ in 0..200 {
            let mut all: Vec<String> = (0..rng.usize(0..60))
                .map(|i| format!("2026-12-05T{:02}:{:02}:00Z#{i}", rng.u8(0..24), rng.u8(0..60)))
                .collect();
            let mut shards: Vec<Vec<(String, ())>> = vec![Vec::new(); 4];
            for key in &all {
                shards[rng.usize(..4)].push((key.clone(), ()));
            }
            let limit = rng.usize(1..20);
            for shard in &mut shards {
                shard.sort_by(|a, b| b.0.cmp(&a.0));
                // Each shard answers its own newest `limit` only.
                shard.truncate(limit);
            }
            all.sort_by(|a, b| b.cmp(a));
            all.truncate(limit);
            let merged: Vec<String> = merge_newest(shards, limit).into_iter().map(|(k, ())| k).collect();
            assert_eq!(merged, all);
        }
    }
}
