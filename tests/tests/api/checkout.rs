//! Checkout end to end through the gateway: a cart in a tax-inclusive DDP
//! market (Austria, in euros) and one in a tax-exclusive market with
//! regional rates (Quebec, in Canadian dollars), each checked out at the
//! total it showed, paid for exactly that total, its figures worked by hand
//! below; and one that stacks an automatic promotion on some lines with a
//! combinable coupon in a tax-inclusive market (the Netherlands, in
//! euros). The markets, rates, rules and promotions are set here (fixed codes in
//! countries no other test ships to: a deployed stack keeps them).

use serde_json::{Value, json};
use shop_tests::reqwest::{Method, StatusCode};
use shop_tests::{Shop, unique};

async fn product(shop: &Shop, fields: Value) -> String {
    let mut body = json!({"name": "Thing", "category": unique("checkout"), "price": 1000, "stock": 10});
    if let (Some(body), Some(fields)) = (body.as_object_mut(), fields.as_object()) {
        body.extend(fields.clone());
    }
    let reply = shop
        .api
        .send(Method::POST, "/products", Some(&shop.admin), Some(body))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    reply.body["id"].as_str().expect("id").to_owned()
}

/// Fills the customer's cart, sends it to `address` with `codes`, reads it
/// (its ETag is its version), checks it out at its total and pays that:
/// the order.
async fn checkout(shop: &Shop, lines: &[(&str, u32)], address: Value, codes: &[&str]) -> Value {
    let token = Some(shop.customer.token.as_str());
    for (product, quantity) in lines {
        let reply = shop
            .api
            .send(
                Method::PUT,
                &format!("/cart/items/{product}"),
                token,
                Some(json!({"quantity": quantity})),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    }
    let moved = shop
        .api
        .send(
            Method::PATCH,
            "/cart",
            token,
            Some(json!({"shipping_address": address, "coupon_codes": codes})),
        )
        .await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.text);
    let cart = shop.api.get("/cart", token).await;
    assert_eq!(cart.status, StatusCode::OK, "{}", cart.text);
    let version = cart.body["version"].as_u64().expect("version");
    assert_eq!(cart.header("etag"), Some(format!("\"{version}\"").as_str()));

    // A write naming an older version changes nothing.
    let stale = shop
        .api
        .read(
            shop.api
                .request(Method::PATCH, "/cart")
                .bearer_auth(&shop.customer.token)
                .header("content-type", "application/json")
                .header("if-match", format!("\"{}\"", version - 1))
                .body(r#"{"shipping_method": null}"#),
        )
        .await;
    stale.assert_problem(412, "PRECONDITION_FAILED");

    let total = cart.body["total"].as_i64().expect("total");
    let changed = shop
        .api
        .post("/cart/checkout", token, json!({"expected_total": total - 1}))
        .await;
    changed.assert_problem(409, "PRICE_CHANGED");
    assert_eq!(changed.body["cart"]["total"], total);
    let placed = shop
        .api
        .read(
            shop.api
                .request(Method::POST, "/cart/checkout")
                .bearer_auth(&shop.customer.token)
                .header("content-type", "application/json")
                .header("idempotency-key", unique("checkout"))
                .body(json!({"expected_total": total}).to_string()),
        )
        .await;
    assert_eq!(placed.status, StatusCode::CREATED, "{}", placed.text);
    let order = placed.body;
    let emptied = shop.api.get("/cart", token).await;
    assert_eq!(emptied.body["items"], json!([]));
    let again = shop
        .api
        .post("/cart/checkout", token, json!({"expected_total": total}))
        .await;
    again.assert_problem(409, "CART_EMPTY");

    let id = order["id"].as_str().expect("id");
    let payment = shop.start_payment(id).await;
    assert_eq!(
        (&payment["amount"], &payment["currency"]),
        (&order["total"], &order["currency"]),
        "the payment charges the order's total"
    );
    shop.paid(id, &payment).await;
    assert_eq!(shop.status(id).await, "PAID");
    order
}

fn figures(order: &Value) -> Vec<(i64, i64, i64, i64)> {
    order["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|l| {
            let f = |k: &str| l[k].as_i64().expect("an amount");
            (f("amount"), f("net"), f("tax"), f("duty"))
        })
        .collect()
}

#[tokio::test]
async fn a_cart_checks_out_in_an_inclusive_ddp_market_at_the_total_it_showed() {
    let shop = Shop::new().await;
    shop.admin_put(
        "/markets/e2e-ddp",
        json!({"name": "Austria", "countries": ["AT"], "currency": "EUR", "tax_mode": "inclusive",
               "tax_rounding": "line", "price_rounding": "minor", "duties": "ddp",
               "shipping_methods": [{"code": "standard", "name": "Standard",
                   "rates": [{"max_weight_grams": 1000, "price": 490}, {"max_weight_grams": 5000, "price": 990}],
                   "free_over": 15000, "delivery_days": {"min": 2, "max": 4}}]}),
    )
    .await;
    shop.admin_put(
        "/tax-rates/AT",
        json!({"rates": {"standard": "20", "reduced": "10"}}),
    )
    .await;
    shop.admin_put(
        "/duty-rates/AT",
        json!({"threshold": {"amount": 5000, "currency": "EUR"}, "default_rate": "4", "chapters": {"61": "12"}}),
    )
    .await;
    let shirt = product(
        &shop,
        json!({"prices": {"EUR": 4999}, "weight_grams": 300, "hs_code": "610910", "origin_country": "CN"}),
    )
    .await;
    let book = product(
        &shop,
        json!({"prices": {"EUR": 1200}, "weight_grams": 500, "tax_category": "reduced", "origin_country": "AT"}),
    )
    .await;
    let vienna = json!({"name": "Anna Huber", "line1": "Stephansplatz 1", "city": "Wien", "postal_code": "1010", "country": "AT"});
    let order = checkout(&shop, &[(&shirt, 2), (&book, 1)], vienna, &[]).await;
    eprintln!("inclusive DDP order: {order}");
    // 9998 gross at 20 %: 8331.67 → 8332 net, 1666 VAT; 1200 at 10 %:
    // 1090.91 → 1091, 109. Customs value 9423 > 5000: the shirts from
    // China pay 12 % of 8332 = 999.84 → 1000; the Austrian book none.
    assert_eq!(
        figures(&order),
        [(9_998, 8_332, 1_666, 1_000), (1_200, 1_091, 109, 0)]
    );
    // 1,100 g ships for €9.90 (825 net, 165 VAT); VAT 1666 + 109 + 165.
    assert_eq!(
        (
            &order["market"],
            &order["currency"],
            &order["shipping_method"],
            &order["shipping"]
        ),
        (&json!("e2e-ddp"), &json!("EUR"), &json!("standard"), &json!(990))
    );
    assert_eq!(
        (
            &order["tax_total"],
            &order["duties"],
            &order["duties_due_on_delivery"]
        ),
        (&json!(1_940), &json!(1_000), &json!(false))
    );
    assert_eq!(
        order["tax_lines"],
        json!([{"category": "reduced", "rate": "10", "taxable": 1091, "tax": 109},
               {"category": "standard", "rate": "20", "taxable": 8332, "tax": 1666},
               {"category": "shipping", "rate": "20", "taxable": 825, "tax": 165}])
    );
    // 11198 + 990 shipping + 1000 duty; the VAT is inside the prices.
    assert_eq!(
        (&order["subtotal"], &order["total"]),
        (&json!(11_198), &json!(13_188))
    );
}

#[tokio::test]
async fn a_cart_checks_out_in_an_exclusive_market_at_its_regions_rate() {
    let shop = Shop::new().await;
    shop.admin_put(
        "/markets/e2e-ca",
        json!({"name": "Canada", "countries": ["CA"], "currency": "CAD", "tax_mode": "exclusive",
               "tax_rounding": "order", "price_rounding": "minor", "duties": "dap",
               "shipping_methods": [{"code": "express", "name": "Express",
                   "rates": [{"max_weight_grams": 2000, "price": 1500}], "free_over": null,
                   "delivery_days": {"min": 1, "max": 2}}]}),
    )
    .await;
    shop.admin_put(
        "/tax-rates/CA",
        json!({"rates": {"standard": "5"}, "subdivisions": {"CA-QC": {"standard": "14.975"}, "CA-ON": {"standard": "13"}}}),
    )
    .await;
    shop.admin_put(
        "/duty-rates/CA",
        json!({"threshold": {"amount": 2000, "currency": "CAD"}, "default_rate": "5"}),
    )
    .await;
    let cap = product(
        &shop,
        json!({"prices": {"CAD": 1999}, "weight_grams": 100, "origin_country": "US"}),
    )
    .await;
    let pin = product(
        &shop,
        json!({"prices": {"CAD": 525}, "weight_grams": 100, "origin_country": "US"}),
    )
    .await;
    let montreal = json!({"name": "Marie Tremblay", "line1": "1 rue Sainte-Catherine", "city": "Montréal",
                          "postal_code": "H2X 1Y4", "region": "CA-QC", "country": "CA"});
    let order = checkout(&shop, &[(&cap, 3), (&pin, 1)], montreal, &[]).await;
    eprintln!("exclusive regional order: {order}");
    // Quebec's 14.975 % once over 6522 = 976.67 → 977, spread 898 + 79;
    // shipping 1500 → 224.625 → 225. Duty 5 % (300 + 26) is announced,
    // owed on delivery, and left out of the total.
    assert_eq!(figures(&order), [(5_997, 5_997, 898, 300), (525, 525, 79, 26)]);
    assert_eq!(
        (
            &order["tax_total"],
            &order["duties"],
            &order["duties_due_on_delivery"]
        ),
        (&json!(1_202), &json!(326), &json!(true))
    );
    assert_eq!(
        (&order["shipping"], &order["total"], &order["currency"]),
        (&json!(1_500), &json!(9_224), &json!("CAD"))
    );
}

#[tokio::test]
async fn a_cart_stacks_an_automatic_line_promotion_with_a_coupon_in_an_inclusive_market() {
    let shop = Shop::new().await;
    shop.admin_put(
        "/markets/e2e-promo",
        json!({"name": "Netherlands", "countries": ["NL"], "currency": "EUR", "tax_mode": "inclusive",
               "tax_rounding": "line", "price_rounding": "minor", "duties": "ddp",
               "shipping_methods": [{"code": "standard", "name": "Standard",
                   "rates": [{"max_weight_grams": 1000, "price": 490}, {"max_weight_grams": 5000, "price": 990}],
                   "free_over": 15000, "delivery_days": {"min": 1, "max": 2}}]}),
    )
    .await;
    shop.admin_put(
        "/tax-rates/NL",
        json!({"rates": {"standard": "21", "reduced": "9"}}),
    )
    .await;
    // No duty at home (a stack that outlives a fuzzing run may hold any
    // rule for the Netherlands).
    shop.admin_put(
        "/duty-rates/NL",
        json!({"threshold": {"amount": 99_999_999, "currency": "EUR"}, "default_rate": "0"}),
    )
    .await;
    let shirt = product(&shop, json!({"prices": {"EUR": 4999}, "weight_grams": 300})).await;
    let book = product(
        &shop,
        json!({"prices": {"EUR": 1200}, "weight_grams": 500, "tax_category": "reduced"}),
    )
    .await;
    let id = unique("e2e");
    let code = format!("e2e_{}", &id[id.len() - 16..]);
    for body in [
        json!({"name": "Shirts 10 %", "kind": "percent", "percent": "10", "combinable": true,
               "applies_to": {"product_ids": [shirt]}, "markets": ["e2e-promo"]}),
        json!({"name": "Five euros off", "code": code.to_lowercase(), "kind": "fixed",
               "amounts": {"EUR": 500}, "combinable": true, "usage_limit": 10}),
    ] {
        let made = shop
            .api
            .send(Method::POST, "/promotions", Some(&shop.admin), Some(body))
            .await;
        assert_eq!(made.status, StatusCode::CREATED, "{}", made.text);
    }
    let amsterdam = json!({"name": "Anne de Vries", "line1": "Dam 1", "city": "Amsterdam",
                           "postal_code": "1012 JS", "country": "NL"});
    let order = checkout(&shop, &[(&shirt, 2), (&book, 1)], amsterdam, &[&code]).await;
    eprintln!("stacked promotions order: {order}");
    // The automatic 10 % on the shirts (99.98), per line: 10.00. Then the
    // coupon's €5.00 over what remains (89.98 and 12.00) by largest
    // remainder: 4.41 and 0.59.
    let discounts: Vec<(&str, &Value)> = order["discounts"]
        .as_array()
        .expect("discounts")
        .iter()
        .map(|d| (d["name"].as_str().expect("name"), &d["amount"]))
        .collect();
    assert_eq!(
        discounts,
        [("Shirts 10 %", &json!(1_000)), ("Five euros off", &json!(500))]
    );
    assert_eq!(order["discounts"][1]["code"], json!(code.to_uppercase()));
    let lines: Vec<(i64, i64, i64, i64)> = order["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|l| {
            let f = |k: &str| l[k].as_i64().expect("an amount");
            (f("amount"), f("discount"), f("net"), f("tax"))
        })
        .collect();
    // VAT on what remains, gross: 8557 at 21 % → 1485.10 → 1485; 1141 at
    // 9 % → 94.21 → 94. Shipping (1,100 g, goods 96.98 < 150) 990 at
    // 21 % → 171.82 → 172.
    assert_eq!(lines, [(9_998, 1_441, 7_072, 1_485), (1_200, 59, 1_047, 94)]);
    assert_eq!(
        (
            &order["subtotal"],
            &order["discount_total"],
            &order["shipping"],
            &order["tax_total"],
            &order["duties"],
            &order["total"]
        ),
        (
            &json!(11_198),
            &json!(1_500),
            &json!(990),
            &json!(1_751),
            &json!(0),
            &json!(10_688)
        )
    );
}
