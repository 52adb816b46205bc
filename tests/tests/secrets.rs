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
