//! `shopctl`: the shop's operator tool.
//!
//! It reads the same settings as the functions. Unless `--env-file none` is
//! given, the repository's `local.env` fills in what the environment leaves
//! unset, and a missing `AWS_ENDPOINT_URL` means the local emulator, so that
//! it works against `make dev` with no set-up.
//!
//! One module per command group: `setup` (the table, the queues, a demo
//! catalogue), `admins`, `pay` (the sandbox), `dlq`, `refunds` (refused
//! refunds and disputes); `settings` reads what they all run with.

mod admins;
mod dlq;
mod notifications;
mod pay;
mod refunds;
mod settings;
mod setup;

use clap::{Parser, Subcommand};
use shared::BoxError;

use crate::dlq::DlqAction;
use crate::notifications::NotificationAction;
use crate::refunds::RefundAction;
use crate::settings::Settings;

#[derive(Parser)]
#[command(
    version,
    about = "Operate the shop: set up the table and queues, create admins, seed a demo catalogue, pay in the sandbox, look after DLQs"
)]
struct Cli {
    /// File of default settings (KEY=VALUE lines); `none` to read only the environment.
    #[arg(long, global = true, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../../local.env"))]
    env_file: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create the table and the queues (with DLQs) if they are missing, and
    /// print the queue URLs as KEY=VALUE lines.
    Setup,
    /// Load a small demo catalogue (only into an empty one) and print it.
    SeedCatalog,
    /// Pay an order in the sandbox: sign a `payment_intent.succeeded` event
    /// for its payment and post it to the local webhook.
    Pay {
        order_id: String,
        /// The webhook to post to (default: SHOP_API_URL's, else the local
        /// gateway's on API_PORT).
        #[arg(long)]
        url: Option<String>,
    },
    /// Look at or replay a queue's dead letters.
    Dlq {
        #[command(subcommand)]
        action: DlqAction,
    },
    /// Refunds the payment provider refused for good (the alarm
    /// `RefusedRefundsAlarm` counts them).
    Refunds {
        #[command(subcommand)]
        action: RefundAction,
    },
    /// The emails and events the notifier could not finish: list them, send
    /// one again.
    Notifications {
        #[command(subcommand)]
        action: NotificationAction,
    },
    /// Print the disputed orders, newest first, as JSON lines: order and
    /// the dispute (id, reason, status, opened_at). While a dispute is not
    /// won, an order not yet shipped is held.
    Disputes,
    /// Create an admin account and print it as JSON.
    CreateAdmin {
        #[arg(long)]
        email: String,
        #[arg(long)]
        password: String,
        #[arg(long)]
        name: String,
    },
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let cli = Cli::parse();
    if let Err(err) = run(cli).await {
        eprintln!("shopctl: {err}");
        std::process::exit(1);
    }
}

async fn run(cli: Cli) -> Result<(), BoxError> {
    let settings = Settings::load(&cli.env_file)?;
    let aws = settings.aws().await;
    match cli.command {
        Command::Setup => setup::setup(&settings, &aws).await,
        Command::SeedCatalog => setup::seed_catalog(&settings, &aws).await,
        Command::CreateAdmin {
            email,
            password,
            name,
        } => admins::create_admin(&settings, &aws, &email, &password, &name).await,
        Command::Pay { order_id, url } => pay::pay(&settings, &aws, &order_id, url).await,
        Command::Dlq { action } => dlq::run(&settings, &aws, action).await,
        Command::Refunds { action } => refunds::run(&settings, &aws, action).await,
        Command::Disputes => refunds::disputes(&settings, &aws).await,
        Command::Notifications { action } => notifications::run(&settings, &aws, action).await,
    }
}
