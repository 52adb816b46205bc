//! The ids of the shop's entities: UUID v7 (time-ordered), parsed, never
//! made up from strings that are not ids.

pub use crate::foundation::newtype::Id;
use crate::foundation::newtype::uuid_id;

uuid_id!(UserId, "a user id");
uuid_id!(ProductId, "a product id");
uuid_id!(OrderId, "an order id");
uuid_id!(PaymentId, "a payment id");
uuid_id!(ReviewId, "a review id");
uuid_id!(ShipmentId, "a shipment id");
uuid_id!(PromotionId, "a promotion id");

impl ShipmentId {
    /// An order has at most one shipment, and its id is the order's: a
    /// duplicate message can only ever address the same shipment.
    pub fn for_order(order: &OrderId) -> Self {
        Self::from_uuid(order.uuid())
    }

    pub fn order_id(&self) -> OrderId {
        OrderId::from_uuid(self.uuid())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_hyphenated_uuids_only() {
        let id = OrderId::new();
        let text = id.to_string();
        assert_eq!(OrderId::parse(&text), Ok(id.clone()));
        assert_eq!(OrderId::parse(&text.to_uppercase()), Ok(id.clone()));
        let simple = text.replace('-', "");
        for other in [
            simple.clone(),
            format!("{{{text}}}"),
            format!("urn:uuid:{text}"),
            String::new(),
            "x".repeat(36),
        ] {
            assert!(OrderId::parse(&other).is_err(), "{other:?} accepted");
        }
    }
}
