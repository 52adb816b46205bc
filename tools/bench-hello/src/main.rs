//! The floor `make bench` measures the functions against: a Rust Lambda
//! behind API Gateway (`lambda_http`, the shop's release profile, the same
//! Tokio runtime) that answers every request with `hello` and does nothing
//! else. A function's size, cold start and memory above this are its own.
use lambda_http::{Body, Error, Request, Response, service_fn};

fn main() -> Result<(), Error> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(lambda_http::run(service_fn(|_: Request| async {
            Ok::<_, Error>(Response::new(Body::from("hello")))
        })))
}
