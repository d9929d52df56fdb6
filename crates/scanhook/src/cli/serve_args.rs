//! The arguments of `scanhook serve`. Every flag also reads a `SCANHOOK_*` variable.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

pub(crate) fn duration(raw: &str) -> Result<Duration, String> {
    humantime::parse_duration(raw).map_err(|e| format!("'{raw}' is not a duration such as 30s or 5m: {e}"))
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address the HTTP API listens on (port 0 picks a free port).
    #[arg(long, env = "SCANHOOK_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Directory of the embedded database (and of the encryption key file); created if
    /// missing.
    #[arg(long, env = "SCANHOOK_DATA_DIR", default_value = "./scanhook-data")]
    pub data_dir: PathBuf,
    /// Where the data lives: `postgres://user:password@host:port/database` for PostgreSQL
    /// (several nodes may share it), or `sqlite:///path/to/file.db`. Default: SQLite in
    /// the data directory (`scanhook.db`).
    #[arg(long, env = "SCANHOOK_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Most connections to PostgreSQL this node holds at once.
    #[arg(long, env = "SCANHOOK_DATABASE_POOL_SIZE", default_value_t = 10, value_parser = clap::value_parser!(u16).range(1..))]
    pub database_pool_size: u16,
    /// API key of the default (admin) account. Without it, one is generated on first start
    /// and printed once.
    #[arg(long, env = "SCANHOOK_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    /// Delays before each attempt of a delivery, comma separated.
    #[arg(long, env = "SCANHOOK_RETRY_SCHEDULE", default_value = "0s,1m,5m,15m,1h,2h")]
    pub retry_schedule: String,
    /// Timeout of one delivery attempt.
    #[arg(long, env = "SCANHOOK_DELIVERY_TIMEOUT", default_value = "30s", value_parser = duration)]
    pub delivery_timeout: Duration,
    /// Disable an endpoint after this many deliveries in a row died (0: never).
    #[arg(long, env = "SCANHOOK_DISABLE_AFTER", default_value_t = 10)]
    pub disable_after: u32,
    /// Most webhook endpoints an account may have.
    #[arg(long, env = "SCANHOOK_MAX_WEBHOOKS", default_value_t = 10)]
    pub max_webhooks: u32,
    /// Largest request body the API accepts, in bytes.
    #[arg(long, env = "SCANHOOK_MAX_BODY_BYTES", default_value_t = 1024 * 1024)]
    pub max_body_bytes: usize,
    /// Largest scan report (`POST /v1/scans/{id}/complete`, JSON or SARIF) the API accepts, in bytes.
    #[arg(long, env = "SCANHOOK_MAX_REPORT_BYTES", default_value_t = 64 * 1024 * 1024)]
    pub max_report_bytes: usize,
    /// Reports larger than the body limit parsed at once; others wait for a slot.
    #[arg(long, env = "SCANHOOK_MAX_CONCURRENT_REPORTS", default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..))]
    pub max_concurrent_reports: u16,
    /// How long a large report waits for a slot before the answer is 503 with Retry-After.
    #[arg(long, env = "SCANHOOK_REPORT_WAIT", default_value = "10s", value_parser = duration)]
    pub report_wait: Duration,
    /// Events each account may report per second on this node (`POST /v1/events`, and
    /// each event of a batch); over it the answer is 429 with Retry-After. Unset: no limit.
    #[arg(long, env = "SCANHOOK_INGEST_RATE")]
    pub ingest_rate: Option<std::num::NonZeroU32>,
    /// Events an account may report at once above its rate (default: one second's worth,
    /// at least 100, a full batch).
    #[arg(long, env = "SCANHOOK_INGEST_BURST", requires = "ingest_rate")]
    pub ingest_burst: Option<std::num::NonZeroU32>,
    /// Allow endpoints on private and loopback addresses (the SSRF guard honours it).
    #[arg(long, env = "SCANHOOK_ALLOW_PRIVATE_NETWORKS", default_value_t = false, action = clap::ArgAction::Set)]
    pub allow_private_networks: bool,
    /// How long a worker holds a delivery; must exceed the delivery timeout
    /// (default: the timeout plus 30 s).
    #[arg(long, env = "SCANHOOK_LEASE", value_parser = duration)]
    pub lease: Option<Duration>,
    /// How long history is kept: succeeded and dead deliveries with their attempts,
    /// events with no delivery left to send, idempotency keys, and finished scans no
    /// violation names. Deliveries still to be sent are kept, however old.
    #[arg(long, env = "SCANHOOK_RETENTION", default_value = "30days", value_parser = duration)]
    pub retention: Duration,
    /// How long attempts' logged request and response bodies are kept (default: the
    /// retention); at most the retention.
    #[arg(long, env = "SCANHOOK_ATTEMPT_BODY_RETENTION", value_parser = duration)]
    pub attempt_body_retention: Option<Duration>,
    /// Longest wait between looks for due deliveries.
    #[arg(long, env = "SCANHOOK_POLL_INTERVAL", default_value = "1s", value_parser = duration)]
    pub poll_interval: Duration,
    /// Delivery requests in flight at once.
    #[arg(long, env = "SCANHOOK_MAX_IN_FLIGHT", default_value_t = 512)]
    pub max_in_flight: usize,
    /// On SIGTERM, how long to let requests in flight finish before releasing them.
    #[arg(long, env = "SCANHOOK_SHUTDOWN_GRACE", default_value = "10s", value_parser = duration)]
    pub shutdown_grace: Duration,
    /// On SIGTERM, how long the API goes on answering (with `/readyz` at 503, so a load
    /// balancer takes the node out) before it stops accepting connections.
    #[arg(long, env = "SCANHOOK_SHUTDOWN_DRAIN", default_value = "0s", value_parser = duration)]
    pub shutdown_drain: Duration,
    /// Prefix of the event, delivery, attempt and signature headers of deliveries (a
    /// platform's own brand, e.g. X-Juro); endpoints may override it.
    #[arg(long, env = "SCANHOOK_HEADER_PREFIX", default_value = "X-Scanhook")]
    pub header_prefix: String,
    /// Let endpoints shape bodies with their own jq templates (run in sandboxed worker
    /// processes). false: templates are refused, and stored ones fail their deliveries.
    #[arg(long, env = "SCANHOOK_TEMPLATES", default_value_t = true, action = clap::ArgAction::Set)]
    pub templates: bool,
    /// Send deliveries from this process. false: it only serves the API and stores what
    /// it accepts, and nothing leaves the machine (deliveries wait for a process with
    /// dispatch on, or for this one to be restarted with it).
    #[arg(long, env = "SCANHOOK_DISPATCH", default_value_t = true, action = clap::ArgAction::Set)]
    pub dispatch: bool,
    /// Record metrics and serve them at `/metrics` (Prometheus text format).
    #[arg(long, env = "SCANHOOK_METRICS", default_value_t = true, action = clap::ArgAction::Set)]
    pub metrics: bool,
    /// When set, `/metrics` answers only requests with `Authorization: Bearer <token>`.
    #[arg(long, env = "SCANHOOK_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
    /// Forward proxy for every delivery (http:// or https://, e.g. for a static egress
    /// IP). Proxy variables of the environment (HTTP_PROXY, ...) are never used. With a
    /// proxy, scanhook checks that an endpoint's name resolves to public addresses only
    /// before each attempt, but the proxy resolves it again: enforce egress rules there too.
    #[arg(long, env = "SCANHOOK_PROXY_URL")]
    pub proxy_url: Option<String>,
    /// Key that encrypts endpoint secrets, bearer tokens and sensitive header values in the
    /// database: base64 of 32 random bytes (`openssl rand -base64 32`). Without it, the key
    /// is read from `encryption.key` in the data directory, created there on first start.
    #[arg(long, env = "SCANHOOK_ENCRYPTION_KEY", hide_env_values = true)]
    pub encryption_key: Option<String>,
    /// User-Agent of deliveries (default: scanhook/<version>).
    #[arg(long, env = "SCANHOOK_USER_AGENT")]
    pub user_agent: Option<String>,
    /// The URL at which this deployment is reached (http:// or https://): the default
    /// CloudEvents source, and its host names scanhook in the webhook handshake
    /// (default: http://<the listen address>).
    #[arg(long, env = "SCANHOOK_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// This node's name among the nodes sharing a database: its leases are owned by
    /// `<name>-<a fresh ULID>` (unique per start), which logs and the database show.
    /// Letters, digits, '.', '_' and '-', at most 64.
    #[arg(long, env = "SCANHOOK_NODE_NAME", default_value = "node")]
    pub node_name: String,
    /// The platform's name, shown by the dashboard (default: scanhook).
    #[arg(long, env = "SCANHOOK_BRAND_NAME")]
    pub brand_name: Option<String>,
    /// The dashboard's accent colour, as #rrggbb.
    #[arg(long, env = "SCANHOOK_BRAND_COLOR")]
    pub brand_color: Option<String>,
    /// How long a dashboard session lasts without a request: 2s to 12h (default 30m).
    /// Sessions end 12 hours after sign-in however busy.
    #[arg(long, env = "SCANHOOK_SESSION_IDLE", value_parser = duration)]
    pub session_idle: Option<Duration>,
    /// The shortest `expires_in` a portal link may ask for: 1s to 10m (default 1m).
    #[arg(long, env = "SCANHOOK_PORTAL_LINK_MIN_EXPIRY", value_parser = duration)]
    pub portal_link_min_expiry: Option<Duration>,
}
