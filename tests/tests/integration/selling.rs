//! Selling across borders against the emulator: exchange rates (manual and
//! refreshed from a stand-in for the ECB's file), a product priced in each
//! market, and orders, payments and refunds in the market's currency
//! through a stand-in for Stripe that applies Stripe's amount rules.

use serde_json::json;
use shared::Error;
use shared::foundation::error::Unavailable;
use shared::foundation::input::parse_document;
use shared::foundation::money::Currency;
use shared::model::fx::RateSource;
use shared::model::markets::MarketCode;
use shared::model::orders::{Order, OrderStatus};
use shared::model::products::Product;
use shared::model::users::CountryCode;
use shared::usecases::{fx, markets, payments, products, refunds};
use shop_tests::fixtures::{address_in, admin, customer, payment_succeeded};
use shop_tests::stub::Stub;
use shop_tests::{TEST_WEBHOOK_SECRET, TestApp};

const ECB_FILE: &str = include_str!("../../fixtures/ecb/eurofxref-daily.xml");

/// The fixture dated `days_ago` days before today, as the ECB dates it.
fn ecb_file(days_ago: i64) -> String {
    let day = time::OffsetDateTime::now_utc() - time::Duration::days(days_ago);
    let date = format!("{:04}-{:02}-{:02}", day.year(), u8::from(day.month()), day.day());
    ECB_FILE.replace("2026-12-04", &date)
}

fn currency(code: &str) -> Currency {
    Currency::parse(code.into()).expect("valid")
}

fn country(code: &str) -> CountryCode {
    CountryCode::parse(code.into()).expect("valid")
}

fn manual(rates: serde_json::Value) -> fx::ManualRates {
    parse_document(json!({ "rates": rates })).expect("valid")
}

async fn market(t: &TestApp, code: &str, countries: &[&str], currency: &str, rounding: &str) {
    let settings = parse_document(json!({
        "name": code, "countries": countries, "currency": currency, "tax_mode": "none",
        "tax_rounding": "line", "price_rounding": rounding, "duties": "dap", "shipping_methods": []
    }))
    .expect("valid");
    markets::put_market(
        &t.app,
        &admin(),
        MarketCode::parse(code.into()).expect("valid"),
        settings,
    )
    .await
    .expect("market set");
}

/// Markets selling in EUR (DE), JPY (JP), KWD (KW), ISK (IS) and GBP (GB,
/// which has no rate), the rates, and a product of 12.50 USD with an
/// explicit EUR price of 11.50.
async fn shop_abroad(t: &TestApp) -> Product {
    market(t, "eu", &["DE"], "EUR", "charm").await;
    market(t, "jp", &["JP"], "JPY", "whole").await;
    market(t, "kw", &["KW"], "KWD", "minor").await;
    market(t, "is", &["IS"], "ISK", "minor").await;
    market(t, "gb", &["GB"], "GBP", "minor").await;
    // The ECB's rates (rebased: JPY 180.52 / USD 1.1625 per euro), and KWD,
    // which the ECB does not publish, by hand.
    fx::put_rates(
        &t.app,
        &admin(),
        manual(json!({"JPY": "155.2860215054", "ISK": "127.5698924731", "KWD": "0.30712"})),
    )
    .await
    .expect("rates set");
    let input = parse_document(json!({
        "name": "Mug", "category": "abroad", "price": 1250, "stock": 20,
        "prices": {"EUR": 1150}, "weight_grams": 350, "hs_code": "691200", "origin_country": "PT"
    }))
    .expect("valid");
    products::create_product(&t.app, &admin(), input)
        .await
        .expect("created")
}

#[tokio::test]
async fn rates_are_set_by_hand_refreshed_from_the_ecb_and_a_failed_refresh_keeps_them() {
    let ecb = Stub::start().await;
    let url = format!("{}/stats/eurofxref/eurofxref-daily.xml", ecb.url);
    let t = TestApp::spawn_with(&[("FX_RATES_URL", &url)]).await;
    let none = fx::get_rates(&t.app, &admin()).await.expect("read");
    assert_eq!((none.base, none.rates.len()), (currency("USD"), 0));

    let set = fx::put_rates(&t.app, &admin(), manual(json!({"JPY": "150", "KWD": "0.30712"})))
        .await
        .expect("set");
    assert_eq!(set.rates[&currency("JPY")].source, RateSource::Manual);
    let Err(Error::Validation(errors)) = fx::put_rates(&t.app, &admin(), manual(json!({"USD": "1.1"}))).await
    else {
        panic!("the base currency took a rate")
    };
    assert_eq!(errors[0].field, "rates.USD");

    ecb.respond_text(200, ecb_file(0));
    let report = fx::refresh(&t.app).await.expect("refreshed");
    assert_eq!((report.refreshed.updated, report.refreshed.manual_kept), (28, 1));
    let rates = fx::get_rates(&t.app, &admin()).await.expect("read");
    let rate = |code: &str| {
        let quoted = rates.rates[&currency(code)];
        (quoted.rate.value().to_string(), quoted.source)
    };
    assert_eq!(
        rate("EUR"),
        ("0.8602150538".into(), RateSource::Ecb),
        "1 / 1.1625"
    );
    assert_eq!(rate("GBP").1, RateSource::Ecb);
    assert_eq!(
        rate("JPY"),
        ("150".into(), RateSource::Manual),
        "a manual rate stays"
    );
    assert_eq!(
        rate("KWD"),
        ("0.30712".into(), RateSource::Manual),
        "nothing is removed"
    );
    assert!(!rates.rates.contains_key(&currency("USD")));

    // Dropping the manual rate lets the next refresh set it; only a manual
    // rate can be dropped.
    fx::delete_rate(&t.app, &admin(), currency("JPY"))
        .await
        .expect("dropped");
    assert!(matches!(
        fx::delete_rate(&t.app, &admin(), currency("JPY")).await,
        Err(Error::NotFound)
    ));
    assert!(matches!(
        fx::delete_rate(&t.app, &admin(), currency("EUR")).await,
        Err(Error::NotFound)
    ));
    ecb.respond_text(200, ecb_file(0));
    fx::refresh(&t.app).await.expect("refreshed");
    let rates = fx::get_rates(&t.app, &admin()).await.expect("read");
    assert_eq!(
        rates.rates[&currency("JPY")].rate.value().to_string(),
        "155.2860215054",
        "180.52 / 1.1625"
    );

    // An unreachable file, a broken one and one older than 7 days change
    // nothing.
    ecb.respond(503, json!({}));
    ecb.respond_text(200, "<html>maintenance</html>".into());
    ecb.respond_text(200, ecb_file(8));
    for _ in 0..3 {
        assert!(fx::refresh(&t.app).await.is_err());
        assert_eq!(fx::get_rates(&t.app, &admin()).await.expect("read"), rates);
    }
    assert!(
        ecb.seen()
            .iter()
            .all(|seen| seen.path == "/stats/eurofxref/eurofxref-daily.xml"),
        "every refresh reads FX_RATES_URL"
    );
}

#[tokio::test]
async fn a_product_is_priced_in_each_market_explicitly_or_by_conversion_or_not_sold_there() {
    let t = TestApp::spawn().await;
    let mug = shop_abroad(&t).await;
    let read = |code: &'static str| {
        let app = &t.app;
        let id = mug.id.clone();
        async move {
            let product = products::get_product(app, &id, Some(&country(code)))
                .await
                .expect("read");
            (
                product.price.map(|p| p.minor()),
                product.currency.as_str().to_owned(),
            )
        }
    };
    assert_eq!(read("DE").await, (Some(1_150), "EUR".into()), "explicit");
    // 12.50 × 155.2860215054 = 1941.08 → ¥1,941 (whole: no minor unit).
    assert_eq!(read("JP").await, (Some(1_941), "JPY".into()));
    // 12.50 × 0.30712 = 3.839 → 3.840 KWD (in tens of fils).
    assert_eq!(read("KW").await, (Some(3_840), "KWD".into()));
    assert_eq!(read("IS").await, (Some(1_595), "ISK".into()));
    assert_eq!(read("GB").await, (None, "GBP".into()), "no price, no rate");
    assert_eq!(
        read("US").await,
        (Some(1_250), "USD".into()),
        "the default market"
    );
    let plain = products::get_product(&t.app, &mug.id, None).await.expect("read");
    assert_eq!(
        (
            plain.price.map(|p| p.minor()),
            plain.base_price.minor(),
            plain.weight_grams
        ),
        (Some(1_250), 1_250, 350)
    );
    assert_eq!(plain.origin_country.as_str(), "PT");
    assert_eq!(plain.hs_code.as_ref().map(|c| c.as_str()), Some("691200"));

    let listed = |code: &'static str| {
        let app = &t.app;
        async move {
            products::list_products(app, None, Some(&country(code)), 100, None)
                .await
                .expect("listed")
                .items
                .len()
        }
    };
    assert_eq!((listed("JP").await, listed("GB").await), (1, 0), "not sold in GB");

    let buyer = customer();
    assert!(matches!(
        t.order_to(&buyer, &[(&mug, 1)], address_in("GB")).await,
        Err(Error::ProductUnavailable(id, Unavailable::NoPrice)) if id == mug.id
    ));
    let yen = t
        .order_to(&buyer, &[(&mug, 2)], address_in("JP"))
        .await
        .expect("placed");
    assert_eq!(
        (
            yen.currency.as_str(),
            yen.market.as_str(),
            yen.items[0].unit_price.minor(),
            yen.total.minor()
        ),
        ("JPY", "jp", 1_941, 3_882)
    );
    let fx = yen.fx.expect("a converted price keeps its rate");
    assert_eq!(
        (fx.from.as_str(), fx.to.as_str(), fx.source),
        ("USD", "JPY", RateSource::Manual)
    );
    let euro = t
        .order_to(&buyer, &[(&mug, 1)], address_in("DE"))
        .await
        .expect("placed");
    assert_eq!(
        (euro.currency.as_str(), euro.total.minor(), euro.fx),
        ("EUR", 1_150, None)
    );
}

#[tokio::test]
async fn markets_and_rates_are_cached_for_config_cache_seconds() {
    let t = TestApp::spawn().await;
    let mug = shop_abroad(&t).await;
    let buyer = customer();
    let first = t
        .order_to(&buyer, &[(&mug, 1)], address_in("KW"))
        .await
        .expect("placed");
    assert_eq!(first.total.minor(), 3_840);
    fx::put_rates(&t.app, &admin(), manual(json!({"KWD": "0.4"})))
        .await
        .expect("set");
    // This function read the rates a moment ago: it keeps them up to 60 s.
    let cached = t
        .order_to(&buyer, &[(&mug, 1)], address_in("KW"))
        .await
        .expect("placed");
    assert_eq!(cached.total.minor(), 3_840);
    // Without a cache, the change is seen at once: 12.50 × 0.4 = 5.000.
    let fresh = t.reconfigured(&[("CONFIG_CACHE_SECONDS", "0")]);
    let read = products::get_product(&fresh, &mug.id, Some(&country("KW")))
        .await
        .expect("read");
    assert_eq!(read.price.map(|p| p.minor()), Some(5_000));
}

/// Starts the order's payment through the stand-in (`intent`), and checks
/// the amount Stripe was asked for.
async fn start_payment(t: &TestApp, stub: &Stub, order: &Order, intent: &str, units: &str, code: &str) {
    stub.respond(
        200,
        json!({"id": intent, "client_secret": format!("{intent}_secret")}),
    );
    let payment = payments::start_payment(&t.app, &customer_of(order), &order.id)
        .await
        .expect("started")
        .into_payment();
    assert_eq!((payment.amount, payment.currency), (order.total, order.currency));
    let asked = stub.seen().into_iter().last().expect("a request").form();
    let field = |name: &str| asked.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    assert_eq!(
        (field("amount").as_deref(), field("currency").as_deref()),
        (Some(units), Some(code)),
        "the provider's units"
    );
}

fn customer_of(order: &Order) -> shared::model::auth::Principal {
    shared::model::auth::Principal {
        user_id: order.user_id.clone(),
        role: shared::model::auth::Role::Customer,
        verified: true,
    }
}

#[tokio::test]
async fn orders_are_paid_and_refunded_in_the_markets_currency_in_the_providers_units() {
    let stub = Stub::start().await;
    let t = TestApp::spawn_with(&[
        ("PAYMENT_PROVIDER", "stripe"),
        ("STRIPE_API_KEY", "sk_test_selling"),
        ("STRIPE_API_BASE", &stub.url),
    ])
    .await;
    let mug = shop_abroad(&t).await;
    let buyer = customer();
    let yen = t
        .order_to(&buyer, &[(&mug, 1)], address_in("JP"))
        .await
        .expect("placed");
    let dinar = t
        .order_to(&buyer, &[(&mug, 1)], address_in("KW"))
        .await
        .expect("placed");
    let krona = t
        .order_to(&buyer, &[(&mug, 1)], address_in("IS"))
        .await
        .expect("placed");
    start_payment(&t, &stub, &yen, "pi_jpy", "1941", "jpy").await;
    start_payment(&t, &stub, &dinar, "pi_kwd", "3840", "kwd").await;
    // ISK has no minor unit, but Stripe counts it in hundredths.
    start_payment(&t, &stub, &krona, "pi_isk", "159500", "isk").await;

    // The webhook checks the amount back in the same units: ¥1,941 reported
    // as 194100 (two decimals assumed) does not pay the order; the money
    // taken goes back.
    let other = customer();
    let wrong = t
        .order_to(&other, &[(&mug, 1)], address_in("JP"))
        .await
        .expect("placed");
    start_payment(&t, &stub, &wrong, "pi_wrong", "1941", "jpy").await;
    stub.respond(
        200,
        json!({"id": "re_wrong", "object": "refund", "status": "succeeded"}),
    );
    let (header, body) = payment_succeeded(TEST_WEBHOOK_SECRET, "pi_wrong", &wrong, 194_100, "jpy");
    payments::handle_webhook(&t.app, Some(&header), &body)
        .await
        .expect("answered");
    assert_eq!(t.status(&wrong).await, OrderStatus::PendingPayment);
    let returned = stub.seen().into_iter().last().expect("a request");
    assert_eq!(returned.path, "/v1/refunds");
    assert!(
        returned
            .form()
            .contains(&("payment_intent".into(), "pi_wrong".into()))
    );
    for (order, intent, units, code) in [
        (&yen, "pi_jpy", 1_941, "jpy"),
        (&dinar, "pi_kwd", 3_840, "kwd"),
        (&krona, "pi_isk", 159_500, "isk"),
    ] {
        let (header, body) = payment_succeeded(TEST_WEBHOOK_SECRET, intent, order, units, code);
        payments::handle_webhook(&t.app, Some(&header), &body)
            .await
            .expect("answered");
        assert_eq!(t.status(order).await, OrderStatus::Paid, "{code}");
    }

    // A rate change after ordering changes nothing of the order, its
    // payment or its refund.
    fx::put_rates(&t.app, &admin(), manual(json!({"KWD": "0.4"})))
        .await
        .expect("set");
    let kept = t
        .app
        .store
        .get_order(&dinar.id)
        .await
        .expect("read")
        .expect("there");
    assert_eq!((kept.total, kept.fx), (dinar.total, dinar.fx));
    refunds::refund_order(&t.app, &buyer, &dinar.id)
        .await
        .expect("accepted");
    stub.respond(
        200,
        json!({"id": "re_kwd", "object": "refund", "status": "succeeded"}),
    );
    let response = t.deliver("refunds", refunds::handle_message).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(t.status(&dinar).await, OrderStatus::Refunded);
    let refund = stub.seen().into_iter().last().expect("a request");
    assert_eq!(refund.path, "/v1/refunds");
    let form = refund.form();
    assert!(form.contains(&("amount".into(), "3840".into())), "{form:?}");
    assert!(form.contains(&("payment_intent".into(), "pi_kwd".into())));
}
