//! Emails and events out, from the table's stream: each change of an
//! order sends its email and its event once, whatever is delivered twice,
//! and a sender that dies holding a claim leaves it to the next.

use serde_json::Value;
use shared::adapters::store::Claim;
use shared::foundation::clock::Timestamp;
use shared::model::auth::Principal;
use shared::usecases::notify::{BUS, EMAIL};
use shop_tests::TestApp;

async fn email_of(app: &TestApp, customer: &Principal) -> String {
    app.app
        .store
        .get_account(&customer.user_id)
        .await
        .expect("read")
        .expect("the account")
        .user
        .email
        .as_str()
        .to_owned()
}

/// The subjects of an order's emails (the account's own, its
/// verification link, left out).
fn subjects(emails: &[Value]) -> Vec<&str> {
    emails
        .iter()
        .filter_map(|m| m["Subject"].as_str())
        .filter(|subject| *subject != "Confirm your email address")
        .collect()
}

/// The events of one order: (type, sequence), in the order received.
fn order_events<'a>(events: &'a [Value], order: &str) -> Vec<(&'a str, u64)> {
    events
        .iter()
        .filter(|e| e["detail"]["order"]["id"] == order)
        .map(|e| {
            (
                e["detail-type"].as_str().unwrap_or_default(),
                e["detail"]["sequence"].as_u64().unwrap_or_default(),
            )
        })
        .collect()
}

#[tokio::test]
async fn an_orders_journey_sends_each_email_and_event_once() {
    let (app, outbox) = TestApp::spawn_sending(&[]).await;
    let customer = app.registered("Ann Smith").await;
    let to = email_of(&app, &customer).await;
    let product = app.product("notify", 2500, 5).await;
    let order = app.delivered_order(&customer, &[(&product, 2)]).await;

    let responses = outbox.deliver(&app.app).await;
    assert!(
        responses.iter().all(|r| r.batch_item_failures.is_empty()),
        "every record handled: {responses:?}"
    );
    let emails: Vec<Value> = outbox
        .emails_to(&to)
        .await
        .into_iter()
        .filter(|m| m["Subject"] != "Confirm your email address")
        .collect();
    let id = order.id.to_string();
    assert_eq!(
        subjects(&emails),
        [
            format!("Your order {id} is placed"),
            format!("We received your payment for order {id}"),
            format!("Your order {id} is on its way"),
            format!("Your order {id} was delivered"),
        ]
    );
    let placed = &emails[0];
    assert_eq!(placed["Source"], "shop@example.com");
    let text = placed["BodyText"].as_str().unwrap_or_default();
    assert!(text.starts_with("Hello Ann Smith,"), "{text}");
    // Written from the order as that change left it (awaiting payment),
    // though it was delivered by the time the notifier read the stream.
    assert!(text.contains("It is reserved for you for 30 minutes;"), "{text}");
    assert!(text.contains("2 × notify thing: $50.00"), "{text}");
    assert!(text.contains("Total: $50.00"), "{text}");
    let shipped = emails[2]["BodyText"].as_str().unwrap_or_default();
    assert!(
        shipped.contains(&format!("http://127.0.0.1:3000/orders/{id}")),
        "{shipped}"
    );
    assert!(
        emails[2]["BodyHtml"]
            .as_str()
            .unwrap_or_default()
            .contains("<a href=")
    );

    let events = outbox.events().await;
    // What the test saw, for the record (`--nocapture`).
    for email in &emails {
        eprintln!(
            "email to {to}: {}\n{}",
            email["Subject"],
            email["BodyText"].as_str().unwrap_or_default()
        );
    }
    for event in events
        .iter()
        .filter(|e| e["detail"]["order"]["id"] == id.as_str())
    {
        eprintln!("event: {} {}", event["detail-type"], event["detail"]);
    }
    assert_eq!(
        order_events(&events, &id),
        [
            ("order.placed", 1),
            ("order.paid", 2),
            ("order.shipped", 3),
            ("order.delivered", 4)
        ]
    );
    let paid = events
        .iter()
        .find(|e| e["detail-type"] == "order.paid")
        .expect("order.paid");
    assert_eq!(paid["source"], "shop");
    assert_eq!(paid["detail"]["id"], format!("order-{id}-2"));
    assert_eq!(paid["detail"]["order"]["total"], 5000);
    assert_eq!(paid["detail"]["order"]["status"], "PAID");

    // The whole stream delivered again (Lambda retrying every batch from
    // the start): every claim is done, nothing is sent twice.
    let (again, _) = shop_tests::outbox::replay(&app).await;
    assert!(again.iter().all(|r| r.batch_item_failures.is_empty()));
    assert_eq!(subjects(&outbox.emails_to(&to).await).len(), 4, "no email twice");
    assert!(outbox.events().await.is_empty(), "no event twice");
}

#[tokio::test]
async fn a_sender_that_died_holding_a_claim_leaves_it_to_the_next_after_its_lease() {
    let (app, outbox) = TestApp::spawn_sending(&[]).await;
    let customer = app.registered("Bo Berg").await;
    let to = email_of(&app, &customer).await;
    let product = app.product("notify", 1000, 5).await;
    let order = app.order(&customer, &[(&product, 1)]).await.expect("placed");
    let event_id = shared::model::events::event_id(&order.id, 1);

    // A sender claimed the email and died before sending: its lease (2 s
    // here) holds the next one off.
    let dead = app
        .app
        .store
        .claim_notification(EMAIL, &event_id, "{}", Timestamp::now(), 2)
        .await
        .expect("claimed");
    assert!(matches!(dead, Claim::Mine(_)), "{dead:?}");
    let first = outbox.deliver(&app.app).await;
    assert_eq!(first.len(), 1);
    assert_eq!(
        first[0].batch_item_failures.len(),
        1,
        "held: the record comes again"
    );
    assert!(
        subjects(&outbox.emails_to(&to).await).is_empty(),
        "nothing sent while held"
    );
    // The event went out on its own channel in the meantime.
    assert_eq!(
        order_events(&outbox.events().await, &order.id.to_string()),
        [("order.placed", 1)]
    );

    // Stuck: an operator sees it, and cannot send it while it is held.
    let pending = shared::usecases::notify::pending(&app.app, 10)
        .await
        .expect("read");
    assert_eq!(
        pending
            .iter()
            .map(|p| (p.channel.as_str(), p.event_id.as_str()))
            .collect::<Vec<_>>(),
        [(EMAIL, event_id.as_str())]
    );
    let early = shared::usecases::notify::resend(&app.app, EMAIL, &event_id).await;
    assert!(early.is_err(), "held: {early:?}");

    tokio::time::sleep(std::time::Duration::from_millis(3100)).await;
    let second = outbox.deliver(&app.app).await;
    assert!(
        second.iter().all(|r| r.batch_item_failures.is_empty()),
        "{second:?}"
    );
    let emails = outbox.emails_to(&to).await;
    assert_eq!(subjects(&emails).len(), 1, "sent once, by the next sender");
    assert!(
        outbox.events().await.is_empty(),
        "the event was not published again"
    );
    let claim = app
        .app
        .store
        .claim_notification(BUS, &event_id, "{}", Timestamp::now(), 60)
        .await
        .expect("read");
    assert_eq!(claim, Claim::Done);
    assert!(
        shared::usecases::notify::pending(&app.app, 10)
            .await
            .expect("read")
            .is_empty()
    );
    let again = shared::usecases::notify::resend(&app.app, EMAIL, &event_id).await;
    assert!(again.is_err(), "done: {again:?}");
}

#[tokio::test]
async fn an_operator_resends_what_a_dead_sender_left_once_its_lease_ran_out() {
    let (app, outbox) = TestApp::spawn_sending(&[]).await;
    let customer = app.registered("Eve Stuck").await;
    let to = email_of(&app, &customer).await;
    let product = app.product("notify", 1100, 5).await;
    let order = app.order(&customer, &[(&product, 1)]).await.expect("placed");
    let event_id = shared::model::events::event_id(&order.id, 1);
    // Delivered once: sent and published. Then both claims are made to look
    // as a sender that died would leave them, with what they were to send.
    outbox.deliver(&app.app).await;
    let placed = |emails: &[Value]| {
        subjects(emails)
            .iter()
            .filter(|s| s.contains("is placed"))
            .count()
    };
    assert_eq!(placed(&outbox.emails_to(&to).await), 1);
    assert_eq!(outbox.events().await.len(), 1);
    for channel in [EMAIL, BUS] {
        app.app
            .store
            .client()
            .update_item()
            .table_name(app.app.store.table())
            .key(
                "PK",
                aws_sdk_dynamodb::types::AttributeValue::S(format!("NOTIFY#{channel}#{event_id}")),
            )
            .key("SK", aws_sdk_dynamodb::types::AttributeValue::S("CLAIM".into()))
            .update_expression("SET #s = :claimed, lease_until = :past")
            .expression_attribute_names("#s", "state")
            .expression_attribute_values(
                ":claimed",
                aws_sdk_dynamodb::types::AttributeValue::S("claimed".into()),
            )
            .expression_attribute_values(":past", aws_sdk_dynamodb::types::AttributeValue::N("0".into()))
            .send()
            .await
            .expect("made stuck");
    }
    for channel in [EMAIL, BUS] {
        shared::usecases::notify::resend(&app.app, channel, &event_id)
            .await
            .unwrap_or_else(|err| panic!("{channel}: {err}"));
    }
    assert_eq!(
        placed(&outbox.emails_to(&to).await),
        2,
        "the email again, by hand"
    );
    let events = outbox.events().await;
    assert_eq!(
        order_events(&events, &order.id.to_string()),
        [("order.placed", 1)],
        "the event again, under its type and sequence"
    );
    assert!(
        shared::usecases::notify::pending(&app.app, 10)
            .await
            .expect("read")
            .is_empty()
    );
}

#[tokio::test]
async fn killed_mid_batch_the_notifier_sends_each_email_exactly_once() {
    // Orders of several customers, their records delivered in small
    // batches; each batch's invocation is "killed" after a random number
    // of records (its later records are never handled and its checkpoint
    // does not move), and the stream is delivered again until drained.
    let (app, outbox) = TestApp::spawn_sending(&[]).await;
    let product = app.product("notify", 700, 100).await;
    let mut customers = Vec::new();
    for n in 0..6 {
        let customer = app.registered(&format!("Customer {n}")).await;
        let to = email_of(&app, &customer).await;
        let order = app.paid_order(&customer, &[(&product, 1)]).await;
        customers.push((to, order));
    }
    let mut kills = 0;
    let mut rounds = 0;
    loop {
        rounds += 1;
        assert!(rounds < 100, "the stream drains");
        let cut = fastrand::bool().then(|| fastrand::usize(0..10));
        let (responses, drained, killed) = shop_tests::outbox::deliver_until_killed(&app, &outbox, cut).await;
        kills += usize::from(killed);
        assert!(
            responses.iter().all(|r| r.batch_item_failures.is_empty()),
            "{responses:?}"
        );
        if drained {
            break;
        }
    }
    assert!(kills > 0, "the sender was killed at least once");
    let events = outbox.events().await;
    for (to, order) in &customers {
        let emails = outbox.emails_to(to).await;
        assert_eq!(
            subjects(&emails).len(),
            2,
            "placed and paid, once each: {:?}",
            subjects(&emails)
        );
        assert_eq!(
            order_events(&events, &order.id.to_string()),
            [("order.placed", 1), ("order.paid", 2)]
        );
    }
    eprintln!("killed {kills} times in {rounds} deliveries; 12 emails and 12 events, each once");
}

#[tokio::test]
async fn a_bounced_or_complaining_address_gets_no_more_email_but_events_still_go_out() {
    let (app, outbox) = TestApp::spawn_sending(&[]).await;
    let customer = app.registered("Cy Bounce").await;
    let to = email_of(&app, &customer).await;
    // SES reports the address bounced for good (through SNS), twice.
    let bounce = serde_json::json!({"eventType": "Bounce", "bounce": {"bounceType": "Permanent",
        "bouncedRecipients": [{"emailAddress": to.to_uppercase()}]}})
    .to_string();
    for _ in 0..2 {
        shared::usecases::notify::handle_feedback(&app.app, bounce.clone())
            .await
            .expect("handled");
    }
    let product = app.product("notify", 900, 5).await;
    let order = app.paid_order(&customer, &[(&product, 1)]).await;
    let delivered = outbox.deliver(&app.app).await;
    assert!(
        delivered.iter().all(|r| r.batch_item_failures.is_empty()),
        "{delivered:?}"
    );
    assert!(
        outbox.emails_to(&to).await.is_empty(),
        "nothing to a suppressed address"
    );
    assert_eq!(
        order_events(&outbox.events().await, &order.id.to_string()),
        [("order.placed", 1), ("order.paid", 2)],
        "the events do not depend on the address"
    );
    assert!(
        app.app
            .store
            .pending_notifications(10)
            .await
            .expect("read")
            .is_empty(),
        "every claim done"
    );
    // A transient bounce (a full mailbox) suppresses no one.
    let other = app.registered("Di Full").await;
    let other_to = email_of(&app, &other).await;
    let transient = serde_json::json!({"eventType": "Bounce", "bounce": {"bounceType": "Transient",
        "bouncedRecipients": [{"emailAddress": other_to}]}})
    .to_string();
    shared::usecases::notify::handle_feedback(&app.app, transient)
        .await
        .expect("handled");
    outbox.deliver(&app.app).await;
    assert_eq!(
        outbox.emails_to(&other_to).await.len(),
        1,
        "the verification email went"
    );
}

/// The `product.low_stock` events on the bus now: (sequence, stock).
fn low_stock_events(events: &[Value], product: &str) -> Vec<(u64, i64)> {
    events
        .iter()
        .filter(|e| e["detail-type"] == "product.low_stock" && e["detail"]["product"]["id"] == product)
        .map(|e| {
            (
                e["detail"]["sequence"].as_u64().unwrap_or_default(),
                e["detail"]["product"]["stock"].as_i64().unwrap_or_default(),
            )
        })
        .collect()
}

/// A new product of `stock` units watched at `threshold`, by the admin.
async fn watched(app: &TestApp, name: &str, stock: i64, threshold: i64) -> shared::model::products::Product {
    let input = shared::foundation::input::parse_document(serde_json::json!({
        "name": name, "category": "kitchen", "price": 1000, "stock": stock, "low_stock_threshold": threshold
    }))
    .expect("valid");
    shared::usecases::products::create_product(&app.app, &shop_tests::fixtures::admin(), input)
        .await
        .expect("created")
}

/// The product's item as stored: its alert and its count of falls.
async fn stored(
    app: &TestApp,
    product: &shared::model::products::ProductId,
) -> shared::model::products::ProductRecord {
    app.app
        .store
        .product_record(product)
        .await
        .expect("read")
        .expect("there")
}

#[tokio::test]
async fn a_products_stock_falling_to_its_threshold_publishes_one_event_per_fall() {
    use shared::adapters::store::TableChange;
    use shared::foundation::input::parse_document;
    use shared::usecases::{notify, products};
    use shop_tests::fixtures::{admin, customer};

    let (app, outbox) = TestApp::spawn_sending(&[]).await;
    let product = watched(&app, "Watched mug", 12, 5).await;
    assert_eq!(product.low_stock_threshold, Some(5));
    let patch = parse_document(serde_json::json!({"stock_counters": 4})).expect("valid");
    products::update_product(&app.app, &admin(), &product.id, patch, None)
        .await
        .expect("spread over 4 counters");
    let id = product.id.to_string();

    // 10 orders at once take it from 12 through the threshold to 2; the
    // notifier reads their records while 8 more handlers of the same
    // product's change race it, as shards read in parallel would.
    let buyers: Vec<_> = (0..10).map(|_| customer()).collect();
    let orders =
        futures::future::join_all(buyers.iter().map(|buyer| app.order(buyer, &[(&product, 1)]))).await;
    assert!(orders.iter().all(Result::is_ok), "{orders:?}");
    let racing = (0..8).map(|_| notify::handle_change(&app.app, TableChange::Stock(product.id.clone())));
    let (raced, delivered) = tokio::join!(
        futures::future::join_all(racing),
        outbox.deliver_with(&app.app, 3)
    );
    assert!(raced.iter().all(Result::is_ok), "{raced:?}");
    assert!(
        delivered.iter().all(|r| r.batch_item_failures.is_empty()),
        "{delivered:?}"
    );
    let events = outbox.events().await;
    let first = low_stock_events(&events, &id);
    assert_eq!(first.len(), 1, "one event for one fall: {first:?}");
    assert_eq!(first[0].0, 1);
    assert!(first[0].1 <= 5, "seen at or below the threshold: {first:?}");
    let event = events
        .iter()
        .find(|e| e["detail-type"] == "product.low_stock")
        .expect("the event");
    assert_eq!(event["source"], "shop");
    assert_eq!(event["detail"]["id"], format!("product-{id}-low-stock-1"));
    assert_eq!(event["detail"]["product"]["low_stock_threshold"], 5);
    eprintln!("event: {} {}", event["detail-type"], event["detail"]);

    // A restock above the threshold re-arms it, silently; the next fall
    // is the next event. Orders below it announce nothing more.
    let restock = parse_document(serde_json::json!({"stock_delta": 20})).expect("valid");
    products::update_product(&app.app, &admin(), &product.id, restock, None)
        .await
        .expect("restocked");
    outbox.deliver(&app.app).await;
    assert!(
        low_stock_events(&outbox.events().await, &id).is_empty(),
        "a restock announces nothing"
    );
    let record = stored(&app, &product.id).await;
    assert_eq!((record.low_stock, record.low_stock_alerts), (None, 1), "re-armed");
    for _ in 0..18 {
        app.order(&customer(), &[(&product, 1)]).await.expect("placed");
    }
    let responses = outbox.deliver_with(&app.app, 4).await;
    assert!(responses.iter().all(|r| r.batch_item_failures.is_empty()));
    assert_eq!(low_stock_events(&outbox.events().await, &id), [(2, 4)]);

    // The whole stream delivered again: nothing twice. No longer watched:
    // the alert clears, and orders announce nothing.
    let (again, _) = shop_tests::outbox::replay(&app).await;
    assert!(again.iter().all(|r| r.batch_item_failures.is_empty()));
    assert!(
        low_stock_events(&outbox.events().await, &id).is_empty(),
        "no event twice"
    );
    let unwatched = parse_document(serde_json::json!({"low_stock_threshold": null})).expect("valid");
    let product = products::update_product(&app.app, &admin(), &product.id, unwatched, None)
        .await
        .expect("unwatched");
    assert_eq!(product.low_stock_threshold, None);
    outbox.deliver(&app.app).await;
    let record = stored(&app, &product.id).await;
    assert_eq!(record.low_stock, None, "no longer watched: the alert is cleared");
    app.order(&customer(), &[(&product, 1)]).await.expect("placed");
    outbox.deliver(&app.app).await;
    assert!(low_stock_events(&outbox.events().await, &id).is_empty());
}

#[tokio::test]
async fn a_fall_whose_sender_died_is_published_even_after_a_restock() {
    use shared::adapters::store::TableChange;
    use shared::foundation::input::parse_document;
    use shared::usecases::{notify, products};
    use shop_tests::fixtures::{admin, customer};

    let (app, outbox) = TestApp::spawn_sending(&[]).await;
    let product = watched(&app, "Watched lamp", 3, 1).await;
    let id = product.id.to_string();
    let event_id = format!("product-{id}-low-stock-1");

    // The fall to the threshold is raised; its sender dies holding the
    // event's claim (a 2 s lease here), before publishing it.
    app.order(&customer(), &[(&product, 2)]).await.expect("placed");
    let dead = app
        .app
        .store
        .claim_notification(BUS, &event_id, "{}", Timestamp::now(), 2)
        .await
        .expect("claimed");
    assert!(matches!(dead, Claim::Mine(_)), "{dead:?}");
    let held = outbox.deliver(&app.app).await;
    assert!(
        held.iter().any(|r| !r.batch_item_failures.is_empty()),
        "held: the record comes again"
    );
    assert!(low_stock_events(&outbox.events().await, &id).is_empty());

    // A restock lifts the stock above the threshold before the lease runs
    // out: the alert is not cleared while its fall is unpublished.
    let restock = parse_document(serde_json::json!({"stock_delta": 10})).expect("valid");
    products::update_product(&app.app, &admin(), &product.id, restock, None)
        .await
        .expect("restocked");
    let early = notify::handle_change(&app.app, TableChange::Stock(product.id.clone())).await;
    assert!(early.is_err(), "held: {early:?}");
    let record = stored(&app, &product.id).await;
    assert_eq!(
        record.low_stock.map(|a| a.alert),
        Some(1),
        "not cleared unannounced"
    );

    // After the lease: fall 1 is published once, then the alert clears.
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let settled = outbox.deliver(&app.app).await;
    assert!(
        settled.iter().all(|r| r.batch_item_failures.is_empty()),
        "{settled:?}"
    );
    let published = low_stock_events(&outbox.events().await, &id);
    assert_eq!(published.len(), 1, "{published:?}");
    assert_eq!(published[0].0, 1);
    let record = stored(&app, &product.id).await;
    assert_eq!((record.low_stock, record.low_stock_alerts), (None, 1), "re-armed");
    let (again, _) = shop_tests::outbox::replay(&app).await;
    assert!(again.iter().all(|r| r.batch_item_failures.is_empty()));
    assert!(low_stock_events(&outbox.events().await, &id).is_empty(), "once");
}
