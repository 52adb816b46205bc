//! The back office's figures (decision 72): the indexer adds each order
//! change from the table's stream to the day's sales figures once, and
//! notes the days that have orders; admins read the figures per day and
//! currency.

use std::collections::BTreeSet;
use std::sync::Mutex;

use serde::Serialize;

use crate::adapters::store::TableChange;
use crate::app::App;
use crate::foundation::clock::Timestamp;
use crate::foundation::error::Error;
use crate::model::auth::Admin;
use crate::model::reports::{self, Day, Row};

/// The days this instance has noted as having orders: each is written
/// once per instance, not once per order (one partition holds them all).
static NOTED: Mutex<BTreeSet<Day>> = Mutex::new(BTreeSet::new());

/// Adds what an order's change means to the sales figures, once (a
/// replayed record finds its mark), and notes a new order's day. Any
/// other change is not the figures'.
pub async fn order_changed(app: &App, change: TableChange) -> Result<(), Error> {
    let TableChange::Order { before, after, seq } = change else {
        return Ok(());
    };
    if before.is_none() {
        let day = Day::of(after.created_at);
        let noted = NOTED.lock().map(|noted| noted.contains(&day)).unwrap_or(false);
        if !noted {
            app.store.note_order_day(day).await?;
            if let Ok(mut noted) = NOTED.lock() {
                noted.insert(day);
            }
        }
    }
    let deltas = reports::sales_deltas(before.as_deref(), &after);
    if !deltas.is_empty() {
        app.store
            .add_sales(&after.id, seq, &deltas, Timestamp::now())
            .await?;
    }
    Ok(())
}

/// `GET /admin/reports/sales`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SalesReport {
    pub days: Vec<Row>,
}

/// The figures of every day from `from` to `to` (both included) per
/// currency, days without orders left out.
pub async fn sales(app: &App, _admin: &Admin, from: Day, to: Day) -> Result<SalesReport, Error> {
    let parts = app.store.sales(from, to).await?;
    Ok(SalesReport {
        days: reports::rows(parts),
    })
}
