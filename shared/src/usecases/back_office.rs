//! The back office's lookups (decision 72): orders searched by status,
//! market, customer email and creation time, newest first, over the
//! shards of the index of orders by day; customers by email or newest
//! first; one customer with their newest orders.

use serde::Serialize;

use crate::adapters::store::OrderFilter;
use crate::app::App;
use crate::foundation::clock::Timestamp;
use crate::foundation::cursor::{self, Key, Page};
use crate::foundation::error::Error;
use crate::foundation::ids::{OrderId, UserId};
use crate::model::auth::Admin;
use crate::model::back_office::{DAYS_PER_PAGE, OrderSearch};
use crate::model::orders::Order;
use crate::model::reports::Day;
use crate::model::users::{Email, User};

fn position(key: &[(&str, &str)]) -> Key {
    key.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// `GET /admin/orders`: a page of the orders `search` finds, newest first.
/// With an email, that customer's orders (one `GetItem` of the email, one
/// `Query` of their orders); without, the days that have orders are
/// walked newest first, each day's 32 shards queried at once, and the
/// page's orders read by key. A page walks at most [`DAYS_PER_PAGE`]
/// days: a sparse filter over a long range may answer a short page, even
/// an empty one, with a cursor to walk on.
pub async fn search_orders(
    app: &App,
    _admin: &Admin,
    search: &OrderSearch,
    limit: usize,
    cursor: Option<&str>,
) -> Result<Page<Order>, Error> {
    let secret = app.config.cursor_secret()?;
    let scope = search.scope();
    let at = cursor
        .map(|c| cursor::decode(secret, &scope, c))
        .transpose()?
        .unwrap_or_default();
    let filter = OrderFilter {
        status: search.status,
        market: search.market.clone(),
    };
    let now = Timestamp::now();
    let upper = search.upper_key(now);
    let lower = search.lower_key();
    let before = at.get("before").cloned().unwrap_or_else(|| upper.clone());

    if let Some(email) = &search.email {
        let Some(account) = app.store.find_account_by_email(email).await? else {
            return Ok(Page {
                items: Vec::new(),
                next_cursor: None,
            });
        };
        let mut found = app
            .store
            .customer_orders_between(&account.user.id, (&lower, &before), &filter, limit + 1)
            .await?;
        let more = found.len() > limit;
        found.truncate(limit);
        let next_cursor = match found.last() {
            Some((sk, _)) if more => Some(cursor::encode(secret, &scope, &position(&[("before", sk)]))),
            _ => None,
        };
        return Ok(Page {
            items: found.into_iter().map(|(_, order)| order).collect(),
            next_cursor,
        });
    }

    let first = Day::of(search.created_from.unwrap_or(Timestamp::from_unix(0)));
    let last = match at.get("day") {
        Some(day) => {
            Day::parse(day).map_err(|_| Error::invalid("cursor", "is not a valid cursor for this listing"))?
        }
        None => Day::of(search.created_to.unwrap_or(now)),
    };
    let days = days_to_walk(app, first, last, now).await?;
    let mut ids: Vec<OrderId> = Vec::new();
    let mut next = None;
    let mut bound = before;
    for (i, day) in days.iter().enumerate() {
        if i == DAYS_PER_PAGE {
            next = Some(position(&[("day", &day.to_string()), ("before", &upper)]));
            break;
        }
        let want = limit - ids.len();
        let mut found = app
            .store
            .search_orders_on(*day, (&lower, &bound), &filter, want + 1)
            .await?;
        if found.len() > want {
            found.truncate(want);
            let last_key = found.last().map(|(sk, _)| sk.clone()).unwrap_or_default();
            ids.extend(found.into_iter().map(|(_, id)| id));
            next = Some(position(&[("day", &day.to_string()), ("before", &last_key)]));
            break;
        }
        ids.extend(found.into_iter().map(|(_, id)| id));
        bound.clone_from(&upper);
        if ids.len() == limit {
            next = days
                .get(i + 1)
                .map(|later| position(&[("day", &later.to_string()), ("before", &upper)]));
            break;
        }
    }
    Ok(Page {
        items: app.store.orders_by_id(&ids).await?,
        next_cursor: next.map(|key| cursor::encode(secret, &scope, &key)),
    })
}

/// The days from `first` to `last` that may have orders, newest first:
/// those the indexer noted, and today and yesterday (its note may lag a
/// moment behind a day's first order).
async fn days_to_walk(app: &App, first: Day, last: Day, now: Timestamp) -> Result<Vec<Day>, Error> {
    let mut days = app.store.order_days(first, last, DAYS_PER_PAGE + 1).await?;
    let today = Day::of(now);
    for recent in [Some(today), today.previous()].into_iter().flatten() {
        if (first..=last).contains(&recent) && !days.contains(&recent) {
            days.push(recent);
        }
    }
    days.sort_by(|a, b| b.cmp(a));
    Ok(days)
}

/// `GET /admin/customers`: the account of `email` (none or one), or
/// every account, newest first (their 16 shards queried at once, the
/// page's accounts read by key).
pub async fn list_customers(
    app: &App,
    _admin: &Admin,
    email: Option<&Email>,
    limit: usize,
    cursor: Option<&str>,
) -> Result<Page<User>, Error> {
    if let Some(email) = email {
        let found = app.store.find_account_by_email(email).await?;
        return Ok(Page {
            items: found.into_iter().map(|account| account.user).collect(),
            next_cursor: None,
        });
    }
    let secret = app.config.cursor_secret()?;
    let at = cursor
        .map(|c| cursor::decode(secret, "admin-customers", c))
        .transpose()?
        .unwrap_or_default();
    let before = at.get("before").cloned().unwrap_or_else(|| "~".to_owned());
    let mut found = app.store.customers_before(&before, limit + 1).await?;
    let more = found.len() > limit;
    found.truncate(limit);
    let next_cursor = match found.last() {
        Some((sk, _)) if more => Some(cursor::encode(
            secret,
            "admin-customers",
            &position(&[("before", sk)]),
        )),
        _ => None,
    };
    let ids: Vec<UserId> = found.into_iter().map(|(_, id)| id).collect();
    let accounts = app.store.accounts_by_id(&ids).await?;
    Ok(Page {
        items: accounts.into_iter().map(|account| account.user).collect(),
        next_cursor,
    })
}

/// `GET /admin/customers/{id}`.
#[derive(Debug, Clone, Serialize)]
pub struct CustomerDetail {
    pub user: User,
    /// Their newest 20.
    pub orders: Vec<Order>,
}

/// One customer: their account (with whether they verified their email)
/// and their newest 20 orders. Two requests: the account's `GetItem` and
/// one `Query` of their orders.
pub async fn customer(app: &App, _admin: &Admin, id: &UserId) -> Result<CustomerDetail, Error> {
    let secret = app.config.cursor_secret()?;
    let (account, orders) = futures::join!(
        app.store.get_account(id),
        app.store.list_orders(secret, id, 20, None)
    );
    let account = account?.ok_or(Error::NotFound)?;
    Ok(CustomerDetail {
        user: account.user,
        orders: orders?.items,
    })
}
