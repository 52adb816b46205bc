//! The cold start every function shares: a current-thread Tokio runtime,
//! logging, and the [`App`] built once and kept for the life of the process.

use std::future::Future;

use crate::app::App;
use crate::app::parts::Parts;
use crate::foundation::error::BoxError;

/// Builds the runtime and the [`App`] of `parts`, then runs `serve` (the
/// Lambda runtime loop) with it.
pub fn start<P, F, Fut>(parts: P, serve: F) -> Result<(), BoxError>
where
    P: Parts,
    F: FnOnce(&'static App) -> Fut,
    Fut: Future<Output = Result<(), lambda_runtime::Error>>,
{
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        lambda_runtime::tracing::init_default_subscriber();
        let app: &'static App = Box::leak(Box::new(App::build(parts).await?));
        serve(app).await
    })
}
