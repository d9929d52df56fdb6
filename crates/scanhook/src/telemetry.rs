//! Logs and traces of `scanhook serve`: one `tracing` subscriber, its lines on stderr,
//! human-readable or JSON (`SCANHOOK_LOG_FORMAT`), filtered by `SCANHOOK_LOG`; and, only
//! when `SCANHOOK_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_ENDPOINT`) is set, its spans
//! exported over OTLP/HTTP (protobuf) in batches from a bounded queue.

use std::time::Duration;

use anyhow::{Context as _, bail};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig as _;
use opentelemetry_sdk::trace::{BatchConfigBuilder, BatchSpanProcessor, SdkTracerProvider};
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

/// Spans waiting for export at most; more are dropped (the collector is down or slow),
/// never waited for.
const MAX_QUEUED_SPANS: usize = 4096;
const EXPORT_BATCH: usize = 512;
const EXPORT_EVERY: Duration = Duration::from_secs(1);
const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);

/// The OTLP/HTTP traces URL: `SCANHOOK_OTLP_ENDPOINT`, else `OTEL_EXPORTER_OTLP_ENDPOINT`, a
/// collector's base URL (`http://collector:4318`) to which `/v1/traces` is added as the
/// OTLP spec says (a URL already ending in it is kept). `None`: no exporter at all.
fn otlp_traces_url(scanhook: Option<&str>, otel: Option<&str>) -> anyhow::Result<Option<String>> {
    let Some((name, raw)) = [("SCANHOOK_OTLP_ENDPOINT", scanhook), ("OTEL_EXPORTER_OTLP_ENDPOINT", otel)]
        .into_iter()
        .find_map(|(name, v)| v.map(str::trim).filter(|v| !v.is_empty()).map(|v| (name, v)))
    else {
        return Ok(None);
    };
    // Not echoed back: the URL may carry credentials.
    let url = reqwest::Url::parse(raw).ok().filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some());
    let Some(url) = url else { bail!("{name} must be an http:// or https:// URL") };
    let base = url.as_str().trim_end_matches('/');
    Ok(Some(if base.ends_with("/v1/traces") { base.to_string() } else { format!("{base}/v1/traces") }))
}

/// What must be flushed before the process ends.
pub struct Telemetry {
    traces: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Exports the spans still queued (bounded by the export timeout).
    pub async fn shutdown(self) {
        if let Some(provider) = self.traces {
            let _ = tokio::task::spawn_blocking(move || provider.shutdown()).await;
        }
    }
}

fn tracer_provider(url: &str) -> anyhow::Result<SdkTracerProvider> {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
        .with_endpoint(url)
        .with_timeout(EXPORT_TIMEOUT)
        .build()
        .context("the OTLP trace exporter")?;
    let batch = BatchConfigBuilder::default()
        .with_max_queue_size(MAX_QUEUED_SPANS)
        .with_max_export_batch_size(EXPORT_BATCH)
        .with_scheduled_delay(EXPORT_EVERY)
        .build();
    let resource = opentelemetry_sdk::Resource::builder().with_service_name("scanhook").build();
    Ok(SdkTracerProvider::builder()
        .with_span_processor(BatchSpanProcessor::builder(exporter).with_batch_config(batch).build())
        .with_resource(resource)
        .build())
}

/// Installs the subscriber; an unknown `SCANHOOK_LOG_FORMAT` or a malformed OTLP endpoint
/// is an error before anything runs.
pub fn init() -> anyhow::Result<Telemetry> {
    let url = otlp_traces_url(
        std::env::var("SCANHOOK_OTLP_ENDPOINT").ok().as_deref(),
        std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT").ok().as_deref(),
    )?;
    let format = LogFormat::parse(std::env::var("SCANHOOK_LOG_FORMAT").ok().as_deref())?;
    let log_filter = filter(std::env::var("SCANHOOK_LOG").ok().as_deref());
    // Not `eprintln!` when a log line cannot be written (a full disk under the log):
    // that panics, and the request being served would lose its answer.
    let lines = tracing_subscriber::fmt::layer().with_writer(std::io::stderr).log_internal_errors(false);
    let lines = match format {
        LogFormat::Text => lines.boxed(),
        // One object a line; `span` and `spans` carry the request and attempt ids.
        LogFormat::Json => lines.json().with_current_span(true).with_span_list(true).boxed(),
    };
    let traces = url.as_deref().map(tracer_provider).transpose()?;
    // Spans at `info` and above (requests, store calls, attempts), whatever the log level.
    let spans = traces.as_ref().map(|provider| {
        tracing_opentelemetry::layer().with_tracer(provider.tracer("scanhook")).with_filter(filter(None))
    });
    tracing_subscriber::registry().with(lines.with_filter(log_filter)).with(spans).try_init()?;
    if let Some(url) = &url {
        tracing::info!(%url, "exporting traces over OTLP/HTTP");
    }
    Ok(Telemetry { traces })
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
    fn the_otlp_endpoint_is_a_base_url_and_scanhooks_variable_wins() {
        assert_eq!(otlp_traces_url(None, None).unwrap(), None);
        let url = otlp_traces_url(Some("http://c:4318/"), Some("http://other:4318")).unwrap();
        assert_eq!(url.as_deref(), Some("http://c:4318/v1/traces"));
        let url = otlp_traces_url(None, Some("https://c/v1/traces")).unwrap();
        assert_eq!(url.as_deref(), Some("https://c/v1/traces"));
        let e = otlp_traces_url(Some("c:4318 with:secret"), None).unwrap_err().to_string();
        assert!(e.contains("SCANHOOK_OTLP_ENDPOINT") && !e.contains("secret"), "{e}");
    }

    #[test]
    fn leaky_dependencies_stay_at_info_unless_named() {
        let f = filter(Some("debug")).to_string();
        assert!(f.contains("tokio_postgres=info"), "{f}");
        let f = filter(Some("debug,tokio_postgres=debug")).to_string();
        assert!(!f.contains("tokio_postgres=info"), "{f}");
    }
}
