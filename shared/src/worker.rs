//! Entry points of the functions that no HTTP request invokes: scheduled
//! (EventBridge) ones now, queue workers as they arrive.

use std::future::Future;

use aws_lambda_events::eventbridge::EventBridgeEvent;
use lambda_runtime::{LambdaEvent, service_fn};
use serde::Serialize;
use serde_json::Value;

/// The event EventBridge sends on a schedule.
pub type ScheduledEvent = EventBridgeEvent<Value>;

use crate::error::Error;
use crate::{App, BoxError, runtime};

/// Runs a scheduled function: `handler` gets each EventBridge event; its
/// report is logged and returned; an error fails the invocation (so
/// EventBridge retries it and the error metric counts it).
pub fn run_scheduled<F, Fut, R>(handler: F) -> Result<(), BoxError>
where
    F: Fn(&'static App, EventBridgeEvent<Value>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<R, Error>> + Send + 'static,
    R: Serialize + std::fmt::Debug + Send + 'static,
{
    runtime::start(|app| {
        lambda_runtime::run(service_fn(move |event: LambdaEvent<EventBridgeEvent<Value>>| {
            let run = handler(app, event.payload);
            async move {
                match run.await {
                    Ok(report) => {
                        tracing::info!(?report, "scheduled run finished");
                        Ok(report)
                    }
                    Err(err) => {
                        tracing::error!(error = %err, "scheduled run failed");
                        Err(lambda_runtime::Error::from(err.to_string()))
                    }
                }
            }
        }))
    })
}
