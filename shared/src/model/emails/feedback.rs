//! What SES reports back about an email (through SNS): the addresses no
//! email may go to again. A permanent bounce (the address does not exist)
//! and a complaint (the recipient marked it as spam) put the address on
//! the shop's suppression list; a transient bounce (a full mailbox) does
//! not.

use serde_json::Value;

use crate::model::users::Email;

/// Why an address is suppressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    Bounce,
    Complaint,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Bounce => "bounce",
            Self::Complaint => "complaint",
        }
    }
}

/// The addresses an SES notification (a configuration set's event, with
/// `eventType`, or an identity's notification, with `notificationType`)
/// says to suppress. Anything else (a delivery, a send, a message that is
/// not SES's) names none.
pub fn suppressions(message: &str) -> Vec<(Email, Reason)> {
    let Ok(notice) = serde_json::from_str::<Value>(message) else {
        return Vec::new();
    };
    let kind = notice["eventType"]
        .as_str()
        .or_else(|| notice["notificationType"].as_str());
    let (reason, recipients) = match kind {
        Some("Bounce") if notice["bounce"]["bounceType"] == "Permanent" => {
            (Reason::Bounce, &notice["bounce"]["bouncedRecipients"])
        }
        Some("Complaint") => (Reason::Complaint, &notice["complaint"]["complainedRecipients"]),
        _ => return Vec::new(),
    };
    recipients
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|recipient| recipient["emailAddress"].as_str())
        .filter_map(|address| Email::parse(address.to_owned()).ok())
        .map(|email| (email, reason))
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn emails(found: &[(Email, Reason)]) -> Vec<(&str, Reason)> {
        found.iter().map(|(e, r)| (e.as_str(), *r)).collect()
    }

    #[test]
    fn permanent_bounces_and_complaints_suppress_their_recipients() {
        let bounce = json!({"eventType": "Bounce", "bounce": {"bounceType": "Permanent",
            "bouncedRecipients": [{"emailAddress": "Gone@Example.com"}, {"emailAddress": "not an address"}]}});
        assert_eq!(
            emails(&suppressions(&bounce.to_string())),
            [("gone@example.com", Reason::Bounce)]
        );
        let complaint = json!({"notificationType": "Complaint",
            "complaint": {"complainedRecipients": [{"emailAddress": "angry@example.com"}]}});
        assert_eq!(
            emails(&suppressions(&complaint.to_string())),
            [("angry@example.com", Reason::Complaint)]
        );
    }

    #[test]
    fn transient_bounces_deliveries_and_noise_suppress_nothing() {
        let transient = json!({"eventType": "Bounce", "bounce": {"bounceType": "Transient",
            "bouncedRecipients": [{"emailAddress": "full@example.com"}]}});
        let delivery = json!({"eventType": "Delivery", "delivery": {"recipients": ["ann@example.com"]}});
        for message in [
            transient.to_string(),
            delivery.to_string(),
            "not json".into(),
            "{}".into(),
        ] {
            assert!(suppressions(&message).is_empty(), "{message}");
        }
    }
}
