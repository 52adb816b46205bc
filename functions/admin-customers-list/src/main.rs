//! `GET /admin/customers` (admin): the account of an email, or every
//! account newest first, a page at a time.
use shared::App;
use shared::Error;
use shared::app::parts::Secrets;
use shared::entry::http::{self, Answer, Request};
use shared::model::users::Email;
use shared::usecases::back_office;

fn main() -> Result<(), shared::BoxError> {
    http::run(Secrets, handle)
}

async fn handle(app: &'static App, request: Request) -> Answer {
    let admin = request.admin(app).await?;
    let email = request
        .query("email")
        .map(|e| Email::parse(e).map_err(|msg| Error::invalid("email", msg)))
        .transpose()?;
    let (limit, cursor) = request.page_params()?;
    http::ok(&back_office::list_customers(app, &admin, email.as_ref(), limit, cursor.as_deref()).await?)
}
