//! The reconciler (scheduled): finishes what a crash or a fault left half
//! done. A payment whose hand-off (a message to shipping or refunds) has been
//! owed for longer than a grace period gets it sent again; a payment that
//! owes none any more leaves the index. Refunds the provider refused are
//! counted, for the alarm.
//!
//! Every send is safe to repeat: the workers take duplicates.

use serde::Serialize;

use crate::app::App;
use crate::foundation::clock::{Deadline, Timestamp};
use crate::foundation::error::Error;
use crate::model::orders::OrderId;
use crate::model::payments::Owed;
use crate::usecases::{payments, refunds};

/// What a reconciler run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ReconcileReport {
    /// `payment_confirmed` sent again.
    pub shipping_resent: usize,
    /// `refund_requested` sent again.
    pub refunds_resent: usize,
    /// Payments that owed nothing any more, taken out of the index.
    pub cleared: usize,
    /// Payments that failed; logged, left for the next run.
    pub failed: usize,
    /// Refunds the provider refused, awaiting an operator (the metric the
    /// alarm watches).
    pub refused_refunds: usize,
    /// The run stopped at its deadline with work left for the next.
    pub unfinished: bool,
}

/// Owed hand-offs read per shard and run.
const PAGE: usize = 100;
/// Refused refunds counted at most (the alarm needs one).
const REFUSED_COUNTED: usize = 100;
/// No new shard is started with less time than this left.
const STOP_BEFORE: std::time::Duration = std::time::Duration::from_secs(2);

/// Re-sends every hand-off owed since before `now` minus the grace period
/// (`RECONCILE_GRACE_SECONDS`), shard by shard, until `deadline` nears.
pub async fn reconcile(app: &App, now: Timestamp, deadline: Deadline) -> Result<ReconcileReport, Error> {
    let mut report = ReconcileReport::default();
    let before = now.plus_secs(-app.config.reconcile_grace_secs);
    for shard in 0..app.store.owed_shards() {
        if deadline.remaining() < STOP_BEFORE {
            report.unfinished = true;
            break;
        }
        let owed = match app.store.owed_handoffs(shard, before, PAGE).await {
            Ok(owed) => owed,
            Err(err) => {
                tracing::error!(shard, error = %err, "could not read owed hand-offs; the next run will");
                report.failed += 1;
                continue;
            }
        };
        for order in owed {
            match settle(app, &order).await {
                Ok(Some(Owed::Shipping)) => report.shipping_resent += 1,
                Ok(Some(Owed::Refund { .. })) => report.refunds_resent += 1,
                Ok(None) => report.cleared += 1,
                Err(err) => {
                    tracing::error!(%order, error = %err, "could not reconcile a payment; the next run will");
                    report.failed += 1;
                }
            }
        }
    }
    report.refused_refunds = app.store.refused_refunds(REFUSED_COUNTED).await?.len();
    // CloudWatch's embedded metric format: the log line is the metric.
    println!(
        "{}",
        serde_json::json!({
            "_aws": {
                "Timestamp": now.unix() * 1000,
                "CloudWatchMetrics": [{
                    "Namespace": "Shop",
                    "Dimensions": [[]],
                    "Metrics": [
                        {"Name": "RefusedRefunds", "Unit": "Count"},
                        {"Name": "HandoffsResent", "Unit": "Count"},
                    ],
                }],
            },
            "RefusedRefunds": report.refused_refunds,
            "HandoffsResent": report.shipping_resent + report.refunds_resent,
        })
    );
    if report.shipping_resent + report.refunds_resent > 0 {
        tracing::warn!(
            ?report,
            "hand-offs were owed past their grace period and sent again"
        );
    }
    Ok(report)
}

/// Sends what one payment owes, or takes it out of the index.
async fn settle(app: &App, order_id: &OrderId) -> Result<Option<Owed>, Error> {
    let (Some(order), Some(record)) = (
        app.store.get_order(order_id).await?,
        app.store.get_payment(order_id).await?,
    ) else {
        return Ok(None);
    };
    let owed = record.owed_handoff(order.status);
    match owed {
        Some(Owed::Shipping) => payments::hand_off(app, &record.payment).await?,
        Some(Owed::Refund { restock }) => refunds::hand_off(app, &record.payment, restock).await?,
        None => app.store.clear_owed_handoff(order_id).await?,
    }
    Ok(owed)
}
