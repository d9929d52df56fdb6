//! `scanhook serve`: validate the configuration, open the store, bootstrap the admin
//! account, then run the API and the dispatcher until SIGTERM or Ctrl-C.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use scanhook_core::{ApiKey, ApiKeyId, RetrySchedule};
use scanhook_engine::{DispatchConfig, Engine, SystemClock};
use scanhook_server::dashboard::DashboardConfig;
use scanhook_server::{AppState, IngestRate, Limits};

use scanhook_store::postgres::PostgresStore;
use scanhook_store::sqlite::SqliteStore;
use scanhook_store::{NewApiKey, SecretBox, Store};
use tokio_util::sync::CancellationToken;

use crate::cli::ServeArgs;

/// The key that `--api-key` sets is stored under this name, so a new value replaces it.
const CONFIG_KEY_NAME: &str = "configured";
/// The encryption key's file in the data directory, when SCANHOOK_ENCRYPTION_KEY is unset.
pub(crate) const KEY_FILE: &str = "encryption.key";
/// The default ingest burst's floor: one full batch (`POST /v1/events/batch`).
const FULL_BATCH: std::num::NonZeroU32 =
    std::num::NonZeroU32::new(scanhook_api_types::MAX_BATCH_EVENTS as u32).unwrap();

fn dispatch_config(args: &ServeArgs) -> anyhow::Result<DispatchConfig> {
    let retry = RetrySchedule::parse(&args.retry_schedule).context("SCANHOOK_RETRY_SCHEDULE")?;
    if retry.attempts() == 0 {
        bail!("SCANHOOK_RETRY_SCHEDULE must list at least one attempt");
    }
    if args.delivery_timeout.is_zero() || args.delivery_timeout > std::time::Duration::from_secs(300) {
        bail!("SCANHOOK_DELIVERY_TIMEOUT must be between 1ms and 5m");
    }
    let lease = args.lease.unwrap_or(args.delivery_timeout + std::time::Duration::from_secs(30));
    if lease <= args.delivery_timeout {
        bail!("SCANHOOK_LEASE ({lease:?}) must be longer than SCANHOOK_DELIVERY_TIMEOUT ({:?})", args.delivery_timeout);
    }
    if !scanhook_core::webhook::is_header_name(&args.header_prefix) {
        bail!("SCANHOOK_HEADER_PREFIX '{}' is not a valid HTTP header name", args.header_prefix);
    }
    let name_ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    if args.node_name.is_empty() || args.node_name.len() > 64 || !args.node_name.chars().all(name_ok) {
        bail!("SCANHOOK_NODE_NAME must be 1 to 64 letters, digits, '.', '_' or '-'");
    }
    let defaults = DispatchConfig::default();
    let user_agent = args.user_agent.clone().unwrap_or(defaults.user_agent.clone());
    if !is_header_value(&user_agent) {
        bail!("SCANHOOK_USER_AGENT must be visible ASCII characters and spaces");
    }
    let proxy = args.proxy_url.as_deref().map(proxy_url).transpose()?;
    // Unset, `run` sets it to the listen address once bound (port 0 picks one then).
    let public_url = args.public_url.as_deref().map(public_url).transpose()?.unwrap_or(defaults.public_url.clone());
    Ok(DispatchConfig {
        proxy,
        public_url,
        sends: args.dispatch,
        node_name: args.node_name.clone(),
        metrics: args.metrics,
        retry,
        timeout: args.delivery_timeout,
        lease,
        disable_after: args.disable_after,
        max_in_flight: args.max_in_flight.max(1),
        poll_interval: args.poll_interval,
        shutdown_grace: args.shutdown_grace,
        header_prefix: args.header_prefix.clone(),
        user_agent,
        allow_templates: args.templates,
        allow_private_networks: args.allow_private_networks,
        // Templates run in workers: this same binary, `scanhook template-worker`.
        template_worker: Some((
            std::env::current_exe().context("finding this program to run template workers")?,
            vec!["template-worker".to_string()],
        )),
        ..defaults
    })
}

fn retention(args: &ServeArgs) -> anyhow::Result<scanhook_core::retention::Retention> {
    scanhook_core::retention::Retention::new(args.retention, args.attempt_body_retention)
        .context("SCANHOOK_RETENTION, SCANHOOK_ATTEMPT_BODY_RETENTION")
}

fn proxy_url(raw: &str) -> anyhow::Result<reqwest::Url> {
    // The URL may carry the proxy's credentials: errors do not repeat it.
    let url = reqwest::Url::parse(raw).context("SCANHOOK_PROXY_URL is not a URL")?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        bail!("SCANHOOK_PROXY_URL must be an http:// or https:// URL with a host");
    }
    Ok(url)
}

fn public_url(raw: &str) -> anyhow::Result<reqwest::Url> {
    let url = reqwest::Url::parse(raw).context("SCANHOOK_PUBLIC_URL is not a URL")?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        bail!("SCANHOOK_PUBLIC_URL must be an http:// or https:// URL with a host");
    }
    // It is sent to every receiver (the CloudEvents source): no credentials, nothing after the path.
    if !url.username().is_empty() || url.password().is_some() || url.query().is_some() || url.fragment().is_some() {
        bail!("SCANHOOK_PUBLIC_URL must not carry credentials, a query or a fragment");
    }
    if url.as_str().len() > scanhook_core::format::cloudevents::MAX_SOURCE_LEN {
        bail!("SCANHOOK_PUBLIC_URL is longer than {} characters", scanhook_core::format::cloudevents::MAX_SOURCE_LEN);
    }
    Ok(url)
}

/// The key that seals secrets in the database: `given` (`SCANHOOK_ENCRYPTION_KEY`), else
/// the data directory's `encryption.key` if there is one.
pub(crate) fn existing_key(given: Option<&str>, data_dir: &Path) -> anyhow::Result<Option<SecretBox>> {
    if let Some(raw) = given {
        return SecretBox::from_base64(raw).context("SCANHOOK_ENCRYPTION_KEY").map(Some);
    }
    let path = data_dir.join(KEY_FILE);
    match std::fs::read_to_string(&path) {
        Ok(raw) => SecretBox::from_base64(&raw).with_context(|| format!("the key file {}", path.display())).map(Some),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading the key file {}", path.display())),
    }
}

/// [`existing_key`], else a new key in the data directory's `encryption.key` (mode 0600),
/// made on first start.
fn encryption_key(args: &ServeArgs) -> anyhow::Result<SecretBox> {
    if let Some(key) = existing_key(args.encryption_key.as_deref(), &args.data_dir)? {
        return Ok(key);
    }
    let path = args.data_dir.join(KEY_FILE);
    let raw = SecretBox::generate_key();
    let mut file = std::fs::OpenOptions::new();
    file.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut file, 0o600);
    let mut file = file.open(&path).with_context(|| format!("creating the key file {}", path.display()))?;
    std::io::Write::write_all(&mut file, format!("{raw}\n").as_bytes())?;
    file.sync_all()?;
    tracing::info!(path = %path.display(), "created the encryption key of stored secrets; back it up");
    Ok(SecretBox::from_base64(&raw)?)
}

/// The backend `SCANHOOK_DATABASE_URL` names: the one place a backend is picked.
#[derive(Debug, PartialEq, Eq)]
enum Database {
    Sqlite(PathBuf),
    Postgres(String),
}

fn database(args: &ServeArgs) -> anyhow::Result<Database> {
    let Some(url) = args.database_url.as_deref().map(str::trim).filter(|u| !u.is_empty()) else {
        return Ok(Database::Sqlite(args.data_dir.join("scanhook.db")));
    };
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(Database::Postgres(url.to_string()));
    }
    match url.strip_prefix("sqlite://") {
        Some(path) if !path.is_empty() => Ok(Database::Sqlite(PathBuf::from(path))),
        // Not echoed back: a URL may carry a password.
        _ => bail!("SCANHOOK_DATABASE_URL must start with postgres:// or sqlite:// (then the file's path)"),
    }
}

/// Opens (and migrates) the store `database` names, sealing secrets with `key`; with it,
/// for PostgreSQL, the same store as itself, to listen for other nodes' work.
async fn open_store(
    args: &ServeArgs,
    database: &Database,
    key: SecretBox,
) -> anyhow::Result<(Arc<dyn Store>, Option<Arc<PostgresStore>>)> {
    Ok(match database {
        Database::Sqlite(path) => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            }
            let store = SqliteStore::open(path, key).with_context(|| format!("opening {}", path.display()))?;
            (Arc::new(store), None)
        }
        Database::Postgres(url) => {
            let store = PostgresStore::connect(url, args.database_pool_size.into(), key)
                .await
                .context("connecting to PostgreSQL (SCANHOOK_DATABASE_URL)")?;
            let store = Arc::new(store);
            (store.clone(), Some(store))
        }
    })
}

/// Stops a background task when the value goes out of scope.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn is_header_value(value: &str) -> bool {
    !value.is_empty() && value.bytes().all(|b| b == b' ' || b.is_ascii_graphic())
}

async fn bootstrap_admin(
    store: &dyn Store,
    configured: Option<&ApiKey>,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<()> {
    let (account, created) = store.ensure_default_account(now).await?;
    let key = match configured {
        Some(key) => key.clone(),
        None if created => ApiKey::generate(),
        None => return Ok(()),
    };
    let record = NewApiKey {
        id: ApiKeyId::generate(),
        name: CONFIG_KEY_NAME.into(),
        key_hash: key.hash(),
        prefix: key.prefix(),
    };
    store.create_api_key(&account.id, record, configured.is_some(), now).await?;
    if configured.is_none() {
        println!("Generated the admin API key (shown once, keep it): {}", key.expose());
    }
    Ok(())
}

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let telemetry = crate::telemetry::init()?;

    // Every setting is checked before anything touches the disk.
    let mut config = dispatch_config(&args)?;
    // The session cookie is Secure when the deployment is reached over https.
    let dashboard = DashboardConfig::new(
        args.brand_name.as_deref(),
        args.brand_color.as_deref(),
        args.public_url.as_deref().is_some_and(|u| u.to_ascii_lowercase().starts_with("https://")),
    )
    .and_then(|d| d.lifetimes(args.session_idle, args.portal_link_min_expiry))
    .map_err(anyhow::Error::msg)?;
    let retention = retention(&args)?;
    let api_key = args.api_key.as_deref().map(ApiKey::parse).transpose().context("SCANHOOK_API_KEY")?;
    if args.allow_private_networks {
        tracing::info!("private and loopback endpoints are allowed");
    }
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("creating the data directory {}", args.data_dir.display()))?;
    let database = database(&args)?;
    let key = encryption_key(&args)?;
    let (store, shared) = open_store(&args, &database, key).await?;

    let clock = Arc::new(SystemClock);
    bootstrap_admin(store.as_ref(), api_key.as_ref(), scanhook_engine::Clock::now(clock.as_ref())).await?;

    let listener =
        tokio::net::TcpListener::bind(args.listen).await.with_context(|| format!("listening on {}", args.listen))?;
    let addr = listener.local_addr()?;
    if args.public_url.is_none() {
        config.public_url = reqwest::Url::parse(&format!("http://{addr}")).context("the listen address as a URL")?;
    }

    let engine = Arc::new(Engine::new(store, config, clock));
    tracing::info!(node = engine.node(), "this node owns its leases under this name");
    // Nodes sharing PostgreSQL wake each other when they make deliveries due (LISTEN/NOTIFY);
    // the poll interval stays the backstop.
    let _listener = match (&shared, args.dispatch) {
        (Some(pg), true) => {
            let engine = engine.clone();
            Some(AbortOnDrop(pg.listen_for_work(move || engine.wake())))
        }
        _ => None,
    };
    let dispatcher = engine.dispatcher(engine.node().to_string())?;
    let state = AppState::new(
        engine,
        Limits {
            max_webhooks: args.max_webhooks,
            max_body_bytes: args.max_body_bytes,
            max_report_bytes: args.max_report_bytes,
            max_concurrent_reports: args.max_concurrent_reports.into(),
            report_wait: args.report_wait,
            ingest_rate: args.ingest_rate.map(|per_second| IngestRate {
                per_second,
                burst: args.ingest_burst.unwrap_or(per_second.max(FULL_BATCH)),
            }),
        },
    )
    .with_dashboard(dashboard)
    .with_metrics_token(args.metrics_token.clone());

    match &database {
        Database::Sqlite(_) if args.database_url.is_none() => {
            println!("scanhook listening on http://{addr} (data in {})", args.data_dir.display())
        }
        Database::Sqlite(path) => println!("scanhook listening on http://{addr} (data in {})", path.display()),
        Database::Postgres(_) => println!("scanhook listening on http://{addr} (data in PostgreSQL)"),
    }

    let shutdown = CancellationToken::new();
    tokio::spawn(wait_for_signal(shutdown.clone()));
    let worker = match args.dispatch {
        true => tokio::spawn(dispatcher.run(shutdown.clone())),
        false => {
            tracing::warn!("SCANHOOK_DISPATCH=false: this process sends no deliveries");
            tokio::spawn(async {})
        }
    };
    let sweeper = tokio::spawn(scanhook_engine::sweeper::run(state.engine.clone(), shutdown.clone()));
    let pruner = tokio::spawn(scanhook_engine::retention::run(state.engine.clone(), retention, shutdown.clone()));
    scanhook_server::serve(listener, state, shutdown.clone(), args.shutdown_drain).await?;
    worker.await.context("the dispatcher stopped abnormally")?;
    sweeper.await.context("the scan sweeper stopped abnormally")?;
    pruner.await.context("the retention job stopped abnormally")?;
    tracing::info!("stopped");
    telemetry.shutdown().await;
    Ok(())
}

async fn wait_for_signal(shutdown: CancellationToken) {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                let _ = ctrl_c.await;
                shutdown.cancel();
                return;
            }
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    tracing::info!("shutting down: no new work; finishing deliveries in flight");
    shutdown.cancel();
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        serve: ServeArgs,
    }

    fn database_of(flags: &[&str]) -> anyhow::Result<Database> {
        let args = Cli::try_parse_from([&["scanhook", "--data-dir", "/d"], flags].concat()).unwrap().serve;
        database(&args)
    }

    #[test]
    fn the_database_url_picks_the_backend_and_sqlite_in_the_data_dir_is_the_default() {
        assert_eq!(database_of(&[]).unwrap(), Database::Sqlite("/d/scanhook.db".into()));
        assert_eq!(database_of(&["--database-url", "sqlite:///x/s.db"]).unwrap(), Database::Sqlite("/x/s.db".into()));
        let pg = "postgres://u:pw@db:5432/hooks";
        assert_eq!(database_of(&["--database-url", pg]).unwrap(), Database::Postgres(pg.into()));
        let wrong = database_of(&["--database-url", "mysql://u:secret@db/x"]).unwrap_err().to_string();
        assert!(wrong.contains("postgres://") && !wrong.contains("secret"), "{wrong}");
    }
}
