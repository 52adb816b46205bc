//! Markets against the emulator: the default market from the start, a
//! country in one market at most (under concurrency too), and deleting a
//! market frees its countries.

use serde_json::json;
use shared::Error;
use shared::foundation::input::parse_document;
use shared::model::markets::{MarketCode, MarketSettings, TaxMode};
use shared::usecases::markets;
use shop_tests::fixtures::admin;
use shop_tests::{TestApp, race_rounds};

fn code(text: &str) -> MarketCode {
    MarketCode::parse(text.into()).expect("valid")
}

fn settings(countries: &[&str], currency: &str) -> MarketSettings {
    parse_document(json!({
        "name": "A market", "countries": countries, "currency": currency,
        "tax_mode": "inclusive", "tax_rounding": "line", "price_rounding": "charm", "duties": "ddp",
        "shipping_methods": []
    }))
    .expect("valid")
}

fn countries(market: &shared::model::markets::Market) -> Vec<&str> {
    market.settings.countries.iter().map(|c| c.as_str()).collect()
}

#[tokio::test]
async fn the_default_market_is_there_from_the_start_and_stays() {
    let t = TestApp::spawn().await;
    let listed = markets::list_markets(&t.app).await.expect("listed");
    assert_eq!(listed.len(), 1);
    let default = &listed[0];
    assert!(default.default);
    assert_eq!(default.code.as_str(), "default");
    assert_eq!(default.settings.currency.as_str(), "USD");
    assert_eq!(default.settings.tax_mode, TaxMode::None);
    assert!(default.settings.countries.is_empty());
    assert!(matches!(
        markets::delete_market(&t.app, &admin(), &code("default")).await,
        Err(Error::DefaultMarketStays)
    ));
    let Err(Error::Validation(errors)) =
        markets::put_market(&t.app, &admin(), code("default"), settings(&[], "EUR")).await
    else {
        panic!("the default market's currency changed");
    };
    assert_eq!(errors[0].field, "currency");
    let (replaced, created) = markets::put_market(&t.app, &admin(), code("default"), settings(&[], "USD"))
        .await
        .expect("its settings may change");
    assert!(!created);
    assert_eq!(replaced.settings.tax_mode, TaxMode::Inclusive);
    let read = markets::get_market(&t.app, &code("default")).await.expect("read");
    assert_eq!(read, replaced);
}

#[tokio::test]
async fn a_country_belongs_to_one_market_until_it_is_given_up() {
    let t = TestApp::spawn().await;
    let (eu, created) = markets::put_market(&t.app, &admin(), code("eu"), settings(&["DE", "FR"], "EUR"))
        .await
        .expect("created");
    assert!(created);
    assert_eq!(countries(&eu), ["DE", "FR"]);
    let refused = markets::put_market(&t.app, &admin(), code("dach"), settings(&["AT", "DE"], "EUR")).await;
    let Err(Error::CountryInOtherMarket { country, market }) = refused else {
        panic!("DE was taken twice: {refused:?}");
    };
    assert_eq!((country.as_str(), market.as_str()), ("DE", "eu"));
    assert!(
        matches!(
            markets::get_market(&t.app, &code("dach")).await,
            Err(Error::NotFound)
        ),
        "nothing of the refused market was written (AT stays free)"
    );
    markets::put_market(&t.app, &admin(), code("at"), settings(&["AT"], "EUR"))
        .await
        .expect("AT is free");

    // Replacing gives up what it drops.
    let (eu, created) = markets::put_market(&t.app, &admin(), code("eu"), settings(&["DE"], "EUR"))
        .await
        .expect("replaced");
    assert!(!created);
    assert_eq!(countries(&eu), ["DE"]);
    markets::put_market(&t.app, &admin(), code("fr"), settings(&["FR"], "EUR"))
        .await
        .expect("FR was given up");

    // Deleting gives up everything.
    markets::delete_market(&t.app, &admin(), &code("eu"))
        .await
        .expect("deleted");
    assert!(matches!(
        markets::delete_market(&t.app, &admin(), &code("eu")).await,
        Err(Error::NotFound)
    ));
    markets::put_market(&t.app, &admin(), code("dach"), settings(&["DE"], "CHF"))
        .await
        .expect("DE was given up");
    let listed: Vec<String> = markets::list_markets(&t.app)
        .await
        .expect("listed")
        .into_iter()
        .map(|m| m.code.as_str().to_owned())
        .collect();
    assert_eq!(listed, ["default", "at", "dach", "fr"]);
}

/// Markets racing for one country: exactly one gets it, every other is
/// told which market did, and none is written half.
#[tokio::test]
async fn racing_markets_claim_a_country_once() {
    let t = TestApp::spawn().await;
    for round in 0..race_rounds() {
        let country = ["NL", "BE", "LU", "PT", "IE"][round % 5];
        let contenders: Vec<String> = (0..8).map(|i| format!("m{round}-{i}")).collect();
        let admin = admin();
        let attempts = contenders
            .iter()
            .map(|name| markets::put_market(&t.app, &admin, code(name), settings(&[country], "EUR")));
        let results = futures::future::join_all(attempts).await;
        let winners: Vec<&String> = contenders
            .iter()
            .zip(&results)
            .filter(|(_, r)| r.is_ok())
            .map(|(name, _)| name)
            .collect();
        assert_eq!(winners.len(), 1, "round {round}: {results:?}");
        for result in &results {
            match result {
                Ok(_) => {}
                Err(Error::CountryInOtherMarket { country: c, market }) => {
                    assert_eq!(c, country);
                    assert_eq!(market, winners[0]);
                }
                Err(other) => panic!("round {round}: {other:?}"),
            }
        }
        // Free it for the next round that names it.
        markets::delete_market(&t.app, &admin, &code(winners[0]))
            .await
            .expect("deleted");
    }
    let listed = markets::list_markets(&t.app).await.expect("listed");
    assert_eq!(listed.len(), 1, "only the default is left: {listed:?}");
}
