//! The audit log's vocabulary: which management actions are recorded, and how a change is
//! described (field names with their old and new values, taken from views that already
//! hide every secret).

use serde_json::{Map, Value, json};

use crate::Invalid;

/// A management action the audit log records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditAction {
    AccountCreated,
    AccountUpdated,
    ApiKeyCreated,
    ApiKeyRevoked,
    WebhookCreated,
    WebhookUpdated,
    WebhookEnabled,
    WebhookDisabled,
    WebhookDeleted,
    WebhookSecretRotated,
    WebhookReplayed,
    DeliveryRetried,
    PortalLinkCreated,
}

impl AuditAction {
    pub const ALL: [Self; 13] = [
        Self::AccountCreated,
        Self::AccountUpdated,
        Self::ApiKeyCreated,
        Self::ApiKeyRevoked,
        Self::WebhookCreated,
        Self::WebhookUpdated,
        Self::WebhookEnabled,
        Self::WebhookDisabled,
        Self::WebhookDeleted,
        Self::WebhookSecretRotated,
        Self::WebhookReplayed,
        Self::DeliveryRetried,
        Self::PortalLinkCreated,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::AccountCreated => "account.created",
            Self::AccountUpdated => "account.updated",
            Self::ApiKeyCreated => "api_key.created",
            Self::ApiKeyRevoked => "api_key.revoked",
            Self::WebhookCreated => "webhook.created",
            Self::WebhookUpdated => "webhook.updated",
            Self::WebhookEnabled => "webhook.enabled",
            Self::WebhookDisabled => "webhook.disabled",
            Self::WebhookDeleted => "webhook.deleted",
            Self::WebhookSecretRotated => "webhook.secret_rotated",
            Self::WebhookReplayed => "webhook.replayed",
            Self::DeliveryRetried => "delivery.retried",
            Self::PortalLinkCreated => "portal_link.created",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        Self::ALL.into_iter().find(|a| a.as_str() == raw).ok_or_else(|| {
            let known: Vec<&str> = Self::ALL.iter().map(|a| a.as_str()).collect();
            Invalid::new(format!("'{raw}' is not an audited action ({})", known.join(", ")))
        })
    }
}

/// The fields that differ between two views of a resource, as `{field: {from, to}}`.
/// `ignore` names fields that change by themselves (`updated_at`). Both views must already
/// hide secrets: this copies values as they are.
pub fn changes(before: &Value, after: &Value, ignore: &[&str]) -> Map<String, Value> {
    let (empty_a, empty_b) = (Map::new(), Map::new());
    let before = before.as_object().unwrap_or(&empty_a);
    let after = after.as_object().unwrap_or(&empty_b);
    let mut fields: Vec<&String> = before.keys().chain(after.keys()).collect();
    fields.sort();
    fields.dedup();
    fields
        .into_iter()
        .filter(|field| !ignore.contains(&field.as_str()))
        .filter_map(|field| {
            let (old, new) = (before.get(field), after.get(field));
            (old != new).then(|| (field.clone(), json!({"from": old, "to": new})))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_round_trip() {
        for action in AuditAction::ALL {
            assert_eq!(AuditAction::parse(action.as_str()), Ok(action));
        }
        assert!(AuditAction::parse("webhook.eaten").unwrap_err().0.contains("webhook.created"));
    }

    #[test]
    fn changes_list_only_what_differs() {
        let before = json!({"url": "https://a", "active": true, "updated_at": 1, "gone": 1});
        let after = json!({"url": "https://b", "active": true, "updated_at": 2, "new": "x"});
        let diff = changes(&before, &after, &["updated_at"]);
        assert_eq!(
            Value::Object(diff),
            json!({
                "gone": {"from": 1, "to": null},
                "new": {"from": null, "to": "x"},
                "url": {"from": "https://a", "to": "https://b"},
            })
        );
    }
}
