//! Waking idle nodes without a broker: a unit of work that makes deliveries due announces
//! it (`NOTIFY scanhook_work`, sent by PostgreSQL when — and only if — the unit commits),
//! and each node keeps one connection of its own (outside the pool) that listens and wakes
//! its dispatcher. Only a hint, like the dispatcher's local wake-up: a notification lost
//! while the listener reconnects is covered by the poll interval, and the listener wakes
//! its node once whenever it (re)connects, for what it may have missed.

use std::sync::Arc;
use std::time::Duration;

use tokio_postgres::AsyncMessage;

use super::Settings;

use super::Tx;
use crate::StoreResult;

const CHANNEL: &str = "scanhook_work";

/// Announces, within the unit of work `c`, that deliveries are due: heard by every node's
/// listener once the unit commits. (Notifications of one transaction are folded into one.)
pub async fn announce(c: &Tx<'_>) -> StoreResult<()> {
    c.batch_execute(&format!("NOTIFY {CHANNEL}")).await?;
    Ok(())
}

/// Listens until the task is aborted, calling `wake` on each announcement; a lost
/// connection is logged and made again a second later.
pub async fn run(settings: Settings, wake: Arc<dyn Fn() + Send + Sync>) {
    loop {
        if let Err(e) = listen(&settings, wake.as_ref()).await {
            tracing::warn!(error = %e, "the PostgreSQL work listener lost its connection; reconnecting");
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

async fn listen(settings: &Settings, wake: &(dyn Fn() + Send + Sync)) -> Result<(), tokio_postgres::Error> {
    let (client, mut connection) = settings.config.connect(settings.tls.clone()).await?;
    let (heard, mut announcements) = tokio::sync::mpsc::unbounded_channel();
    // The connection's messages, notifications among them, are read by polling it; that
    // also carries the LISTEN below.
    let pump = tokio::spawn(async move {
        loop {
            match std::future::poll_fn(|cx| connection.poll_message(cx)).await {
                Some(Ok(AsyncMessage::Notification(_))) => {
                    let _ = heard.send(());
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e),
                None => return Ok(()),
            }
        }
    });
    client.batch_execute(&format!("LISTEN {CHANNEL}")).await?;
    wake();
    while announcements.recv().await.is_some() {
        wake();
    }
    drop(client);
    pump.await.unwrap_or(Ok(()))
}
