//! The API's `$default` route: every request no other route matches
//! (an unknown path, or a known path with a method it does not serve).
//! API Gateway would answer those itself, with `{"message":"Not Found"}`;
//! the contract's answer is a `404 NOT_FOUND` problem, as for anything
//! else that is not there.
use shared::App;
use shared::Error;
use shared::entry::http::{self, Answer, Request};

fn main() -> Result<(), shared::BoxError> {
    http::run((), handle)
}

async fn handle(_app: &'static App, _request: Request) -> Answer {
    Err(Error::NotFound)
}
