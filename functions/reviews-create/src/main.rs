//! `POST /products/{id}/reviews` (customer with a delivered order of it): one review per user and product; honours `Idempotency-Key`.
use shared::App;
use shared::app::parts::Secrets;
use shared::entry::http::{self, Answer, Request};
use shared::entry::idempotency;
use shared::model::products::ProductId;
use shared::usecases::reviews;

fn main() -> Result<(), shared::BoxError> {
    http::run(Secrets, handle)
}

async fn handle(app: &'static App, request: Request) -> Answer {
    let caller = request.caller(app).await?;
    let product = request.path_id::<ProductId>("id")?;
    let input = request.json()?;
    idempotency::once(app, &caller, &request, |_| async {
        http::created(&reviews::create_review(app, &caller, &product, input).await?)
    })
    .await
}
