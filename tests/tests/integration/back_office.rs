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
