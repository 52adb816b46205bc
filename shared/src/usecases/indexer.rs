//! The indexer: the table's stream's second reader. Each order change is
//! added to the sales figures once (decision 72); each product change
//! rewrites its words in the catalogue's search index (decision 73).

use crate::adapters::store::TableChange;
use crate::app::App;
use crate::foundation::error::Error;
use crate::usecases::{reports, search};

pub async fn handle_change(app: &App, change: TableChange) -> Result<(), Error> {
    match change {
        TableChange::Product {
            id, before, after, ..
        } => search::index_product(app, &id, before.as_deref(), after.as_deref()).await,
        order @ TableChange::Order { .. } => reports::order_changed(app, order).await,
        _ => Ok(()),
    }
}
