//! The back office against the emulator: the sales figures the indexer
//! keeps from the table's stream, each change added once however often
//! the stream delivers it.

use shared::foundation::clock::{Deadline, Timestamp};
use shared::model::orders::OrderStatus;
use shared::model::reports::{Day, Figures};
use shared::usecases::{orders, refunds, reports};
use shop_tests::TestApp;
use shop_tests::fixtures::{admin, customer};

/// Every row of the report from `from` to `to`, summed per currency.
async fn totals(t: &TestApp, from: Day, to: Day) -> Vec<(String, Figures, i64)> {
    let report = reports::sales(&t.app, &admin(), from, to)
        .await
        .expect("the report");
    let mut sums: Vec<(String, Figures, i64)> = Vec::new();
    for row in report.days {
        let currency = row.currency.as_str().to_owned();
        match sums.iter_mut().find(|(c, _, _)| *c == currency) {
            Some((_, figures, net)) => {
                figures.add(&row.figures);
                *net += row.net;
            }
            None => sums.push((currency, row.figures, row.net)),
        }
    }
    sums
}

#[tokio::test]
async fn the_sales_figures_count_each_change_once_however_often_it_is_delivered() {
    let t = TestApp::spawn().await;
    let product = t.product("report", 2_500, 50).await;
    let buyer = customer();
    let paid = t.paid_order(&buyer, &[(&product, 2)]).await;
    let refunded = t.paid_order(&buyer, &[(&product, 1)]).await;
    refunds::refund_order(&t.app, &buyer, &refunded.id)
        .await
        .expect("refund accepted");
    let done = t.deliver("refunds", refunds::handle_message).await;
    assert!(done.batch_item_failures.is_empty());
    assert_eq!(t.status(&refunded).await, OrderStatus::Refunded);
    let cancelled = t.order(&customer(), &[(&product, 1)]).await.expect("placed");
    orders::cancel_order(&t.app, &customer_of(&cancelled), &cancelled.id)
        .await
        .expect("cancelled");
    let unpaid = t.order(&customer(), &[(&product, 3)]).await.expect("placed");
    // The expiry sweep, an hour on: the unpaid order expires.
    let later = Timestamp::now().plus_secs(3600);
    orders::expire_orders_until(&t.app, later, Deadline::after(std::time::Duration::from_secs(30)))
        .await
        .expect("swept");
    assert_eq!(t.status(&unpaid).await, OrderStatus::Cancelled);

    let today = Day::of(Timestamp::now());
    let span = (today, Day::of(later));
    let (first, records) = shop_tests::outbox::index_all(&t).await;
    assert!(
        first.iter().all(|r| r.batch_item_failures.is_empty()),
        "{first:?}"
    );
    let once = totals(&t, span.0, span.1).await;
    // The whole stream again, twice (Lambda retrying every batch): nothing
    // more is added.
    for _ in 0..2 {
        let (again, _) = shop_tests::outbox::index_all(&t).await;
        assert!(again.iter().all(|r| r.batch_item_failures.is_empty()));
    }
    assert_eq!(
        totals(&t, span.0, span.1).await,
        once,
        "a replayed stream adds nothing"
    );

    assert_eq!(once.len(), 1, "one currency: {once:?}");
    let (currency, figures, net) = &once[0];
    assert_eq!(currency, paid.currency.as_str());
    let (p, r) = (paid.total.minor(), refunded.total.minor());
    assert_eq!(
        (
            figures.placed,
            figures.paid,
            figures.cancelled,
            figures.expired,
            figures.refunded
        ),
        (4, 2, 1, 1, 1),
        "{records} records: {figures:?}"
    );
    assert_eq!((figures.gross, figures.refunds, *net), (p + r, r, p));
    assert_eq!(figures.shipping, paid.totals.shipping + refunded.totals.shipping);
    assert_eq!(figures.tax, paid.totals.tax_total + refunded.totals.tax_total);
    // Days outside the figures' answer nothing.
    let before = today.previous().expect("a day before");
    assert!(totals(&t, before, before).await.is_empty());
}

/// The owner of an order, as their request would show them.
fn customer_of(order: &shared::model::orders::Order) -> shared::model::auth::Principal {
    shared::model::auth::Principal {
        user_id: order.user_id.clone(),
        role: shared::model::auth::Role::Customer,
        verified: true,
    }
}

/// Every page of a search, followed to its end: the orders' ids in the
/// order answered.
async fn every_page(t: &TestApp, query: &[(&str, &str)], limit: usize) -> Vec<String> {
    use shared::model::back_office::OrderSearch;
    let search = OrderSearch::parse(|name| {
        query
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| (*v).to_owned())
    })
    .expect("a valid search");
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..100 {
        let page =
            shared::usecases::back_office::search_orders(&t.app, &admin(), &search, limit, cursor.as_deref())
                .await
                .expect("a page");
        assert!(page.items.len() <= limit);
        ids.extend(page.items.iter().map(|o| o.id.to_string()));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return ids,
        }
    }
    panic!("the search never ended")
}

fn newest_first(orders: &[&shared::model::orders::Order]) -> Vec<String> {
    let mut keyed: Vec<(String, String)> = orders
        .iter()
        .map(|o| (format!("{}#{}", o.created_at, o.id), o.id.to_string()))
        .collect();
    keyed.sort_by(|a, b| b.0.cmp(&a.0));
    keyed.into_iter().map(|(_, id)| id).collect()
}

#[tokio::test]
async fn admins_find_orders_by_any_filter_across_every_shard_page_by_page() {
    use shared::usecases::back_office;

    // Two customers hold many unpaid orders here.
    let t = TestApp::spawn_with(&[("MAX_UNPAID_ORDERS", "100")]).await;
    let product = t.product("search", 1_000, 200).await;
    let ann = t.registered("Ann Search").await;
    let bob = t.registered("Bob Search").await;
    let mut all = Vec::new();
    let mut paid = Vec::new();
    for i in 0..24 {
        let buyer = if i % 3 == 0 { &bob } else { &ann };
        if i % 4 == 0 {
            let order = t.paid_order(buyer, &[(&product, 1)]).await;
            paid.push(order.id.to_string());
            all.push(
                t.app
                    .store
                    .get_order(&order.id)
                    .await
                    .expect("read")
                    .expect("there"),
            );
        } else {
            all.push(t.order(buyer, &[(&product, 1)]).await.expect("placed"));
        }
    }
    let (indexed, _) = shop_tests::outbox::index_all(&t).await;
    assert!(indexed.iter().all(|r| r.batch_item_failures.is_empty()));
    let everyone: Vec<&shared::model::orders::Order> = all.iter().collect();

    // No filter, pages of 5 over 32 shards: every order once, newest first.
    assert_eq!(every_page(&t, &[], 5).await, newest_first(&everyone));
    assert_eq!(every_page(&t, &[], 100).await, newest_first(&everyone));
    // By status.
    let found = every_page(&t, &[("status", "PAID")], 2).await;
    let mut expected = paid.clone();
    expected.sort();
    let mut sorted = found.clone();
    sorted.sort();
    assert_eq!(sorted, expected, "the paid ones");
    assert!(every_page(&t, &[("status", "REFUNDED")], 5).await.is_empty());
    // By the customer's email (any case, spaces around), with a status.
    let email = t
        .app
        .store
        .get_account(&bob.user_id)
        .await
        .expect("read")
        .expect("Bob")
        .user
        .email;
    let shouted = format!("  {}  ", email.as_str().to_uppercase());
    let bobs: Vec<&shared::model::orders::Order> = all.iter().filter(|o| o.user_id == bob.user_id).collect();
    assert_eq!(
        every_page(&t, &[("email", &shouted)], 3).await,
        newest_first(&bobs)
    );
    let bobs_paid: Vec<&shared::model::orders::Order> = bobs
        .iter()
        .copied()
        .filter(|o| paid.contains(&o.id.to_string()))
        .collect();
    assert_eq!(
        every_page(&t, &[("email", email.as_str()), ("status", "PAID")], 3).await,
        newest_first(&bobs_paid)
    );
    assert!(
        every_page(&t, &[("email", "nobody@example.com")], 3)
            .await
            .is_empty()
    );
    // By market and creation time (both ends included).
    assert_eq!(every_page(&t, &[("market", "default")], 50).await.len(), 24);
    assert!(every_page(&t, &[("market", "eu")], 50).await.is_empty());
    let middle = &all[10];
    let from = middle.created_at.to_string();
    let since: Vec<&shared::model::orders::Order> =
        all.iter().filter(|o| o.created_at >= middle.created_at).collect();
    assert_eq!(
        every_page(&t, &[("created_from", &from)], 4).await,
        newest_first(&since)
    );
    let until: Vec<&shared::model::orders::Order> =
        all.iter().filter(|o| o.created_at <= middle.created_at).collect();
    assert_eq!(
        every_page(&t, &[("created_to", &from)], 4).await,
        newest_first(&until)
    );
    assert!(
        every_page(&t, &[("created_to", "2020-01-01T00:00:00Z")], 4)
            .await
            .is_empty()
    );

    // A cursor belongs to its search.
    let search = |query: &[(&str, &str)]| {
        let query: Vec<(String, String)> = query
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        shared::model::back_office::OrderSearch::parse(move |name| {
            query.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
        })
        .expect("valid")
    };
    let first = back_office::search_orders(&t.app, &admin(), &search(&[]), 3, None)
        .await
        .expect("a page");
    let cursor = first.next_cursor.expect("more");
    let other =
        back_office::search_orders(&t.app, &admin(), &search(&[("status", "PAID")]), 3, Some(&cursor)).await;
    assert!(matches!(other, Err(shared::Error::Validation(_))), "{other:?}");

    // Customers: by email, newest first page by page, and one with their orders.
    let by_email = back_office::list_customers(&t.app, &admin(), Some(&email), 20, None)
        .await
        .expect("found");
    assert_eq!(by_email.items.len(), 1);
    assert_eq!(by_email.items[0].id, bob.user_id);
    assert!(!by_email.items[0].verified, "signed up, never verified");
    let mut listed = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = back_office::list_customers(&t.app, &admin(), None, 1, cursor.as_deref())
            .await
            .expect("a page");
        listed.extend(page.items.into_iter().map(|u| u.id));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(listed, [bob.user_id.clone(), ann.user_id.clone()], "newest first");
    let detail = back_office::customer(&t.app, &admin(), &ann.user_id)
        .await
        .expect("Ann");
    assert_eq!(detail.user.id, ann.user_id);
    let anns: Vec<&shared::model::orders::Order> = all.iter().filter(|o| o.user_id == ann.user_id).collect();
    assert_eq!(
        detail.orders.iter().map(|o| o.id.to_string()).collect::<Vec<_>>(),
        newest_first(&anns)[..16]
    );
    assert!(matches!(
        back_office::customer(&t.app, &admin(), &shared::model::users::UserId::new()).await,
        Err(shared::Error::NotFound)
    ));
}
