//! `GET /admin/customers/{id}` (admin): an account, whether its email is
//! verified, and its newest 20 orders.
use shared::App;
use shared::app::parts::Secrets;
use shared::entry::http::{self, Answer, Request};
use shared::model::users::UserId;
use shared::usecases::back_office;

fn main() -> Result<(), shared::BoxError> {
    http::run(Secrets, handle)
}

async fn handle(app: &'static App, request: Request) -> Answer {
    let admin = request.admin(app).await?;
    let id = request.path_id::<UserId>("id")?;
    http::ok(&back_office::customer(app, &admin, &id).await?)
}
