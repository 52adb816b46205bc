//! `PATCH /cart` (customer): sets the address, the shipping method and the
//! coupon codes; honours `If-Match`.
use shared::App;
use shared::app::parts::Secrets;
use shared::entry::http::{self, Answer, Request};
use shared::usecases::carts;

fn main() -> Result<(), shared::BoxError> {
    http::run(Secrets, handle)
}

async fn handle(app: &'static App, request: Request) -> Answer {
    let caller = request.caller(app).await?;
    let if_match = request.if_match()?;
    let patch = request.json()?;
    let cart = carts::patch_cart(app, &caller, patch, if_match).await?;
    http::ok_versioned(&cart, cart.version)
}
