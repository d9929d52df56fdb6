//! Logs (and traces) of `scanhook serve`: one `tracing` subscriber, its lines on stderr,
//! human-readable or JSON (`SCANHOOK_LOG_FORMAT`), filtered by `SCANHOOK_LOG`.

use anyhow::bail;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::Layer as _;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

/// Dependencies whose debug lines would print what must never be logged: tokio-postgres
/// prints every statement's parameters (payloads), reqwest and hyper-util the URLs they
/// connect to (an endpoint's URL may hold a token). Capped at `info` unless `SCANHOOK_LOG`
/// names them itself.
const CAPPED: &[&str] = &["tokio_postgres", "reqwest", "hyper_util"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

impl LogFormat {
    /// `SCANHOOK_LOG_FORMAT`: `text` (the default) or `json`.
    pub fn parse(raw: Option<&str>) -> anyhow::Result<Self> {
        match raw.map(str::trim) {
            None | Some("") | Some("text") => Ok(Self::Text),
            Some("json") => Ok(Self::Json),
            Some(other) => bail!("SCANHOOK_LOG_FORMAT must be 'text' or 'json', not '{other}'"),
        }
    }
}

/// `SCANHOOK_LOG` (default `info`) with [`CAPPED`] added.
fn filter(spec: Option<&str>) -> EnvFilter {
    let spec = spec.map(str::trim).filter(|s| !s.is_empty()).unwrap_or("info");
    let mut filter = EnvFilter::try_new(spec).unwrap_or_else(|_| EnvFilter::new("info"));
    for target in CAPPED.iter().filter(|t| !spec.contains(*t)) {
        if let Ok(directive) = format!("{target}=info").parse() {
            filter = filter.add_directive(directive);
        }
    }
    filter
}

/// Installs the subscriber; an unknown `SCANHOOK_LOG_FORMAT` is an error before anything runs.
pub fn init() -> anyhow::Result<()> {
    let format = LogFormat::parse(std::env::var("SCANHOOK_LOG_FORMAT").ok().as_deref())?;
    let filter = filter(std::env::var("SCANHOOK_LOG").ok().as_deref());
    // Not `eprintln!` when a log line cannot be written (a full disk under the log):
    // that panics, and the request being served would lose its answer.
    let lines = tracing_subscriber::fmt::layer().with_writer(std::io::stderr).log_internal_errors(false);
    let lines = match format {
        LogFormat::Text => lines.boxed(),
        // One object a line; `span` and `spans` carry the request and attempt ids.
        LogFormat::Json => lines.json().with_current_span(true).with_span_list(true).boxed(),
    };
    tracing_subscriber::registry().with(lines.with_filter(filter)).try_init()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_format_is_text_or_json_and_nothing_else() {
        assert_eq!(LogFormat::parse(None).unwrap(), LogFormat::Text);
        assert_eq!(LogFormat::parse(Some("json")).unwrap(), LogFormat::Json);
        let e = LogFormat::parse(Some("yaml")).unwrap_err().to_string();
        assert!(e.contains("SCANHOOK_LOG_FORMAT") && e.contains("yaml"), "{e}");
    }

    #[test]
    fn leaky_dependencies_stay_at_info_unless_named() {
        let f = filter(Some("debug")).to_string();
        assert!(f.contains("tokio_postgres=info"), "{f}");
        let f = filter(Some("debug,tokio_postgres=debug")).to_string();
        assert!(!f.contains("tokio_postgres=info"), "{f}");
    }
}
