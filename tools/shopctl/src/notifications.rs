//! `notifications pending` and `notifications resend`: the emails and
//! events the notifier could not finish (its sender died holding them, or
//! the stream gave their record up to the dead-letter queue).

use clap::Subcommand;
use shared::BoxError;
use shared::usecases::notify;

use crate::settings::Settings;

#[derive(Subcommand)]
pub enum NotificationAction {
    /// Print the notifications claimed and not done, oldest first, as JSON
    /// lines: channel (`email`, `bus`), event id, when claimed, the lease's
    /// end, attempts and what it was to send.
    Pending,
    /// Send one again (once no sender holds it): an event under its type
    /// and sequence, an email, each from its order, token or address as
    /// they are now.
    Resend {
        /// `email` or `bus`.
        channel: String,
        /// The event id (`order-<id>-<n>`, `token-<id>`, ...).
        event_id: String,
    },
}

pub async fn run(
    settings: &Settings,
    aws: &aws_config::SdkConfig,
    action: NotificationAction,
) -> Result<(), BoxError> {
    let app = settings.app(aws)?;
    match action {
        NotificationAction::Pending => {
            for pending in notify::pending(&app, 1000).await? {
                println!("{}", serde_json::to_string(&pending)?);
            }
        }
        NotificationAction::Resend { channel, event_id } => {
            if channel != notify::EMAIL && channel != notify::BUS {
                return Err(format!("channel: {channel} is neither email nor bus").into());
            }
            notify::resend(&app, &channel, &event_id)
                .await
                .map_err(|err| format!("{channel} {event_id}: {err}"))?;
            println!("{channel} {event_id}: sent");
        }
    }
    Ok(())
}
