//! `PATCH /products/{id}` (admin): changes a product; `stock_delta` is an atomic add; honours `Idempotency-Key`.
use shared::App;
use shared::app::parts::Secrets;
use shared::entry::http::{self, Answer, Request};
use shared::entry::idempotency;
use shared::model::products::ProductId;
use shared::usecases::products;

fn main() -> Result<(), shared::BoxError> {
    http::run(Secrets, handle)
}

async fn handle(app: &'static App, request: Request) -> Answer {
    let admin = request.admin(app).await?;
    let id = request.path_id::<ProductId>("id")?;
    let patch = request.json()?;
    let (admin, id) = (&admin, &id);
    idempotency::once(app, admin.principal(), &request, |attempt| async move {
        let product = products::update_product(app, admin, id, patch, attempt.mark.as_ref()).await?;
        http::ok(&product)
    })
    .await
}
