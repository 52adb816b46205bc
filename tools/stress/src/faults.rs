//! Faults as AWS really produces them, injected into the requests that pass
//! through the proxy: a seeded random share of every request, or a script
//! ("the next `UpdateItem` whose body holds `STOCK`: commit it, then lose
//! the answer") that makes one fault reproducible in a test.
//!
//! The seed fixes the sequence of decisions; which request meets which
//! decision still depends on how concurrent requests interleave.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// One fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    /// `TransactionConflictException` on a single-item write; a transaction
    /// cancelled with `TransactionConflict` reasons. Nothing applied.
    Conflict,
    /// `ProvisionedThroughputExceededException` (DynamoDB) or
    /// `RequestThrottled` (SQS). Nothing applied.
    Throttle,
    /// `500 InternalServerError`. Nothing applied.
    ServerError,
    /// The connection is reset before the request reaches the service.
    Reset,
    /// The request is applied, then the connection is reset: the caller
    /// cannot tell that it succeeded.
    Ambiguous,
    /// The answer comes, but 0.2–1.5 s late.
    Latency,
}

impl Fault {
    /// The faults that fit an operation (by its `X-Amz-Target` name).
    fn fitting(operation: &str) -> &'static [Fault] {
        use Fault::*;
        match operation {
            "PutItem" | "UpdateItem" | "DeleteItem" | "TransactWriteItems" => {
                &[Conflict, Throttle, ServerError, Reset, Ambiguous, Latency]
            }
            "SendMessage" | "SendMessageBatch" | "DeleteMessage" | "DeleteMessageBatch" => {
                &[Throttle, ServerError, Reset, Ambiguous, Latency]
            }
            _ => &[Throttle, ServerError, Reset, Latency],
        }
    }

    /// How long a `Latency` fault holds the answer.
    pub fn delay(rng: &mut fastrand::Rng) -> Duration {
        Duration::from_millis(rng.u64(200..1500))
    }
}

/// A scripted fault: the next `times` requests of `operation` whose body
/// contains `contains` meet `fault`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Rule {
    pub operation: String,
    #[serde(default)]
    pub contains: Option<String>,
    pub fault: Fault,
    #[serde(default = "one")]
    pub times: u32,
}

fn one() -> u32 {
    1
}

/// The random share of requests that fail, and its seed.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct Mode {
    pub rate: f64,
    pub seed: u64,
}

/// Faults injected so far: operation → fault → count.
pub type Tally = BTreeMap<String, BTreeMap<Fault, u64>>;

#[derive(Debug)]
struct State {
    rate: f64,
    rng: fastrand::Rng,
    script: Vec<Rule>,
    tally: Tally,
}

/// The fault plan of one proxy.
#[derive(Debug)]
pub struct Faults(Mutex<State>);

impl Default for Faults {
    fn default() -> Self {
        Self::new(Mode::default())
    }
}

impl Faults {
    pub fn new(mode: Mode) -> Self {
        Self(Mutex::new(State {
            rate: mode.rate,
            rng: fastrand::Rng::with_seed(mode.seed),
            script: Vec::new(),
            tally: Tally::new(),
        }))
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Sets the random share (and restarts its sequence from `seed`).
    pub fn set_mode(&self, mode: Mode) {
        let mut state = self.state();
        state.rate = mode.rate;
        state.rng = fastrand::Rng::with_seed(mode.seed);
    }

    /// Adds a scripted fault, served before any random one.
    pub fn script(&self, rule: Rule) {
        self.state().script.push(rule);
    }

    /// Scripted faults not yet served.
    pub fn pending(&self) -> usize {
        self.state().script.iter().map(|r| r.times as usize).sum()
    }

    pub fn tally(&self) -> Tally {
        self.state().tally.clone()
    }

    /// The fault (and, for latency, the delay) this request meets, if any.
    pub fn decide(&self, operation: &str, body: &[u8]) -> Option<(Fault, Duration)> {
        let mut state = self.state();
        let scripted = state.script.iter().position(|rule| {
            rule.operation == operation
                && rule.contains.as_ref().is_none_or(|needle| {
                    body.windows(needle.len().max(1))
                        .any(|window| window == needle.as_bytes())
                })
        });
        let fault = if let Some(index) = scripted {
            let rule = &mut state.script[index];
            let fault = rule.fault;
            rule.times -= 1;
            if rule.times == 0 {
                state.script.remove(index);
            }
            fault
        } else {
            if state.rate <= 0.0 || state.rng.f64() >= state.rate {
                return None;
            }
            let fitting = Fault::fitting(operation);
            fitting[state.rng.usize(..fitting.len())]
        };
        let delay = match fault {
            Fault::Latency => Fault::delay(&mut state.rng),
            _ => Duration::ZERO,
        };
        *state
            .tally
            .entry(operation.to_owned())
            .or_default()
            .entry(fault)
            .or_default() += 1;
        Some((fault, delay))
    }
}

/// The answer a service gives for a fault that it answers (conflicts,
/// throttling, server errors): status and JSON body, in the service's own
/// protocol (`awsJson1_0`), so that the SDK classifies it as it would
/// DynamoDB's or SQS's. `items` is a transaction's number of items.
pub fn answer(service: Service, fault: Fault, items: usize) -> Option<(u16, serde_json::Value)> {
    use serde_json::json;
    let dynamodb = |name: &str| format!("com.amazonaws.dynamodb.v20120810#{name}");
    Some(match (service, fault) {
        (Service::DynamoDb, Fault::Conflict) if items > 0 => (
            400,
            json!({
                "__type": dynamodb("TransactionCanceledException"),
                "Message": "Transaction cancelled, please refer cancellation reasons for specific reasons [TransactionConflict]",
                "CancellationReasons": (0..items).map(|i| if i == 0 {
                    json!({"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"})
                } else {
                    json!({"Code": "None"})
                }).collect::<Vec<_>>(),
            }),
        ),
        (Service::DynamoDb, Fault::Conflict) => (
            400,
            json!({"__type": dynamodb("TransactionConflictException"), "message": "Transaction is ongoing for the item"}),
        ),
        (Service::DynamoDb, Fault::Throttle) => (
            400,
            json!({"__type": dynamodb("ProvisionedThroughputExceededException"), "message": "The level of configured provisioned throughput for the table was exceeded"}),
        ),
        (Service::DynamoDb, Fault::ServerError) => (
            500,
            json!({"__type": dynamodb("InternalServerError"), "message": "Internal server error"}),
        ),
        (Service::Sqs, Fault::Throttle) => (
            400,
            json!({"__type": "com.amazonaws.sqs#RequestThrottled", "message": "Rate exceeded"}),
        ),
        (Service::Sqs, Fault::ServerError) => (
            500,
            json!({"__type": "com.amazonaws.sqs#InternalError", "message": "We encountered an internal error. Please try again."}),
        ),
        _ => return None,
    })
}

/// Which service a request is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    DynamoDb,
    Sqs,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_fixes_the_sequence_of_decisions() {
        let decisions = |seed| {
            let faults = Faults::new(Mode { rate: 0.3, seed });
            (0..200)
                .map(|_| faults.decide("UpdateItem", b"{}").map(|(f, _)| f))
                .collect::<Vec<_>>()
        };
        assert_eq!(decisions(7), decisions(7));
        assert_ne!(decisions(7), decisions(8));
        let hit = decisions(7).iter().filter(|d| d.is_some()).count();
        assert!((30..90).contains(&hit), "about 30 % of 200: {hit}");
    }

    #[test]
    fn a_script_comes_first_and_is_served_once() {
        let faults = Faults::default();
        faults.script(Rule {
            operation: "UpdateItem".into(),
            contains: Some("STOCK".into()),
            fault: Fault::Ambiguous,
            times: 1,
        });
        assert_eq!(faults.decide("UpdateItem", b"{\"PK\":\"ORDER#1\"}"), None);
        assert_eq!(faults.decide("GetItem", b"STOCK"), None);
        assert_eq!(
            faults.decide("UpdateItem", b"{\"PK\":\"PRODUCT#1#STOCK#0\"}"),
            Some((Fault::Ambiguous, Duration::ZERO))
        );
        assert_eq!(faults.decide("UpdateItem", b"STOCK"), None);
        assert_eq!(faults.pending(), 0);
        assert_eq!(faults.tally()["UpdateItem"][&Fault::Ambiguous], 1);
    }

    #[test]
    fn reads_are_never_ambiguous_and_only_writes_conflict() {
        let faults = Faults::new(Mode { rate: 1.0, seed: 1 });
        for _ in 0..500 {
            let (fault, _) = faults.decide("GetItem", b"").expect("always");
            assert!(!matches!(fault, Fault::Ambiguous | Fault::Conflict));
        }
    }
}
