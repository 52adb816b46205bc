//! What a change to an order means to the world outside: the event the
//! shop publishes on its bus (`order.paid`, ...) and the email its
//! customer gets. Pure: decided from the order's status before and after
//! one committed write, which the table's stream reports (decision 69).
//!
//! Every status change moves the order's `event_seq` on by one in the same
//! write, so `(order, event_seq)` names one change: the event's id, the
//! key its email and publication are claimed under, and the sequence a
//! consumer orders an order's events by.

use serde::Serialize;
use serde_json::{Value, json};

use crate::foundation::clock::Timestamp;
use crate::foundation::ids::OrderId;
use crate::model::emails::Template;
use crate::model::orders::{Order, OrderStatus};
use crate::model::products::{LowStock, ProductId};

/// The version of the events' JSON schemas (`docs/events/`): a consumer
/// reads `schema_version` and ignores fields it does not know.
pub const SCHEMA_VERSION: u32 = 1;

/// The `source` of every event the shop publishes.
pub const SOURCE: &str = "shop";

/// The events the shop publishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
pub enum EventType {
    #[serde(rename = "order.placed")]
    OrderPlaced,
    #[serde(rename = "order.paid")]
    OrderPaid,
    #[serde(rename = "order.shipped")]
    OrderShipped,
    #[serde(rename = "order.delivered")]
    OrderDelivered,
    #[serde(rename = "order.cancelled")]
    OrderCancelled,
    #[serde(rename = "order.refunded")]
    OrderRefunded,
    #[serde(rename = "return.requested")]
    ReturnRequested,
    #[serde(rename = "product.low_stock")]
    ProductLowStock,
}

impl EventType {
    /// The events of an order's changes (`docs/events/order-event.v1.json`).
    pub const ORDER: [Self; 7] = [
        Self::OrderPlaced,
        Self::OrderPaid,
        Self::OrderShipped,
        Self::OrderDelivered,
        Self::OrderCancelled,
        Self::OrderRefunded,
        Self::ReturnRequested,
    ];

    /// Its name: EventBridge's `detail-type` and the detail's `type`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OrderPlaced => "order.placed",
            Self::OrderPaid => "order.paid",
            Self::OrderShipped => "order.shipped",
            Self::OrderDelivered => "order.delivered",
            Self::OrderCancelled => "order.cancelled",
            Self::OrderRefunded => "order.refunded",
            Self::ReturnRequested => "return.requested",
            Self::ProductLowStock => "product.low_stock",
        }
    }
}

/// What one change of an order sends: an event, an email, both or
/// neither.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Notice {
    pub event: Option<EventType>,
    pub email: Option<Template>,
}

/// The notice for an order whose status went from `before` (`None`: the
/// order is new) to `after`. A write that left the status alone (a
/// dispute noted, a field filled in) sends nothing.
pub fn order_notice(before: Option<OrderStatus>, after: OrderStatus) -> Notice {
    use OrderStatus::*;
    if before == Some(after) {
        return Notice::default();
    }
    let (event, email) = match (before, after) {
        (None, PendingPayment) => (Some(EventType::OrderPlaced), Some(Template::OrderPlaced)),
        (_, Paid) => (Some(EventType::OrderPaid), Some(Template::PaymentReceived)),
        (_, Shipped) => (Some(EventType::OrderShipped), Some(Template::Shipped)),
        (_, Delivered) => (Some(EventType::OrderDelivered), Some(Template::Delivered)),
        (_, Cancelled) => (Some(EventType::OrderCancelled), None),
        (_, Refunded) => (Some(EventType::OrderRefunded), Some(Template::RefundIssued)),
        (_, ReturnRequested) => (Some(EventType::ReturnRequested), None),
        // The admin received the goods back: the refund follows.
        (Some(ReturnRequested), RefundPending) => (None, Some(Template::ReturnReceived)),
        _ => (None, None),
    };
    Notice { event, email }
}

/// The id of an order's change number `seq`: what its email and its
/// event are sent once under.
pub fn event_id(order: &OrderId, seq: u64) -> String {
    format!("order-{order}-{seq}")
}

/// An order event's `detail`, by `docs/events/order-event.v1.json`:
/// ids and figures, no personal data (no email, no address), so a
/// consumer that needs them asks the API.
pub fn order_detail(event: EventType, order: &Order, seq: u64) -> Value {
    let occurred_at: Timestamp = order.updated_at;
    json!({
        "schema_version": SCHEMA_VERSION,
        "id": event_id(&order.id, seq),
        "type": event.as_str(),
        "sequence": seq,
        "occurred_at": occurred_at.to_string(),
        "order": {
            "id": order.id.to_string(),
            "status": order.status.as_str(),
            "customer_id": order.user_id.to_string(),
            "market": order.market.as_str(),
            "currency": order.currency.as_str(),
            "subtotal": order.totals.subtotal,
            "discount_total": order.totals.discount_total,
            "shipping": order.totals.shipping,
            "tax_total": order.totals.tax_total,
            "duties": order.totals.duties,
            "total": order.total.minor(),
            "items": order.items.iter().map(|line| json!({
                "product_id": line.product_id.to_string(),
                "quantity": line.quantity,
                "amount": line.amount,
            })).collect::<Vec<_>>(),
            "created_at": order.created_at.to_string(),
        },
    })
}

/// The id of a product's `alert`th fall to its low-stock threshold.
pub fn low_stock_id(product: &ProductId, alert: u32) -> String {
    format!("product-{product}-low-stock-{alert}")
}

/// A `product.low_stock` event's `detail`, by
/// `docs/events/product-low-stock.v1.json`: the product, its stock and
/// threshold when the fall was seen; `sequence` numbers the product's
/// falls.
pub fn low_stock_detail(product: &ProductId, alert: &LowStock) -> Value {
    json!({
        "schema_version": SCHEMA_VERSION,
        "id": low_stock_id(product, alert.alert),
        "type": EventType::ProductLowStock.as_str(),
        "sequence": alert.alert,
        "occurred_at": alert.at.to_string(),
        "product": {
            "id": product.to_string(),
            "stock": alert.stock,
            "low_stock_threshold": alert.threshold,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use OrderStatus::*;

    #[test]
    fn each_step_of_an_order_is_one_event_and_its_email() {
        let cases = [
            (
                None,
                PendingPayment,
                Some(EventType::OrderPlaced),
                Some(Template::OrderPlaced),
            ),
            (
                Some(PendingPayment),
                Paid,
                Some(EventType::OrderPaid),
                Some(Template::PaymentReceived),
            ),
            (
                Some(Paid),
                Shipped,
                Some(EventType::OrderShipped),
                Some(Template::Shipped),
            ),
            (
                Some(Shipped),
                Delivered,
                Some(EventType::OrderDelivered),
                Some(Template::Delivered),
            ),
            (
                Some(PendingPayment),
                Cancelled,
                Some(EventType::OrderCancelled),
                None,
            ),
            (
                Some(Delivered),
                ReturnRequested,
                Some(EventType::ReturnRequested),
                None,
            ),
            (
                Some(ReturnRequested),
                RefundPending,
                None,
                Some(Template::ReturnReceived),
            ),
            (Some(Paid), RefundPending, None, None),
            (Some(Cancelled), RefundPending, None, None),
            (
                Some(RefundPending),
                Refunded,
                Some(EventType::OrderRefunded),
                Some(Template::RefundIssued),
            ),
            (
                Some(Shipped),
                Refunded,
                Some(EventType::OrderRefunded),
                Some(Template::RefundIssued),
            ),
            (Some(Paid), Paid, None, None),
        ];
        for (before, after, event, email) in cases {
            assert_eq!(
                order_notice(before, after),
                Notice { event, email },
                "{before:?} -> {after:?}"
            );
        }
    }

    #[test]
    fn every_status_the_machine_reaches_is_announced() {
        // Each status a transition reaches publishes an event, but the
        // two on the way to a refund (the refund's own event follows).
        for after in OrderStatus::ALL {
            let announced = OrderStatus::ALL
                .iter()
                .any(|&before| order_notice(Some(before), after).event.is_some());
            assert_eq!(
                announced,
                after != RefundPending && after != PendingPayment,
                "{after:?}"
            );
        }
    }

    /// The published detail holds what `docs/events/order-event.v1.json`
    /// requires, and nothing it does not describe.
    #[test]
    fn the_detail_follows_its_schema() {
        let schema: Value =
            serde_json::from_str(include_str!("../../../docs/events/order-event.v1.json")).expect("schema");
        let order: Order = serde_json::from_value(json!({
            "id": "0193a1b2-0000-7000-8000-000000000001", "user_id": "0193a1b2-0000-7000-8000-000000000002",
            "status": "PAID",
            "items": [{"product_id": "0193a1b2-0000-7000-8000-000000000003", "name": "Shirt",
                       "unit_price": 4999, "quantity": 2, "line_total": 9998, "amount": 9998}],
            "subtotal": 9998, "discount_total": 0, "shipping": 0, "tax_total": 0, "tax_lines": [],
            "duties": 0, "duties_due_on_delivery": false, "total": 9998, "currency": "EUR",
            "shipping_address": {"name": "Ann", "line1": "1 Main St", "city": "Berlin", "postal_code": "10115",
                                 "country": "DE"},
            "created_at": "2026-12-05T09:30:00Z", "updated_at": "2026-12-05T09:31:00Z",
            "expires_at": null, "paid_at": "2026-12-05T09:31:00Z", "delivered_at": null
        }))
        .expect("an order");
        let detail = order_detail(EventType::OrderPaid, &order, 2);
        let conforms = |value: &Value, schema: &Value| {
            let keys: Vec<&String> = value.as_object().expect("an object").keys().collect();
            let properties = schema["properties"].as_object().expect("properties");
            for key in &keys {
                assert!(properties.contains_key(*key), "{key} is not in the schema");
            }
            for required in schema["required"].as_array().expect("required") {
                assert!(
                    keys.iter().any(|k| Some(k.as_str()) == required.as_str()),
                    "{required} is missing"
                );
            }
        };
        conforms(&detail, &schema);
        conforms(&detail["order"], &schema["properties"]["order"]);
        conforms(
            &detail["order"]["items"][0],
            &schema["properties"]["order"]["properties"]["items"]["items"],
        );
        assert_eq!(detail["type"], "order.paid");
        assert_eq!(detail["sequence"], 2);
        assert_eq!(detail["occurred_at"], "2026-12-05T09:31:00Z");
        let types: Vec<&str> = schema["properties"]["type"]["enum"]
            .as_array()
            .expect("types")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert_eq!(types, EventType::ORDER.map(EventType::as_str));
    }

    #[test]
    fn a_low_stock_detail_follows_its_schema() {
        let schema: Value =
            serde_json::from_str(include_str!("../../../docs/events/product-low-stock.v1.json"))
                .expect("schema");
        let product: ProductId =
            serde_json::from_value(json!("0193a1b2-0000-7000-8000-000000000003")).expect("id");
        let alert = LowStock {
            alert: 2,
            stock: 4,
            threshold: 5,
            at: Timestamp::from_unix(1_796_000_000),
        };
        let detail = low_stock_detail(&product, &alert);
        for (value, schema) in [
            (&detail, &schema),
            (&detail["product"], &schema["properties"]["product"]),
        ] {
            let properties = schema["properties"].as_object().expect("properties");
            let keys: Vec<&String> = value.as_object().expect("an object").keys().collect();
            assert!(keys.iter().all(|key| properties.contains_key(*key)), "{keys:?}");
            for required in schema["required"].as_array().expect("required") {
                assert!(
                    keys.iter().any(|k| Some(k.as_str()) == required.as_str()),
                    "{required}"
                );
            }
        }
        assert_eq!(schema["properties"]["type"]["const"], "product.low_stock");
        assert_eq!(
            detail["id"],
            "product-0193a1b2-0000-7000-8000-000000000003-low-stock-2"
        );
        assert_eq!(detail["sequence"], 2);
        assert_eq!(detail["product"]["stock"], 4);
    }

    #[test]
    fn event_ids_name_the_order_and_its_change() {
        let id: OrderId = serde_json::from_value(json!("0193a1b2-0000-7000-8000-000000000001")).expect("id");
        assert_eq!(event_id(&id, 3), "order-0193a1b2-0000-7000-8000-000000000001-3");
    }
}
