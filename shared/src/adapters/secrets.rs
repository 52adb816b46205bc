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

use futures::future::try_join_all;

use crate::foundation::error::BoxError;

/// The settings that are secrets.
pub const SECRETS: [&str; 4] = [
    "JWT_SECRET",
    "CURSOR_SECRET",
    "STRIPE_API_KEY",
    "PAYMENT_WEBHOOK_SECRET",
];

/// The environment variable naming `secret`'s parameter.
pub fn parameter_setting(secret: &str) -> String {
    format!("{secret}_PARAMETER")
}

/// Reads, at once and decrypted, every secret whose parameter `lookup`
/// names: secret → value. No client is built, and nothing is read, when no
/// parameter is named. A named parameter that cannot be read fails the cold
/// start, loudly, rather than leaving a function without its key.
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
    let client = aws_sdk_ssm::Client::new(aws);
    let reads = named.into_iter().map(|(secret, parameter)| {
        let client = client.clone();
        async move {
            let answer = client
                .get_parameter()
                .name(&parameter)
                .with_decryption(true)
                .send()
                .await
                .map_err(|err| {
                    format!(
                        "{secret}: the parameter {parameter} could not be read: {}",
                        aws_sdk_ssm::error::DisplayErrorContext(&err)
                    )
                })?;
            let value = answer
                .parameter
                .and_then(|p| p.value)
                .filter(|v| !v.is_empty())
                .ok_or_else(|| format!("{secret}: the parameter {parameter} is empty"))?;
            Ok::<_, BoxError>((secret.to_owned(), value))
        }
    });
    Ok(try_join_all(reads).await?.into_iter().collect())
}
