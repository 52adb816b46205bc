//! `PUT /cart/items/{product_id}` (customer): sets a line's quantity;
//! honours `If-Match`.
use shared::App;
use shared::app::parts::Secrets;
use shared::entry::http::{self, Answer, Request};
use shared::usecases::carts;

fn main() -> Result<(), shared::BoxError> {
    http::run(Secrets, handle)
}

async fn handle(app: &'static App, request: Request) -> Answer {
    let caller = request.caller(app).await?;
    let product_id = request.path_id("product_id")?;
    let if_match = request.if_match()?;
    let quantity = request.json()?;
    let cart = carts::put_item(app, &caller, product_id, quantity, if_match).await?;
    http::ok_versioned(&cart, cart.version)
}
