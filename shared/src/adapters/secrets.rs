//! Secrets from SSM Parameter Store, read once per cold start and kept for
//! the life of the container.
//!
//! In production a function's environment names its secrets' parameters
//! (`JWT_SECRET_PARAMETER=/shop/jwt-secret`), never the secrets, and its
//! policy may read exactly those parameters. Locally (and in the tests)
//! the environment and `local.env` give the values themselves
//! (`JWT_SECRET=...`); a value in the environment wins over nothing, and a
//! named parameter wins over the environment.

use std::collections::HashMap;

use crate::foundation::error::BoxError;

/// The settings that are secrets.
pub const SECRETS: [&str; 6] = [
    "JWT_SECRET",
    "CURSOR_SECRET",
    "ACCOUNT_TOKEN_SECRET",
    "STRIPE_API_KEY",
    "PAYMENT_WEBHOOK_SECRET",
    "CARRIER_WEBHOOK_SECRET",
];

/// The environment variable naming `secret`'s parameter.
pub fn parameter_setting(secret: &str) -> String {
    format!("{secret}_PARAMETER")
}

/// How the cold start's one Parameter Store call is retried: Parameter
/// Store answers `ThrottlingException` past its account-wide rate (40
/// transactions a second by default, shared by every cold start), and the
/// SDK's standard strategy retries that with exponential backoff and full
/// jitter (a random wait up to 0.1, 0.2, 0.4, ... s, at most 2 s), so that
/// a burst of new containers spreads out instead of failing together. Six
/// attempts wait about 3 s in the worst case, inside Lambda's 10 s init.
pub fn retries() -> aws_config::retry::RetryConfig {
    aws_config::retry::RetryConfig::standard()
        .with_max_attempts(6)
        .with_initial_backoff(std::time::Duration::from_millis(100))
        .with_max_backoff(std::time::Duration::from_secs(2))
}

/// Reads, decrypted and in one `GetParameters` call, every secret whose
/// parameter `lookup` names: secret → value. No client is built, and
/// nothing is read, when no parameter is named. A named parameter that
/// cannot be read fails the cold start, loudly, rather than leaving a
/// function without its key.
pub async fn from_parameter_store(
    aws: &aws_config::SdkConfig,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<HashMap<String, String>, BoxError> {
    let named: Vec<(&str, String)> = SECRETS
        .into_iter()
        .filter_map(|secret| {
            lookup(&parameter_setting(secret))
                .filter(|name| !name.is_empty())
                .map(|name| (secret, name))
        })
        .collect();
    if named.is_empty() {
        return Ok(HashMap::new());
    }
    let client = aws_sdk_ssm::Client::from_conf(
        aws_sdk_ssm::config::Builder::from(aws)
            .retry_config(retries())
            .interceptor(crate::adapters::calls::Recorder)
            .build(),
    );
    let mut names: Vec<String> = named.iter().map(|(_, parameter)| parameter.clone()).collect();
    names.sort();
    names.dedup();
    let answer = client
        .get_parameters()
        .set_names(Some(names))
        .with_decryption(true)
        .send()
        .await
        .map_err(|err| {
            let names: Vec<String> = named.iter().map(|(s, p)| format!("{s} ({p})")).collect();
            format!(
                "the parameters of {} could not be read: {}",
                names.join(", "),
                aws_sdk_ssm::error::DisplayErrorContext(&err)
            )
        })?;
    let values: HashMap<String, String> = answer
        .parameters
        .unwrap_or_default()
        .into_iter()
        .filter_map(|p| Some((p.name?, p.value?)))
        .filter(|(_, value)| !value.is_empty())
        .collect();
    named
        .into_iter()
        .map(|(secret, parameter)| match values.get(&parameter) {
            Some(value) => Ok((secret.to_owned(), value.clone())),
            None => Err(format!("{secret}: the parameter {parameter} is missing or empty").into()),
        })
        .collect()
}
