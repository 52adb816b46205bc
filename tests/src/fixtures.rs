//! Principals and fixtures for the catalogue and orders.

use crate::TestApp;
use serde_json::{Value, json};
use shared::entry::worker::process_batch;
use shared::foundation::clock::Deadline;
use shared::foundation::input::parse_document;
use shared::model::auth::{Admin, Principal, Role};
use shared::model::messages::Message;
use shared::model::orders::{NewOrder, Order, OrderId};
use shared::model::products::Product;
use shared::model::users::UserId;
use shared::usecases::payments::WebhookOutcome;
use shared::usecases::products;

pub fn customer() -> Principal {
    Principal {
        user_id: UserId::new(),
        role: Role::Customer,
        verified: true,
    }
}

pub fn admin() -> Admin {
    Principal {
        user_id: UserId::new(),
        role: Role::Admin,
        verified: true,
    }
    .into_admin()
    .expect("an admin")
}

/// A signed `payment_intent.succeeded` delivery: (signature header, body).
pub fn payment_succeeded(
    secret: &str,
    intent: &str,
    order: &Order,
    amount: i64,
    currency: &str,
) -> (String, Vec<u8>) {
    provider_event(
        secret,
        &format!("evt_{}", uuid::Uuid::now_v7().simple()),
        "payment_intent.succeeded",
        json!({
            "id": intent, "object": "payment_intent", "amount": amount, "amount_received": amount,
            "currency": currency, "status": "succeeded", "metadata": {"shop_order_id": order.id.to_string()},
            "livemode": false, "latest_charge": "ch_123"
        }),
    )
}

/// A signed delivery of Stripe's event `id` of type `kind` about
/// `object`, in Stripe's event shape: (signature header, body).
pub fn provider_event(secret: &str, id: &str, kind: &str, object: Value) -> (String, Vec<u8>) {
    let body = serde_json::to_vec(&json!({
        "id": id, "object": "event", "api_version": "2024-06-20",
        "created": time::OffsetDateTime::now_utc().unix_timestamp(),
        "livemode": false, "pending_webhooks": 1, "type": kind,
        "data": {"object": object}
    }))
    .expect("json");
    let header = crate::stripe_signature(secret, &body);
    (header, body)
}

/// A shipping address with every field filled in.
/// An address in `country` (its fields valid there).
pub fn address_in(country: &str) -> Value {
    let (city, postal_code, region) = match country {
        "DE" => ("Berlin", "10115", None),
        "JP" => ("Chiyoda", "100-0001", Some("JP-13")),
        "KW" => ("Kuwait City", "13001", None),
        "GB" => ("London", "SW1A 1AA", None),
        "IS" => ("Reykjavik", "101", None),
        "CA" => ("Montréal", "H2X 1Y4", Some("CA-QC")),
        _ => ("Springfield", "12345", Some("US-NY")),
    };
    json!({"name": "Ann Smith", "line1": "1 Main St", "city": city, "postal_code": postal_code,
           "region": region, "country": country})
}

pub fn address() -> Value {
    json!({"name": "Ann Smith", "line1": "1 Main St", "line2": "Flat 2", "city": "Springfield",
           "postal_code": "12345", "region": "US-NY", "country": "US"})
}

impl TestApp {
    /// An order's status now (a strongly consistent read).
    pub async fn status(&self, order: &Order) -> shared::model::orders::OrderStatus {
        self.app
            .store
            .get_order(&order.id)
            .await
            .expect("read")
            .expect("the order exists")
            .status
    }

    pub async fn product(&self, category: &str, price: i64, stock: i64) -> Product {
        let input = parse_document(json!({"name": format!("{category} thing"), "category": category, "price": price, "stock": stock}))
            .expect("valid product");
        products::create_product(&self.app, &admin(), input)
            .await
            .expect("created")
    }

    pub async fn stock(&self, product: &Product) -> i64 {
        self.app
            .store
            .product_for_sale(&product.id)
            .await
            .expect("read")
            .map_or(-1, |p| p.stock())
    }

    /// An order paid through the webhook; its `payment_confirmed` is on
    /// the shipping queue.
    pub async fn paid_order(&self, buyer: &Principal, lines: &[(&Product, u32)]) -> Order {
        let order = self.order(buyer, lines).await.expect("placed");
        self.pay(buyer, &order).await;
        order
    }

    /// An order paid, shipped by the worker and delivered: the buyer may
    /// now review its products.
    pub async fn delivered_order(&self, buyer: &Principal, lines: &[(&Product, u32)]) -> Order {
        let order = self.paid_order(buyer, lines).await;
        let shipped = self
            .deliver("shipping", shared::usecases::shipping::handle_message)
            .await;
        assert!(shipped.batch_item_failures.is_empty(), "shipped");
        let delivered = parse_document(json!({"status": "DELIVERED"})).expect("valid");
        shared::usecases::shipping::add_event(
            &self.app,
            &admin(),
            &shared::model::shipping::ShipmentId::for_order(&order.id),
            delivered,
        )
        .await
        .expect("delivered");
        order
    }

    /// A registered customer (reviews carry the author's name), as a
    /// request of theirs sees them once they verified their email.
    pub async fn registered(&self, name: &str) -> Principal {
        let email = format!("{}@example.com", crate::unique("reviewer"));
        let input = parse_document(json!({
            "email": &email, "password": "correct horse battery", "name": name
        }))
        .expect("valid");
        // An address of its own: sign-ups are limited per address.
        let from = shared::model::users::ClientAddress::parse(Some(&format!(
            "198.18.{}.{}",
            fastrand::u8(..),
            fastrand::u8(1..255)
        )));
        shared::usecases::users::register(&self.app, input, &from, None)
            .await
            .expect("registered");
        let user = self
            .app
            .store
            .find_account_by_email(&shared::model::users::Email::parse(email).expect("an email"))
            .await
            .expect("read")
            .expect("the account")
            .user;
        Principal {
            user_id: user.id,
            role: user.role,
            verified: true,
        }
    }

    /// The order's payment, started by its buyer.
    pub async fn started_payment(
        &self,
        buyer: &Principal,
        order: &Order,
    ) -> shared::model::payments::Payment {
        shared::usecases::payments::start_payment(&self.app, buyer, &order.id)
            .await
            .expect("payment started")
            .into_payment()
    }

    /// Starts the order's payment (unless it was started before) and
    /// delivers a signed success for it.
    pub async fn pay(&self, buyer: &Principal, order: &Order) -> WebhookOutcome {
        let payment = match self.app.store.get_payment(&order.id).await.expect("read") {
            Some(started) => started.payment,
            None => shared::usecases::payments::start_payment(&self.app, buyer, &order.id)
                .await
                .expect("payment started")
                .into_payment(),
        };
        // As the provider reports it: its units, the code in lower case.
        let units = order
            .total
            .of(order.currency)
            .ok()
            .and_then(|total| shared::model::charges::provider_units(total).ok())
            .expect("a total the provider takes");
        let (header, body) = payment_succeeded(
            crate::TEST_WEBHOOK_SECRET,
            payment.provider_payment_id.as_str(),
            order,
            units,
            &order.currency.as_str().to_ascii_lowercase(),
        );
        shared::usecases::payments::handle_webhook(&self.app, Some(&header), &body)
            .await
            .expect("webhook handled")
    }

    /// Lambda's poller, once: every message now on the queue `name` in one
    /// batch to `handler`; what succeeded is deleted, failures stay.
    pub async fn deliver<'a, F, Fut, R>(
        &'a self,
        name: &str,
        handler: F,
    ) -> aws_lambda_events::sqs::SqsBatchResponse
    where
        F: Fn(&'a shared::App, Message) -> Fut,
        Fut: std::future::Future<Output = Result<R, shared::Error>>,
        R: std::fmt::Debug,
    {
        let url = self.queue(name).url.clone();
        let received = self.drain(&url).await;
        let mut event = aws_lambda_events::sqs::SqsEvent::default();
        for (message, _) in &received {
            let mut record = aws_lambda_events::sqs::SqsMessage::default();
            record.message_id = message.message_id.clone();
            record.body = message.body.clone();
            event.records.push(record);
        }
        let response = process_batch(
            &self.app,
            event,
            Deadline::after(std::time::Duration::from_secs(60)),
            handler,
        )
        .await;
        let failed: Vec<&str> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        for (message, _) in received {
            if !failed.contains(&message.message_id.as_deref().unwrap_or_default()) {
                self.sqs
                    .delete_message()
                    .queue_url(&url)
                    .receipt_handle(message.receipt_handle.unwrap_or_default())
                    .send()
                    .await
                    .expect("delete");
            } else {
                // Back on the queue at once, as after a visibility timeout.
                self.sqs
                    .change_message_visibility()
                    .queue_url(&url)
                    .receipt_handle(message.receipt_handle.unwrap_or_default())
                    .visibility_timeout(0)
                    .send()
                    .await
                    .expect("release");
            }
        }
        response
    }

    /// Places an order (the request is built now; the future borrows only
    /// the app and the caller).
    pub fn order<'a>(
        &'a self,
        caller: &'a Principal,
        lines: &[(&Product, u32)],
    ) -> impl std::future::Future<Output = Result<Order, shared::Error>> + use<'a> {
        self.order_to(caller, lines, address())
    }

    /// Places an order shipped to `address` (whose country picks the market).
    pub fn order_to<'a>(
        &'a self,
        caller: &'a Principal,
        lines: &[(&Product, u32)],
        address: Value,
    ) -> impl std::future::Future<Output = Result<Order, shared::Error>> + use<'a> {
        let items: Vec<Value> = lines
            .iter()
            .map(|(p, q)| json!({"product_id": p.id.to_string(), "quantity": q}))
            .collect();
        let input: NewOrder =
            parse_document(json!({"items": items, "shipping_address": address})).expect("valid order");
        shared::usecases::orders::place_order(&self.app, caller, input, OrderId::new())
    }
}
