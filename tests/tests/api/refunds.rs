//! End to end through the gateway, the real binaries and both queue workers:
//! refund before shipping (stock back), admin refund after shipping (no
//! restock), return → receive → refunded (stock back), late payment
//! refunded and never shipped.

use serde_json::json;
use shop_tests::Shop;
use shop_tests::reqwest::StatusCode;

#[tokio::test]
async fn a_refund_before_shipping_gives_the_stock_back() {
    let shop = Shop::new().await;
    let product = shop.product(10).await;
    // The shipping worker runs beside us: refund as soon as the order is
    // paid; if it shipped first (a race it may win), try a fresh order.
    for _ in 0..5 {
        let order = shop.order(&product, 2).await;
        shop.pay(&order).await;
        let refund = shop.act(&order, "refund", &shop.customer.token).await;
        if refund.status == StatusCode::CONFLICT {
            assert_eq!(refund.body["status"], "SHIPPED", "{}", refund.text);
            continue;
        }
        assert_eq!(refund.status, StatusCode::ACCEPTED, "{}", refund.text);
        assert_eq!(refund.body["status"], "REFUND_PENDING");
        shop.until(&order, "REFUNDED").await;
        let shipped_before = 10 - shop.stock(&product).await;
        assert_eq!(shipped_before % 2, 0);
        let shipment = shop
            .api
            .get(&format!("/orders/{order}/shipment"), Some(&shop.customer.token))
            .await;
        assert_eq!(shipment.status, StatusCode::NOT_FOUND, "never shipped");
        return;
    }
    panic!("the shipping worker won every race");
}

#[tokio::test]
async fn an_admin_refund_after_shipping_does_not_restock() {
    let shop = Shop::new().await;
    let product = shop.product(10).await;
    let order = shop.order(&product, 3).await;
    shop.pay(&order).await;
    shop.until(&order, "SHIPPED").await;
    let owner = shop.act(&order, "refund", &shop.customer.token).await;
    assert_eq!(owner.status, StatusCode::CONFLICT);
    assert_eq!(
        (owner.body["code"].as_str(), owner.body["status"].as_str()),
        (Some("INVALID_STATE"), Some("SHIPPED"))
    );
    let refund = shop.act(&order, "refund", &shop.admin).await;
    assert_eq!(refund.status, StatusCode::ACCEPTED, "{}", refund.text);
    shop.until(&order, "REFUNDED").await;
    assert_eq!(shop.stock(&product).await, 7, "no restock for shipped goods");
}

#[tokio::test]
async fn return_receive_refund_restocks() {
    let shop = Shop::new().await;
    let product = shop.product(4).await;
    let order = shop.delivered_order(&product, 2).await;

    let path = format!("/orders/{order}/return");
    let no_reason = shop
        .api
        .post(&path, Some(&shop.customer.token), json!({"reason": ""}))
        .await;
    no_reason.assert_problem(400, "VALIDATION_FAILED");
    let returned = shop
        .api
        .post(&path, Some(&shop.customer.token), json!({"reason": "Wrong size"}))
        .await;
    assert_eq!(returned.status, StatusCode::ACCEPTED, "{}", returned.text);
    assert_eq!(returned.body["status"], "RETURN_REQUESTED");
    shop.act(&order, "return/receive", &shop.customer.token)
        .await
        .assert_problem(403, "FORBIDDEN");
    let received = shop.act(&order, "return/receive", &shop.admin).await;
    assert_eq!(received.status, StatusCode::ACCEPTED, "{}", received.text);
    shop.until(&order, "REFUNDED").await;
    assert_eq!(shop.stock(&product).await, 4, "returned goods are back in stock");
}

#[tokio::test]
async fn a_late_payment_is_refunded_and_never_shipped() {
    let shop = Shop::new().await;
    let product = shop.product(5).await;
    let order = shop.order(&product, 1).await;
    let payment = shop.start_payment(&order).await;
    let cancelled = shop.act(&order, "cancel", &shop.customer.token).await;
    assert_eq!(cancelled.status, StatusCode::OK);
    // Its payment is not handed out again; a card that paid it anyway is
    // a late payment.
    let again = shop.act(&order, "payment", &shop.customer.token).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.text);
    assert_eq!(again.body["code"], "INVALID_STATE");
    shop.paid(&order, &payment).await;
    shop.until(&order, "REFUNDED").await;
    let shipment = shop
        .api
        .get(&format!("/orders/{order}/shipment"), Some(&shop.customer.token))
        .await;
    assert_eq!(shipment.status, StatusCode::NOT_FOUND);
    assert_eq!(shop.stock(&product).await, 5);
}
