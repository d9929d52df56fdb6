//! One method per API operation, grouped by resource in the order of the OpenAPI document.

use reqwest::Method;
use reqwest::header::CONTENT_TYPE;
use scanhook_api_types::{
    AccountIn, AccountOut, AccountPatch, AuditEntryOut, DeliveryDetailOut, DeliveryOut, EnableIn, EventAcceptedOut,
    EventBatchIn, EventBatchOut, EventIn, EventOut, ListOut, PortalLinkIn, PortalLinkOut, ProjectIn, ProjectOut,
    ReplayIn, ReplayOut, RotateSecretIn, RotateSecretOut, ScanCompleteOut, ScanFailIn, ScanIn, ScanOut, ScanProgressIn,
    ScanProgressOut, TestIn, TestOut, ViolationOut, ViolationResolveIn, WebhookIn, WebhookOut, WebhookPatch,
    WebhookStatsOut,
};
use serde::Serialize;

use crate::{Client, Error, Reply};

// Query strings leave `None` fields out (serde_urlencoded skips them), so the filters
// need no `skip_serializing_if`.

/// Paging of a list: page size and the `next_cursor` of the page before.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Page {
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// Filters of `GET /v1/deliveries`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DeliveryFilter {
    pub webhook_id: Option<String>,
    pub event_id: Option<String>,
    /// `pending`, `succeeded`, `dead` or `held`.
    pub status: Option<String>,
    pub event_type: Option<String>,
    /// Made at or after this time (RFC 3339).
    pub since: Option<String>,
    /// Made before this time (RFC 3339).
    pub until: Option<String>,
}

/// Filters of `GET /v1/projects/{id}/scans`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ScanFilter {
    /// `running`, `completed`, `failed` or `timed_out`.
    pub status: Option<String>,
}

/// Filters of `GET /v1/audit-log`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AuditFilter {
    /// Such as `webhook.updated`.
    pub action: Option<String>,
    pub target_id: Option<String>,
    /// At or after this time (RFC 3339).
    pub since: Option<String>,
    /// Before this time (RFC 3339).
    pub until: Option<String>,
}

/// Filters of `GET /v1/events`; times in RFC 3339.
#[derive(Debug, Clone, Default, Serialize)]
pub struct EventFilter {
    #[serde(rename = "type")]
    pub event_type: Option<String>,
    /// Only events about this project.
    pub project_id: Option<String>,
    pub since: Option<String>,
    pub until: Option<String>,
}

/// Filters of `GET /v1/projects/{id}/violations`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ViolationFilter {
    /// `open` or `resolved`.
    pub status: Option<String>,
    pub severity: Option<String>,
    pub tool: Option<String>,
}

/// The findings of a completed scan, in one of the two formats the API takes.
#[derive(Debug, Clone)]
pub enum Report {
    /// scanhook's own JSON (`{"findings": [...], "score": 85}`), sent as it is.
    Json(serde_json::Value),
    /// A SARIF 2.1.0 log, sent byte for byte as `application/sarif+json`.
    Sarif(Vec<u8>),
}

type Result<T> = std::result::Result<Reply<T>, Error>;

impl Client {
    // Accounts (the admin key only).

    pub async fn create_account(&self, input: &AccountIn) -> Result<AccountOut> {
        self.send(self.request(Method::POST, &["v1", "accounts"]).json(input)).await
    }

    pub async fn list_accounts(&self, page: &Page) -> Result<ListOut<AccountOut>> {
        self.send(self.request(Method::GET, &["v1", "accounts"]).query(page)).await
    }

    pub async fn get_account(&self, id: &str) -> Result<AccountOut> {
        self.send(self.request(Method::GET, &["v1", "accounts", id])).await
    }

    pub async fn update_account(&self, id: &str, patch: &AccountPatch) -> Result<AccountOut> {
        self.send(self.request(Method::PATCH, &["v1", "accounts", id]).json(patch)).await
    }

    // Webhooks.

    pub async fn create_webhook(&self, input: &WebhookIn) -> Result<WebhookOut> {
        self.send(self.request(Method::POST, &["v1", "webhooks"]).json(input)).await
    }

    pub async fn list_webhooks(&self, page: &Page) -> Result<ListOut<WebhookOut>> {
        self.send(self.request(Method::GET, &["v1", "webhooks"]).query(page)).await
    }

    pub async fn get_webhook(&self, id: &str) -> Result<WebhookOut> {
        self.send(self.request(Method::GET, &["v1", "webhooks", id])).await
    }

    pub async fn update_webhook(&self, id: &str, patch: &WebhookPatch) -> Result<WebhookOut> {
        self.send(self.request(Method::PATCH, &["v1", "webhooks", id]).json(patch)).await
    }

    pub async fn delete_webhook(&self, id: &str) -> std::result::Result<(), Error> {
        self.send_empty(self.request(Method::DELETE, &["v1", "webhooks", id])).await
    }

    pub async fn enable_webhook(&self, id: &str, input: &EnableIn) -> Result<WebhookOut> {
        self.send(self.request(Method::POST, &["v1", "webhooks", id, "enable"]).json(input)).await
    }

    pub async fn test_webhook(&self, id: &str, input: &TestIn) -> Result<TestOut> {
        self.send(self.request(Method::POST, &["v1", "webhooks", id, "test"]).json(input)).await
    }

    pub async fn replay_webhook(&self, id: &str, input: &ReplayIn) -> Result<ReplayOut> {
        self.send(self.request(Method::POST, &["v1", "webhooks", id, "replay"]).json(input)).await
    }

    pub async fn webhook_stats(&self, id: &str) -> Result<WebhookStatsOut> {
        self.send(self.request(Method::GET, &["v1", "webhooks", id, "stats"])).await
    }

    pub async fn rotate_webhook_secret(&self, id: &str, input: &RotateSecretIn) -> Result<RotateSecretOut> {
        self.send(self.request(Method::POST, &["v1", "webhooks", id, "rotate-secret"]).json(input)).await
    }

    // Events.

    /// Reports an event; the same `idempotency_key` twice is accepted once.
    pub async fn send_event(&self, input: &EventIn, idempotency_key: Option<&str>) -> Result<EventAcceptedOut> {
        let mut req = self.request(Method::POST, &["v1", "events"]).json(input);
        if let Some(key) = idempotency_key {
            req = req.header("Idempotency-Key", key);
        }
        self.send(req).await
    }

    /// Reports up to 100 events at once; each has its own result (and optional
    /// idempotency key), in the order sent.
    pub async fn send_event_batch(&self, input: &EventBatchIn) -> Result<EventBatchOut> {
        self.send(self.request(Method::POST, &["v1", "events", "batch"]).json(input)).await
    }

    pub async fn list_events(&self, filter: &EventFilter, page: &Page) -> Result<ListOut<EventOut>> {
        self.send(self.request(Method::GET, &["v1", "events"]).query(filter).query(page)).await
    }

    pub async fn get_event(&self, id: &str) -> Result<EventOut> {
        self.send(self.request(Method::GET, &["v1", "events", id])).await
    }

    // Deliveries.

    pub async fn list_deliveries(&self, filter: &DeliveryFilter, page: &Page) -> Result<ListOut<DeliveryOut>> {
        self.send(self.request(Method::GET, &["v1", "deliveries"]).query(filter).query(page)).await
    }

    pub async fn list_audit_log(&self, filter: &AuditFilter, page: &Page) -> Result<ListOut<AuditEntryOut>> {
        self.send(self.request(Method::GET, &["v1", "audit-log"]).query(filter).query(page)).await
    }

    pub async fn get_delivery(&self, id: &str) -> Result<DeliveryDetailOut> {
        self.send(self.request(Method::GET, &["v1", "deliveries", id])).await
    }

    pub async fn retry_delivery(&self, id: &str) -> Result<DeliveryOut> {
        self.send(self.request(Method::POST, &["v1", "deliveries", id, "retry"])).await
    }

    // Portal links.

    pub async fn create_portal_link(&self, input: &PortalLinkIn) -> Result<PortalLinkOut> {
        self.send(self.request(Method::POST, &["v1", "portal-links"]).json(input)).await
    }

    // Projects.

    pub async fn create_project(&self, input: &ProjectIn) -> Result<ProjectOut> {
        self.send(self.request(Method::POST, &["v1", "projects"]).json(input)).await
    }

    pub async fn list_projects(&self, page: &Page) -> Result<ListOut<ProjectOut>> {
        self.send(self.request(Method::GET, &["v1", "projects"]).query(page)).await
    }

    pub async fn get_project(&self, id: &str) -> Result<ProjectOut> {
        self.send(self.request(Method::GET, &["v1", "projects", id])).await
    }

    pub async fn delete_project(&self, id: &str) -> std::result::Result<(), Error> {
        self.send_empty(self.request(Method::DELETE, &["v1", "projects", id])).await
    }

    // Scans.

    pub async fn start_scan(&self, input: &ScanIn) -> Result<ScanOut> {
        self.send(self.request(Method::POST, &["v1", "scans"]).json(input)).await
    }

    pub async fn list_scans(&self, project: &str, filter: &ScanFilter, page: &Page) -> Result<ListOut<ScanOut>> {
        self.send(self.request(Method::GET, &["v1", "projects", project, "scans"]).query(filter).query(page)).await
    }

    pub async fn get_scan(&self, id: &str) -> Result<ScanOut> {
        self.send(self.request(Method::GET, &["v1", "scans", id])).await
    }

    pub async fn scan_progress(&self, id: &str, input: &ScanProgressIn) -> Result<ScanProgressOut> {
        self.send(self.request(Method::POST, &["v1", "scans", id, "progress"]).json(input)).await
    }

    pub async fn complete_scan(&self, id: &str, report: Report) -> Result<ScanCompleteOut> {
        let req = self.request(Method::POST, &["v1", "scans", id, "complete"]);
        let req = match report {
            Report::Json(body) => req.json(&body),
            Report::Sarif(bytes) => req.header(CONTENT_TYPE, "application/sarif+json").body(bytes),
        };
        self.send(req).await
    }

    pub async fn fail_scan(&self, id: &str, input: &ScanFailIn) -> Result<ScanOut> {
        self.send(self.request(Method::POST, &["v1", "scans", id, "fail"]).json(input)).await
    }

    // Violations.

    pub async fn list_violations(
        &self,
        project: &str,
        filter: &ViolationFilter,
        page: &Page,
    ) -> Result<ListOut<ViolationOut>> {
        self.send(self.request(Method::GET, &["v1", "projects", project, "violations"]).query(filter).query(page)).await
    }

    pub async fn get_violation(&self, id: &str) -> Result<ViolationOut> {
        self.send(self.request(Method::GET, &["v1", "violations", id])).await
    }

    pub async fn resolve_violation(&self, id: &str, input: &ViolationResolveIn) -> Result<ViolationOut> {
        self.send(self.request(Method::POST, &["v1", "violations", id, "resolve"]).json(input)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(req: reqwest::RequestBuilder) -> String {
        req.build().expect("request").url().to_string()
    }

    #[test]
    fn absent_filters_stay_out_of_the_query() {
        let client = Client::new("http://127.0.0.1:8080", None).unwrap();
        let filter = DeliveryFilter { status: Some("dead".into()), ..Default::default() };
        let req = client.request(Method::GET, &["v1", "deliveries"]).query(&filter).query(&Page::default());
        assert_eq!(url(req), "http://127.0.0.1:8080/v1/deliveries?status=dead");
    }

    #[test]
    fn ids_cannot_leave_their_path_segment() {
        let client = Client::new("http://h:1/base/", Some("k".into())).unwrap();
        let req = client.request(Method::GET, &["v1", "webhooks", "../x?y"]);
        assert_eq!(url(req), "http://h:1/base/v1/webhooks/..%2Fx%3Fy");
        assert!(matches!(Client::new("ftp://h", None), Err(Error::BadUrl(_))));
        assert!(matches!(Client::new("127.0.0.1:8080", None), Err(Error::BadUrl(_))));
    }
}
