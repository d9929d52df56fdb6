//! The API's writes that emit events or make work due: each stamps the change with the
//! engine's clock, stores it as one store operation, and wakes the dispatcher, so that no
//! caller can forget a step. Reads go to the store directly.

use chrono::SubsecRound;
use scanhook_core::{AccountId, DeliveryId, ProjectId, ScanId, ViolationId, WebhookId};
use scanhook_store::{
    Delivery, Missed, NewProject, NewScan, Project, Scan, ScanOutcome, ScanProgress, ScanReport, StoreResult,
    Violation, Webhook,
};

use crate::Engine;

impl Engine {
    /// Creates a project (`project.created`).
    pub async fn create_project(&self, account: &AccountId, new: NewProject) -> StoreResult<Project> {
        let project = self.store.create_project(account, new, self.event_stamp()).await?;
        self.wake();
        Ok(project)
    }

    /// Deletes a project with its scans and violations (`project.deleted`).
    pub async fn delete_project(&self, account: &AccountId, id: &ProjectId) -> StoreResult<()> {
        self.store.delete_project(account, id, self.event_stamp()).await?;
        self.wake();
        Ok(())
    }

    /// Starts a scan (`scan.started`).
    pub async fn start_scan(&self, account: &AccountId, new: NewScan) -> StoreResult<Scan> {
        let scan = self.store.start_scan(account, new, self.event_stamp()).await?;
        self.wake();
        Ok(scan)
    }

    /// Ends a running scan as failed (`scan.failed`).
    pub async fn fail_scan(&self, account: &AccountId, id: &ScanId, error: (String, String)) -> StoreResult<Scan> {
        let scan = self.store.fail_scan(account, id, error, self.event_stamp()).await?;
        self.wake();
        Ok(scan)
    }

    /// Completes a running scan with its report (`Store::complete_scan`).
    pub async fn complete_scan(
        &self,
        account: &AccountId,
        id: &ScanId,
        report: ScanReport,
    ) -> StoreResult<ScanOutcome> {
        let outcome = self.store.complete_scan(account, id, report, self.event_stamp()).await?;
        self.wake();
        Ok(outcome)
    }

    /// Records a running scan's progress; returns whether `scan.progress` was sent.
    pub async fn record_progress(
        &self,
        account: &AccountId,
        id: &ScanId,
        progress: ScanProgress,
    ) -> StoreResult<(Scan, bool)> {
        let (scan, sent) = self.store.record_progress(account, id, progress, self.event_stamp()).await?;
        if sent {
            self.wake();
        }
        Ok((scan, sent))
    }

    /// Resolves an open violation by hand (`violation.resolved`).
    pub async fn resolve_violation(&self, account: &AccountId, id: &ViolationId, by: String) -> StoreResult<Violation> {
        let violation = self.store.resolve_violation(account, id, by, self.event_stamp()).await?;
        self.wake();
        Ok(violation)
    }

    /// Starts a new round of attempts of a delivery now.
    pub async fn retry_delivery(&self, account: &AccountId, id: &DeliveryId) -> StoreResult<Delivery> {
        let delivery = self.store.retry_delivery(account, id, self.now()).await?;
        self.wake();
        Ok(delivery)
    }

    /// Enables an endpoint; what it missed while disabled after failures is replayed or
    /// given up as `missed` says.
    pub async fn enable_webhook(&self, account: &AccountId, id: &WebhookId, missed: Missed) -> StoreResult<Webhook> {
        let replay = missed == Missed::Replay;
        let webhook = self.store.enable_webhook(account, id, missed, self.now()).await?;
        if replay {
            self.wake();
        }
        Ok(webhook)
    }

    /// Makes an endpoint's dead deliveries (since `since`, if given) due again; returns how many.
    pub async fn replay_dead(
        &self,
        account: &AccountId,
        id: &WebhookId,
        since: Option<chrono::DateTime<chrono::Utc>>,
    ) -> StoreResult<u64> {
        let requeued = self.store.replay_dead(account, id, since, self.now()).await?;
        if requeued > 0 {
            self.wake();
        }
        Ok(requeued)
    }

    /// Now, at the precision the store keeps.
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now().trunc_subsecs(3)
    }
}
