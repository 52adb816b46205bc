//! The app under test: an [`App`] on a table and queues of its own in the
//! emulator, driven through its use cases and workers.

use shared::adapters::queue;
use shared::adapters::store;
use shared::foundation::secret::Secret;
use shared::model::messages::Message;
use shared::{App, Config};

use crate::{require_env, unique};

pub const TEST_JWT_SECRET: &str = "integration-tests-jwt-secret-0123456789abcdef";
pub const TEST_CURSOR_SECRET: &str = "integration-tests-cursor-secret-0123456789abc";
pub const TEST_ACCOUNT_TOKEN_SECRET: &str = "integration-tests-account-token-secret-0123456789";

/// An [`App`] on a table and queues of its own, created in the emulator.
pub struct TestApp {
    pub app: App,
    pub sqs: aws_sdk_sqs::Client,
    pub queues: Vec<(queue::QueueSpec, queue::QueueUrls)>,
    settings: Vec<(String, String)>,
    aws: aws_config::SdkConfig,
}

pub const TEST_WEBHOOK_SECRET: &str = "whsec_integration_tests";
pub const TEST_CARRIER_SECRET: &str = "carrier_integration_tests_secret";

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(&[]).await
    }

    /// With some settings overridden (`("SHIPPING_QUEUE_URL", "...")`, ...).
    pub async fn spawn_with(overrides: &[(&str, &str)]) -> Self {
        let aws = emulator_config().await;
        let table = unique("test");
        let dynamodb = aws_sdk_dynamodb::Client::new(&aws);
        store::create_table(&dynamodb, &table)
            .await
            .expect("create the test table");
        let sqs = aws_sdk_sqs::Client::new(&aws);
        // A short visibility timeout, so that retries and the DLQ show quickly.
        let queues = queue::create_queues(&sqs, &format!("{table}-"), Some(1))
            .await
            .expect("create the test queues");
        let mut settings: Vec<(String, String)> = vec![
            ("TABLE_NAME".into(), table.clone()),
            ("JWT_SECRET".into(), TEST_JWT_SECRET.into()),
            ("CURSOR_SECRET".into(), TEST_CURSOR_SECRET.into()),
            ("ACCOUNT_TOKEN_SECRET".into(), TEST_ACCOUNT_TOKEN_SECRET.into()),
            ("PAYMENT_WEBHOOK_SECRET".into(), TEST_WEBHOOK_SECRET.into()),
            ("CARRIER".into(), "sandbox".into()),
            ("CARRIER_WEBHOOK_SECRET".into(), TEST_CARRIER_SECRET.into()),
        ];
        for (spec, urls) in &queues {
            settings.push((spec.url_env.into(), urls.url.clone()));
        }
        for (name, value) in overrides {
            settings.retain(|(n, _)| n != name);
            settings.push(((*name).into(), (*value).into()));
        }
        Self {
            app: app(&settings, &aws),
            sqs,
            queues,
            settings,
            aws,
        }
    }

    /// Another app on the same table and queues, with some settings changed
    /// (a broken queue URL, another provider).
    pub fn reconfigured(&self, overrides: &[(&str, &str)]) -> App {
        let mut settings = self.settings.clone();
        for (name, value) in overrides {
            settings.retain(|(n, _)| n != name);
            settings.push(((*name).into(), (*value).into()));
        }
        app(&settings, &self.aws)
    }

    /// Another app on the same table and queues whose DynamoDB and SQS
    /// requests pass through a fault-injecting proxy; the test scripts its
    /// faults (`faults.script(...)`).
    pub async fn faulty(&self) -> (App, std::sync::Arc<stress::faults::Faults>) {
        let endpoint = require_env("AWS_ENDPOINT_URL");
        let proxy = stress::proxy::spawn(&endpoint, stress::proxy::Options::default())
            .await
            .expect("start the proxy");
        // A configuration without the environment's (whose
        // `AWS_ENDPOINT_URL` would win over the endpoint set here).
        let mut builder = aws_config::SdkConfig::builder()
            .endpoint_url(&proxy.url)
            .behavior_version(aws_config::BehaviorVersion::latest());
        builder.set_region(self.aws.region().cloned());
        builder.set_credentials_provider(self.aws.credentials_provider());
        builder.set_sleep_impl(self.aws.sleep_impl());
        builder.set_time_source(self.aws.time_source());
        builder.set_http_client(self.aws.http_client());
        let aws = builder.build();
        (app(&self.settings, &aws), proxy.faults)
    }

    /// Every message now on a queue (received with a long visibility timeout,
    /// so each is returned once), bodies parsed.
    pub async fn drain(&self, url: &str) -> Vec<(aws_sdk_sqs::types::Message, Result<Message, String>)> {
        let mut all = Vec::new();
        loop {
            let received = self
                .sqs
                .receive_message()
                .queue_url(url)
                .max_number_of_messages(10)
                .visibility_timeout(60)
                .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::All)
                .send()
                .await
                .expect("receive")
                .messages
                .unwrap_or_default();
            if received.is_empty() {
                return all;
            }
            for message in received {
                let parsed = Message::parse(message.body.as_deref().unwrap_or_default());
                all.push((message, parsed));
            }
        }
    }

    /// The URLs of a queue and its DLQ.
    pub fn queue(&self, name: &str) -> &queue::QueueUrls {
        &self
            .queues
            .iter()
            .find(|(spec, _)| spec.name == name)
            .expect("a known queue")
            .1
    }

    pub fn secret(&self) -> Secret {
        Secret::new(TEST_JWT_SECRET)
    }
}

fn app(settings: &[(String, String)], aws: &aws_config::SdkConfig) -> App {
    let config = Config::from_lookup(|name| settings.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone()))
        .expect("test configuration");
    App::new(config, aws).expect("test app")
}

/// The SDK configuration for the emulator that `make test` started
/// (`AWS_ENDPOINT_URL`).
pub async fn emulator_config() -> aws_config::SdkConfig {
    require_env("AWS_ENDPOINT_URL");
    shared::adapters::aws_config().expect("an HTTPS client")
}
