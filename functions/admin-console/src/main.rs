//! `GET /admin` and `GET /admin/{proxy+}`: the admin console, a static
//! single-page app (`console/`); `/admin` redirects into its folder.
//! Release builds compile its built files (`console/dist`) into this
//! binary; debug builds read them from disk, so `make dev` serves each
//! `npm run build` at once.
use rust_embed::Embed;
use shared::entry::console;
use shared::entry::http::{self, Answer, Request};
use shared::{App, Error};

#[derive(Embed)]
#[folder = "../../console/dist"]
#[allow_missing = true]
struct Built;

fn main() -> Result<(), shared::BoxError> {
    http::run((), handle)
}

async fn handle(_app: &'static App, request: Request) -> Answer {
    let path = request.path_param("proxy").ok();
    if path.is_none() && !request.path().ends_with('/') {
        return console::to_page();
    }
    let name = console::file_name(path.as_deref()).ok_or(Error::NotFound)?;
    let file = Built::get(name).ok_or(Error::NotFound)?;
    console::file(name, file.data, file.metadata.mimetype())
}
