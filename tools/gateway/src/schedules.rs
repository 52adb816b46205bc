//! Schedule emulation: fires each scheduled function on a fixed local
//! interval (`SCHEDULE_INTERVAL_SECONDS`) with the event EventBridge sends.

use std::time::Duration;

use serde_json::json;

use crate::lambda::Invoker;
use crate::template::{Event, Function};

/// The functions to fire, with their schedule expressions.
pub fn scheduled(functions: &[Function]) -> Vec<(String, String)> {
    functions
        .iter()
        .flat_map(|function| {
            function.events.iter().filter_map(|event| match event {
                Event::Schedule { expression } => Some((function.binary.clone(), expression.clone())),
                _ => None,
            })
        })
        .collect()
}

/// An EventBridge "Scheduled Event" for `rule`.
pub fn event(rule: &str, tick: u64) -> serde_json::Value {
    let now = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    json!({
        "version": "0",
        "id": format!("local-{rule}-{tick}"),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": now.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
        "region": "us-east-1",
        "resources": [format!("arn:aws:events:us-east-1:123456789012:rule/{rule}")],
        "detail": {}
    })
}

/// Whether a schedule is slower than a minute's (the daily exchange-rate
/// refresh): locally it fires once at start, so that a new stack has what
/// a deployed one has had since its first run, and then hourly
/// ([`SLOW_INTERVAL`]), not every local interval, so that it does not
/// write far more often than deployed (`make capacity` meters every write).
pub fn is_slow(expression: &str) -> bool {
    !expression.starts_with("rate(1 minute")
}

/// How often a slow schedule fires locally after its first run.
pub const SLOW_INTERVAL: Duration = Duration::from_secs(3600);

/// Fires `binary` every `interval` (and at once when `at_start`), forever.
pub async fn run(invoker: Invoker, binary: String, interval: Duration, at_start: bool) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    if !at_start {
        ticker.tick().await; // the first tick is immediate; wait one interval first
    }
    for tick in 1.. {
        ticker.tick().await;
        let payload = serde_json::to_vec(&event(&binary, tick)).unwrap_or_default();
        match invoker.invoke(&binary, payload, None).await {
            Ok(report) => eprintln!("gateway: schedule {binary}: {}", String::from_utf8_lossy(&report)),
            Err(err) => eprintln!("gateway: schedule {binary}: {err}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_slow_schedules_fire_at_start() {
        assert!(!is_slow("rate(1 minute)"));
        assert!(is_slow("cron(30 16 * * ? *)"));
    }

    #[test]
    fn events_are_what_eventbridge_sends() {
        let value = event("orders-expire", 3);
        let parsed: aws_lambda_events::eventbridge::EventBridgeEvent<serde_json::Value> =
            serde_json::from_value(value).expect("an EventBridge event");
        assert_eq!(parsed.detail_type, "Scheduled Event");
        assert_eq!(parsed.source, "aws.events");
    }
}
