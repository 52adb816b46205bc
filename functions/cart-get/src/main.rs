//! `GET /cart` (customer): the caller's cart, priced now, with its `ETag`.
use shared::App;
use shared::app::parts::Secrets;
use shared::entry::http::{self, Answer, Request};
use shared::usecases::carts;

fn main() -> Result<(), shared::BoxError> {
    http::run(Secrets, handle)
}

async fn handle(app: &'static App, request: Request) -> Answer {
    let caller = request.caller(app).await?;
    let cart = carts::get_cart(app, &caller).await?;
    http::ok_versioned(&cart, cart.version)
}
