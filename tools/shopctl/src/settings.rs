//! The settings `shopctl` runs with: the environment, with the defaults
//! file beneath it, and the AWS configuration they give.

use std::collections::HashMap;
use std::path::PathBuf;

use shared::BoxError;

/// The environment, with the defaults file beneath it.
pub struct Settings(HashMap<String, String>);

impl Settings {
    pub fn load(env_file: &str) -> Result<Self, BoxError> {
        let mut values = HashMap::new();
        if env_file != "none" {
            let path = PathBuf::from(env_file);
            let text = std::fs::read_to_string(&path)
                .map_err(|err| format!("cannot read {}: {err}", path.display()))?;
            for line in text.lines().map(str::trim) {
                if let Some((key, value)) = line.split_once('=').filter(|_| !line.starts_with('#')) {
                    values.insert(key.trim().to_owned(), value.trim().to_owned());
                }
            }
            if std::env::var_os("AWS_ENDPOINT_URL").is_none()
                && let Some(port) = values.get("EMULATOR_PORT")
            {
                values.insert("AWS_ENDPOINT_URL".into(), format!("http://127.0.0.1:{port}"));
            }
        }
        values.extend(std::env::vars());
        Ok(Self(values))
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str).filter(|v| !v.is_empty())
    }

    pub fn require(&self, key: &str) -> Result<&str, BoxError> {
        self.get(key).ok_or_else(|| format!("{key} is not set").into())
    }

    pub async fn aws(&self) -> aws_config::SdkConfig {
        let mut loader = shared::adapters::aws_defaults().expect("an HTTPS client");
        if let Some(endpoint) = self.get("AWS_ENDPOINT_URL") {
            loader = loader.endpoint_url(endpoint);
        }
        if let Some(region) = self.get("AWS_REGION") {
            loader = loader.region(aws_config::Region::new(region.to_owned()));
        }
        if let (Some(id), Some(secret)) = (self.get("AWS_ACCESS_KEY_ID"), self.get("AWS_SECRET_ACCESS_KEY")) {
            let credentials = aws_sdk_dynamodb::config::Credentials::new(id, secret, None, None, "shopctl");
            loader = loader.credentials_provider(credentials);
        }
        loader.load().await
    }
}

impl Settings {
    /// The app the functions would build from these settings.
    pub fn app(&self, aws: &aws_config::SdkConfig) -> Result<shared::App, BoxError> {
        Ok(shared::App::new(
            shared::Config::from_lookup(|key| self.get(key).map(str::to_owned))?,
            aws,
        )?)
    }

    /// The table named by `TABLE_NAME`.
    pub fn store(&self, aws: &aws_config::SdkConfig) -> Result<shared::adapters::store::Store, BoxError> {
        Ok(shared::adapters::store::Store::new(
            aws_sdk_dynamodb::Client::new(aws),
            self.require("TABLE_NAME")?,
        ))
    }
}
