//! `make capacity`: what the shop would cost DynamoDB, per partition, at a
//! launch. `capacity proxy` sits between the functions and the emulator and
//! meters every request; `capacity run` drives the local stack through the
//! gateway with two scenarios and reports, for each, the hottest partitions
//! per order and the orders per second they imply under AWS's per-partition
//! limits (1,000 WCU/s, 3,000 RCU/s).

mod meter;
mod proxy;
mod scenarios;

use clap::{Parser, Subcommand};
use shared::BoxError;

#[derive(Parser)]
#[command(about = "Meter what DynamoDB would bill per partition while scenarios run")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the metering proxy in front of the emulator.
    Proxy {
        #[arg(long, env = "CAPACITY_UPSTREAM")]
        upstream: String,
        #[arg(long)]
        port: u16,
    },
    /// Run the scenarios through the gateway and print the report.
    Run(Box<scenarios::Settings>),
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    match Cli::parse().command {
        Command::Proxy { upstream, port } => proxy::serve(&upstream, port).await,
        Command::Run(settings) => scenarios::run(*settings).await,
    }
}
