//! What leaves the shop: emails through SES v2 and events on the shop's
//! EventBridge bus. Sends what it is given; deciding what and when is the
//! use cases'.

use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};

use crate::foundation::error::Error;
use crate::model::emails::Rendered;
use crate::model::users::Email;

/// The SES and EventBridge clients, with the sender and the bus.
#[derive(Debug, Clone)]
pub struct Outbound {
    ses: aws_sdk_sesv2::Client,
    events: aws_sdk_eventbridge::Client,
    from: String,
    configuration_set: Option<String>,
    bus: String,
}

fn content(data: &str) -> Result<Content, Error> {
    Content::builder()
        .data(data)
        .charset("UTF-8")
        .build()
        .map_err(Error::internal)
}

impl Outbound {
    /// Emails from `from` (with `configuration_set`), events to `bus`.
    pub fn new(
        aws: &aws_config::SdkConfig,
        from: String,
        configuration_set: Option<String>,
        bus: String,
    ) -> Self {
        Self {
            ses: aws_sdk_sesv2::Client::from_conf(
                aws_sdk_sesv2::config::Builder::from(aws)
                    .retry_config(super::retries())
                    .interceptor(super::calls::Recorder)
                    .build(),
            ),
            events: aws_sdk_eventbridge::Client::from_conf(
                aws_sdk_eventbridge::config::Builder::from(aws)
                    .retry_config(super::retries())
                    .interceptor(super::calls::Recorder)
                    .build(),
            ),
            from,
            configuration_set,
            bus,
        }
    }

    /// Sends `email` to `to` (one `SendEmail`): SES's message id.
    pub async fn send_email(&self, to: &Email, email: &Rendered) -> Result<String, Error> {
        let message = Message::builder()
            .subject(content(&email.subject)?)
            .body(
                Body::builder()
                    .text(content(&email.text)?)
                    .html(content(&email.html)?)
                    .build(),
            )
            .build();
        let output = self
            .ses
            .send_email()
            .from_email_address(&self.from)
            .destination(Destination::builder().to_addresses(to.as_str()).build())
            .content(EmailContent::builder().simple(message).build())
            .set_configuration_set_name(self.configuration_set.clone())
            .send()
            .await?;
        Ok(output.message_id.unwrap_or_default())
    }

    /// Publishes one event (one `PutEvents` of one entry); an entry the bus
    /// refused is an error, as a failed request is.
    pub async fn publish(&self, detail_type: &str, source: &str, detail: &str) -> Result<(), Error> {
        let output = self
            .events
            .put_events()
            .entries(
                PutEventsRequestEntry::builder()
                    .event_bus_name(&self.bus)
                    .source(source)
                    .detail_type(detail_type)
                    .detail(detail)
                    .build(),
            )
            .send()
            .await?;
        if output.failed_entry_count > 0 {
            let reason = output
                .entries
                .unwrap_or_default()
                .into_iter()
                .find_map(|entry| entry.error_code)
                .unwrap_or_default();
            return Err(Error::Unavailable(format!(
                "the event bus refused the event: {reason}"
            )));
        }
        Ok(())
    }
}

/// Creates what sending needs where it is missing (the local stack and
/// the tests; a deployment has them from `template.yaml`): the sender's
/// SES identity, the bus, and a queue `queue_name` that a rule fills with
/// every event the shop publishes (the stand-in for a consumer). The
/// queue's URL.
pub async fn create(
    aws: &aws_config::SdkConfig,
    from: &str,
    bus: &str,
    queue_name: &str,
) -> Result<String, Error> {
    let ses = aws_sdk_sesv2::Client::new(aws);
    // An identity or a bus made by an earlier run is as good.
    let _ = ses.create_email_identity().email_identity(from).send().await;
    let events = aws_sdk_eventbridge::Client::new(aws);
    let _ = events.create_event_bus().name(bus).send().await;
    let sqs = aws_sdk_sqs::Client::new(aws);
    let url = sqs
        .create_queue()
        .queue_name(queue_name)
        .send()
        .await?
        .queue_url
        .unwrap_or_default();
    let arn = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await?
        .attributes
        .and_then(|mut attributes| attributes.remove(&aws_sdk_sqs::types::QueueAttributeName::QueueArn))
        .ok_or_else(|| Error::internal("the events queue has no ARN"))?;
    events
        .put_rule()
        .name("shop-events-to-queue")
        .event_bus_name(bus)
        .event_pattern(format!(r#"{{"source": ["{}"]}}"#, crate::model::events::SOURCE))
        .send()
        .await?;
    events
        .put_targets()
        .rule("shop-events-to-queue")
        .event_bus_name(bus)
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id("queue")
                .arn(arn)
                .build()
                .map_err(Error::internal)?,
        )
        .send()
        .await?;
    Ok(url)
}
