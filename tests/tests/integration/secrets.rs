//! Secrets from Parameter Store (the emulator's SSM): what a function reads
//! at cold start when its environment names its secrets' parameters.

use std::collections::HashMap;

use aws_sdk_ssm::types::ParameterType;
use shared::Config;
use shared::adapters::secrets::from_parameter_store;
use shop_tests::{emulator_config, unique};

#[tokio::test]
async fn secrets_are_read_from_parameter_store_and_win_over_the_environment() {
    let aws = emulator_config().await;
    let ssm = aws_sdk_ssm::Client::new(&aws);
    let prefix = format!("/{}", unique("shop-secrets"));
    let jwt = "token-key-from-parameter-store-0123456789abcdef";
    let cursor = "cursor-key-from-parameter-store-0123456789abcdef";
    for (name, value) in [("jwt", jwt), ("cursor", cursor)] {
        ssm.put_parameter()
            .name(format!("{prefix}/{name}"))
            .value(value)
            .r#type(ParameterType::SecureString)
            .send()
            .await
            .expect("put");
    }
    let env: HashMap<String, String> = HashMap::from([
        ("JWT_SECRET_PARAMETER".into(), format!("{prefix}/jwt")),
        ("CURSOR_SECRET_PARAMETER".into(), format!("{prefix}/cursor")),
        (
            "JWT_SECRET".into(),
            "a-value-in-the-environment-0123456789abcdef".into(),
        ),
        ("TABLE_NAME".into(), "shop".into()),
    ]);
    let secrets = from_parameter_store(&aws, |name| env.get(name).cloned())
        .await
        .expect("read");
    assert_eq!(secrets.len(), 2, "only the secrets whose parameter is named");
    let config = Config::from_lookup(|name| secrets.get(name).cloned().or_else(|| env.get(name).cloned()))
        .expect("valid");
    assert_eq!(config.jwt_secret().expect("set").expose(), jwt.as_bytes());
    assert_eq!(config.cursor_secret().expect("set").expose(), cursor.as_bytes());

    // Locally nothing is named: nothing is read, the environment serves.
    assert!(
        from_parameter_store(&aws, |_| None)
            .await
            .expect("nothing to read")
            .is_empty()
    );
    // A named parameter that is not there stops the cold start, naming the
    // secret and the parameter.
    let missing = format!("{prefix}/missing");
    let err = from_parameter_store(&aws, |name| {
        (name == "STRIPE_API_KEY_PARAMETER").then(|| missing.clone())
    })
    .await
    .expect_err("missing");
    let message = err.to_string();
    assert!(
        message.contains("STRIPE_API_KEY") && message.contains(&missing),
        "{message}"
    );
}

/// A cold start reads all of a function's secrets in one `GetParameters`
/// call, and a throttled call (Parameter Store's account-wide rate, shared
/// by a burst of cold starts) is retried with backoff rather than failing
/// the cold start. Against a stand-in that throttles twice, then answers.
#[tokio::test]
async fn a_cold_start_reads_every_secret_in_one_call_retried_when_throttled() {
    let stub = shop_tests::stub::Stub::start().await;
    let throttled = serde_json::json!({"__type": "ThrottlingException", "message": "Rate exceeded"});
    stub.respond(400, throttled.clone());
    stub.respond(400, throttled);
    stub.respond(
        200,
        serde_json::json!({
            "Parameters": [
                {"Name": "/shop/jwt", "Type": "SecureString", "Value": "jwt-value-0123456789abcdef0123456789", "Version": 1},
                {"Name": "/shop/webhook", "Type": "SecureString", "Value": "whsec_value", "Version": 1}
            ],
            "InvalidParameters": []
        }),
    );
    let emulator = emulator_config().await;
    let mut builder = aws_config::SdkConfig::builder()
        .endpoint_url(&stub.url)
        .behavior_version(aws_config::BehaviorVersion::latest());
    builder.set_region(emulator.region().cloned());
    builder.set_credentials_provider(emulator.credentials_provider());
    builder.set_sleep_impl(emulator.sleep_impl());
    builder.set_time_source(emulator.time_source());
    builder.set_http_client(emulator.http_client());
    let aws = builder.build();
    let env: HashMap<&str, &str> = HashMap::from([
        ("JWT_SECRET_PARAMETER", "/shop/jwt"),
        ("PAYMENT_WEBHOOK_SECRET_PARAMETER", "/shop/webhook"),
    ]);
    let secrets = from_parameter_store(&aws, |name| env.get(name).map(|v| (*v).to_owned()))
        .await
        .expect("read after two throttled attempts");
    assert_eq!(
        secrets.get("PAYMENT_WEBHOOK_SECRET").map(String::as_str),
        Some("whsec_value")
    );
    assert_eq!(secrets.len(), 2);
    let seen = stub.seen();
    assert_eq!(seen.len(), 3, "one call, tried three times");
    for call in &seen {
        assert_eq!(call.header("x-amz-target"), Some("AmazonSSM.GetParameters"));
        let body: serde_json::Value = serde_json::from_str(&call.body).expect("json");
        assert_eq!(body["Names"], serde_json::json!(["/shop/jwt", "/shop/webhook"]));
        assert_eq!(body["WithDecryption"], true);
    }
}
