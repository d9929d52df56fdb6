//! How deliveries are made. Defaults are in one place: [`DispatchConfig::default`].

use std::time::Duration;

use scanhook_core::RetrySchedule;

#[derive(Debug, Clone)]
pub struct DispatchConfig {
    /// Delays before each attempt of a round.
    pub retry: RetrySchedule,
    /// Whole-request timeout of one attempt.
    pub timeout: Duration,
    /// How long a claimed delivery stays leased; longer than `timeout`, so a live worker
    /// never loses a lease mid-request.
    pub lease: Duration,
    /// Consecutive dead deliveries after which an endpoint is disabled (0: never).
    pub disable_after: u32,
    /// Requests in flight at once, across all endpoints.
    pub max_in_flight: usize,
    /// Deliveries leased per claim.
    pub claim_batch: u32,
    /// Longest sleep between looks for due work (other nodes, expired leases).
    pub poll_interval: Duration,
    /// How long shutdown waits for requests in flight before releasing their leases.
    pub shutdown_grace: Duration,
    /// Prefix of the event, delivery, attempt and signature headers.
    pub header_prefix: String,
    pub user_agent: String,
    /// Whether endpoints may shape bodies with their own jq templates. Templates run in
    /// this process without a step or memory limit, so a deployment whose users it does
    /// not trust can turn them off (the built-in chat formats still work).
    pub allow_templates: bool,
    /// Whether deliveries may go to loopback, private and other non-public addresses
    /// (the SSRF guard is off). For tests and single-tenant networks.
    pub allow_private_networks: bool,
    /// The forward proxy every delivery goes through (`SCANHOOK_PROXY_URL`, http or
    /// https), for a static egress address. `None`: deliveries connect directly, and
    /// proxy variables of the environment are ignored either way.
    pub proxy: Option<reqwest::Url>,
    /// The command that runs a template worker (`scanhook template-worker`); endpoint
    /// templates run there, isolated. `None` runs them in this process (engine tests).
    pub template_worker: Option<(std::path::PathBuf, Vec<String>)>,
    /// How long one template run may take in a worker.
    pub template_time_limit: Duration,
    /// Longest wait for a template worker; past it the attempt fails as retryable ("the
    /// template sandbox is busy"). Never more than a quarter of the lease.
    pub sandbox_wait: Duration,
    /// A delivery whose lease expired this many times without an outcome (its worker
    /// crashed or hung on it every time) is parked as dead instead of tried again, so one
    /// poisonous delivery cannot take the service down over and over (0: never).
    pub max_expired_leases: u32,
    /// Response bodies (and request bodies in the log) are cut at this many bytes.
    pub max_logged_body: usize,
    /// Where this deployment is reached (`SCANHOOK_PUBLIC_URL`, else `http://<listen
    /// address>`): the default CloudEvents `source`, and its host is the origin of the
    /// abuse-protection handshake.
    pub public_url: reqwest::Url,
    /// Whether this process sends requests at all (`SCANHOOK_DISPATCH`): false keeps every
    /// request on the machine, the handshake of `validate` included.
    pub sends: bool,
    /// The first part of this process's lease owner (`SCANHOOK_NODE_NAME`); a fresh ULID
    /// follows it at each start, so no two processes ever share an owner.
    pub node_name: String,
    /// Whether metrics are recorded (`SCANHOOK_METRICS`).
    pub metrics: bool,
}

impl Default for DispatchConfig {
    fn default() -> Self {
        Self {
            retry: RetrySchedule::default(),
            timeout: Duration::from_secs(30),
            lease: Duration::from_secs(60),
            disable_after: 10,
            max_in_flight: 512,
            claim_batch: 256,
            poll_interval: Duration::from_secs(1),
            shutdown_grace: Duration::from_secs(10),
            header_prefix: "X-Scanhook".into(),
            user_agent: concat!("scanhook/", env!("CARGO_PKG_VERSION")).into(),
            allow_templates: true,
            allow_private_networks: false,
            proxy: None,
            template_worker: None,
            template_time_limit: Duration::from_secs(1),
            sandbox_wait: Duration::from_secs(5),
            max_expired_leases: 3,
            max_logged_body: 64 * 1024,
            public_url: reqwest::Url::parse("http://127.0.0.1:8080/").expect("a fixed valid URL"),
            sends: true,
            node_name: "node".into(),
            metrics: true,
        }
    }
}
