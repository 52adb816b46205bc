//! `create-admin`: an admin account, made by the operator.

use shared::BoxError;
use shared::foundation::input::parse_document;
use shared::model::auth::Role;
use shared::usecases::users;

use crate::settings::Settings;

/// Creates an admin account and prints it as JSON.
pub async fn create_admin(
    settings: &Settings,
    aws: &aws_config::SdkConfig,
    email: &str,
    password: &str,
    name: &str,
) -> Result<(), BoxError> {
    let store = settings.store(aws)?;
    let input = parse_document(serde_json::json!({"email": email, "password": password, "name": name}))
        .map_err(|err| match err {
            shared::Error::Validation(errors) => errors
                .iter()
                .map(|e| format!("{} {}", e.field, e.message))
                .collect::<Vec<_>>()
                .join("; "),
            other => other.to_string(),
        })?;
    let user = users::create_user(&store, input, Role::Admin).await?;
    println!("{}", serde_json::to_string_pretty(&user)?);
    Ok(())
}
