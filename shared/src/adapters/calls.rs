//! Which AWS operations a function performs, recorded when a setting asks
//! for it (never in production): the evidence of the least-privilege
//! report (`scripts/least_privilege.py`), which compares, per function,
//! what it did in the end-to-end, fuzzing and chaos runs with what
//! `template.yaml` grants it.
//!
//! With `SHOP_RECORD_AWS_CALLS=<dir>`, every SDK client of the shop (the
//! table, the queues, Parameter Store) appends each IAM action it performs
//! for the first time in its process (`dynamodb:PutItem`) to
//! `<dir>/<function>.calls`, the function named by Lambda's
//! `AWS_LAMBDA_FUNCTION_NAME`. Unset, the interceptor does nothing but
//! check an `Option`.

use std::collections::HashSet;
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

use aws_sdk_dynamodb::config::interceptors::BeforeSerializationInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, RuntimeComponents};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;

/// The setting naming the folder to record into.
pub const SETTING: &str = "SHOP_RECORD_AWS_CALLS";

/// The SDK interceptor; add it to every client the shop builds.
#[derive(Debug, Clone, Copy, Default)]
pub struct Recorder;

struct Sink {
    file: PathBuf,
    seen: Mutex<HashSet<String>>,
}

fn sink() -> Option<&'static Sink> {
    static SINK: OnceLock<Option<Sink>> = OnceLock::new();
    SINK.get_or_init(|| {
        let dir = std::env::var_os(SETTING).filter(|d| !d.is_empty())?;
        let function = std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|_| "unknown".into());
        let name: String = function
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        Some(Sink {
            file: PathBuf::from(dir).join(format!("{name}.calls")),
            seen: Mutex::new(HashSet::new()),
        })
    })
    .as_ref()
}

/// The IAM action of an SDK operation: `dynamodb:PutItem` for DynamoDB's.
/// SES v2 and EventBridge authorise under their services' older prefixes
/// (`ses:SendEmail`, `events:PutEvents`).
pub fn action(service: &str, operation: &str) -> String {
    let service = service.to_ascii_lowercase();
    let prefix = match service.as_str() {
        "sesv2" => "ses",
        "eventbridge" => "events",
        other => other,
    };
    format!("{prefix}:{operation}")
}

impl Intercept for Recorder {
    fn name(&self) -> &'static str {
        "ShopRecordAwsCalls"
    }

    // Before serialisation, not before execution: a client's interceptors
    // run their `read_before_execution` before the operation's settings
    // (which name it) are in the bag.
    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let (Some(sink), Some(metadata)) = (sink(), cfg.load::<Metadata>()) else {
            return Ok(());
        };
        for action in actions(metadata, _context.input()) {
            sink.record(action);
        }
        Ok(())
    }
}

/// The IAM actions one SDK call needs. A DynamoDB transaction is authorised
/// item by item (`TransactWriteItems` is no IAM action): its puts need
/// `PutItem`, its updates `UpdateItem`, its deletes `DeleteItem` and its
/// condition checks `ConditionCheckItem`.
fn actions(
    metadata: &Metadata,
    input: &aws_smithy_runtime_api::client::interceptors::context::Input,
) -> Vec<String> {
    use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsInput;
    if let Some(transaction) = input.downcast_ref::<TransactWriteItemsInput>() {
        let mut actions: Vec<String> = transaction
            .transact_items()
            .iter()
            .filter_map(|item| {
                let operation = if item.put().is_some() {
                    "PutItem"
                } else if item.update().is_some() {
                    "UpdateItem"
                } else if item.delete().is_some() {
                    "DeleteItem"
                } else if item.condition_check().is_some() {
                    "ConditionCheckItem"
                } else {
                    return None;
                };
                Some(action("DynamoDB", operation))
            })
            .collect();
        actions.sort();
        actions.dedup();
        return actions;
    }
    vec![action(metadata.service(), metadata.name())]
}

impl Sink {
    fn record(&self, action: String) {
        let first = self
            .seen
            .lock()
            .map(|mut seen| seen.insert(action.clone()))
            .unwrap_or(false);
        if first {
            // One short append per action and process: lines from several
            // processes never interleave within a line.
            let written = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.file)
                .and_then(|mut file| file.write_all(format!("{action}\n").as_bytes()));
            if let Err(err) = written {
                tracing::warn!(error = %err, "could not record an AWS operation");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsInput;
    use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, Put, TransactWriteItem, Update};
    use aws_smithy_runtime_api::client::interceptors::context::Input;
    use aws_smithy_runtime_api::client::orchestrator::Metadata;

    #[test]
    fn a_transaction_needs_the_actions_of_its_items() {
        let key = || AttributeValue::S("k".into());
        let put = || {
            TransactWriteItem::builder()
                .put(
                    Put::builder()
                        .table_name("t")
                        .item("PK", key())
                        .build()
                        .expect("put"),
                )
                .build()
        };
        let update = TransactWriteItem::builder()
            .update(
                Update::builder()
                    .table_name("t")
                    .key("PK", key())
                    .update_expression("SET a = :a")
                    .build()
                    .expect("update"),
            )
            .build();
        let check = TransactWriteItem::builder()
            .condition_check(
                ConditionCheck::builder()
                    .table_name("t")
                    .key("PK", key())
                    .condition_expression("attribute_exists(PK)")
                    .build()
                    .expect("check"),
            )
            .build();
        let transaction = TransactWriteItemsInput::builder()
            .transact_items(put())
            .transact_items(update)
            .transact_items(put())
            .transact_items(check)
            .build()
            .expect("input");
        let metadata = Metadata::new("TransactWriteItems", "DynamoDB");
        assert_eq!(
            super::actions(&metadata, &Input::erase(transaction)),
            [
                "dynamodb:ConditionCheckItem",
                "dynamodb:PutItem",
                "dynamodb:UpdateItem"
            ]
        );
        let get = aws_sdk_dynamodb::operation::get_item::GetItemInput::builder()
            .table_name("t")
            .build()
            .expect("input");
        let metadata = Metadata::new("GetItem", "DynamoDB");
        assert_eq!(
            super::actions(&metadata, &Input::erase(get)),
            ["dynamodb:GetItem"]
        );
    }

    #[test]
    fn actions_are_iam_actions() {
        assert_eq!(super::action("DynamoDB", "PutItem"), "dynamodb:PutItem");
        assert_eq!(super::action("SQS", "SendMessage"), "sqs:SendMessage");
        assert_eq!(super::action("SSM", "GetParameters"), "ssm:GetParameters");
        // The names the SDK's operations give (`Metadata::new("SendEmail", "SESv2")`).
        assert_eq!(super::action("SESv2", "SendEmail"), "ses:SendEmail");
        assert_eq!(super::action("EventBridge", "PutEvents"), "events:PutEvents");
    }
}
