//! `make capacity` and `make chaos`, and their pieces.
//!
//! - `stress proxy` sits between the functions and the emulator: it meters
//!   DynamoDB per partition (`--meter`) and injects faults (`--fault-rate`).
//! - `stress provider` stands in for Stripe's API, with a ledger and faults.
//! - `stress capacity` drives the stack with two scenarios and reports the
//!   hottest partitions per order and the orders per second they imply
//!   under AWS's per-partition limits (1,000 WCU/s, 3,000 RCU/s).
//! - `stress chaos` drives a mixed workload under faults, lets the stack
//!   settle and checks the shop's invariants.

mod chaos;
mod client;
mod scenarios;

use clap::{Parser, Subcommand};
use shared::BoxError;
use stress::faults::Mode;
use stress::{provider, proxy};

#[derive(Parser)]
#[command(about = "Capacity and chaos runs of the local stack")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args)]
struct FaultArgs {
    /// The share of requests that meet a fault (0 to 1).
    #[arg(long, default_value_t = 0.0)]
    fault_rate: f64,
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

impl FaultArgs {
    fn mode(&self) -> Mode {
        Mode {
            rate: self.fault_rate,
            seed: self.seed,
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// Serve the proxy in front of the emulator.
    Proxy {
        #[arg(long, env = "STRESS_UPSTREAM")]
        upstream: String,
        #[arg(long)]
        port: u16,
        /// Meter what DynamoDB would bill per partition.
        #[arg(long)]
        meter: bool,
        #[command(flatten)]
        faults: FaultArgs,
    },
    /// Serve the payment provider stub.
    Provider {
        #[arg(long)]
        port: u16,
        #[command(flatten)]
        faults: FaultArgs,
    },
    /// Run the capacity scenarios through the gateway and print the report.
    Capacity(Box<scenarios::Settings>),
    /// Run the chaos workload through the gateway and check the invariants.
    Chaos(Box<chaos::Settings>),
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    match Cli::parse().command {
        Command::Proxy {
            upstream,
            port,
            meter,
            faults,
        } => {
            let options = proxy::Options {
                meter,
                faults: faults.mode(),
            };
            proxy::serve(&upstream, port, options).await
        }
        Command::Provider { port, faults } => provider::serve(port, faults.mode()).await,
        Command::Capacity(settings) => scenarios::run(*settings).await,
        Command::Chaos(settings) => chaos::run(*settings).await,
    }
}
