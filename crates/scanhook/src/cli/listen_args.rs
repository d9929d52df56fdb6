//! The arguments of `scanhook listen`, the local receiver for developing against webhooks.

use std::time::Duration;

use clap::Args;

#[derive(Debug, Clone, Args)]
pub struct ListenArgs {
    /// Port on 127.0.0.1 to receive webhooks on, any path (0 picks a free port).
    #[arg(long, default_value_t = 9000)]
    pub port: u16,
    /// The endpoint's signing secret (`whsec_…`), or for `standard-ed25519` its public
    /// key (`whpk_…`): each request's Standard Webhooks signature is checked with it.
    /// Without it, signatures are shown as not checked.
    #[arg(long, env = "SCANHOOK_LISTEN_SECRET", hide_env_values = true)]
    pub secret: Option<String>,
    /// The endpoint's bearer token: each request's `Authorization: Bearer` is checked
    /// against it.
    #[arg(long, env = "SCANHOOK_LISTEN_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Relay every request unchanged to this URL and answer with its status and body;
    /// without it, every request gets 204.
    #[arg(long, value_name = "URL")]
    pub forward_to: Option<reqwest::Url>,
    /// How far `webhook-timestamp` may be from this machine's clock.
    #[arg(long, default_value = "5m", value_parser = super::serve_args::duration)]
    pub tolerance: Duration,
    /// Timeout of one forwarded request.
    #[arg(long, default_value = "30s", value_parser = super::serve_args::duration)]
    pub forward_timeout: Duration,
}
