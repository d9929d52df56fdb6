//! TLS to PostgreSQL: the `sslmode` and `sslrootcert` of a database URL, read as libpq
//! reads them, over rustls (the ring provider reqwest already brings).
//!
//! - `disable`: no TLS.
//! - `prefer` (the default, as in libpq): TLS when the server offers it, the certificate
//!   not checked; plain text when it does not.
//! - `require`: TLS or no connection, the certificate not checked (with `sslrootcert`,
//!   as libpq does: `verify-ca`).
//! - `verify-ca`: TLS, the certificate chains to `sslrootcert` (a PEM file; absent or
//!   `system`: the Mozilla roots of `webpki-roots`), whatever host it names.
//! - `verify-full`: `verify-ca`, and the certificate names the host connected to.
//!
//! tokio-postgres knows only the first three, so the URL's `sslmode` and `sslrootcert` are
//! taken out of it here and the rest is parsed by tokio-postgres. Client certificates
//! (`sslcert`, `sslkey`) are not supported: tokio-postgres refuses them as unknown.

use std::sync::Arc;

use percent_encoding::percent_decode_str;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_postgres::config::SslMode as DriverMode;
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::{StoreError, StoreResult};

/// How a connection to PostgreSQL uses TLS (libpq's `sslmode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    fn parse(raw: &str) -> StoreResult<Self> {
        Ok(match raw {
            "disable" => Self::Disable,
            "prefer" => Self::Prefer,
            "require" => Self::Require,
            "verify-ca" => Self::VerifyCa,
            "verify-full" => Self::VerifyFull,
            _ => {
                return Err(StoreError::Backend(
                    format!(
                        "sslmode '{raw}' of the database URL is not one of disable, prefer, require, verify-ca, \
                         verify-full"
                    )
                    .into(),
                ));
            }
        })
    }

    fn driver(self) -> DriverMode {
        match self {
            Self::Disable => DriverMode::Disable,
            Self::Prefer => DriverMode::Prefer,
            Self::Require | Self::VerifyCa | Self::VerifyFull => DriverMode::Require,
        }
    }
}

/// Where to connect and how: the driver's settings and the TLS connector they need.
#[derive(Clone)]
pub struct Settings {
    pub(crate) config: tokio_postgres::Config,
    pub(crate) tls: MakeRustlsConnect,
    mode: SslMode,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The driver's Config hides the password in its Debug.
        f.debug_struct("Settings").field("config", &self.config).field("mode", &self.mode).finish()
    }
}

impl Settings {
    /// Reads a `postgres://` URL (or libpq's `key=value` form, which tokio-postgres reads
    /// without `verify-*` and `sslrootcert`). Errors never repeat the URL: it may carry a
    /// password.
    pub fn parse(url: &str) -> StoreResult<Self> {
        let (base, query) = url.split_once('?').unwrap_or((url, ""));
        let (mut mode, mut root) = (None, None);
        let mut kept = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value = || percent_decode_str(value).decode_utf8_lossy().into_owned();
            match name {
                "sslmode" => mode = Some(SslMode::parse(&value())?),
                "sslrootcert" => root = Some(value()),
                _ => kept.push(pair),
            }
        }
        let rest = if kept.is_empty() { String::new() } else { format!("?{}", kept.join("&")) };
        let config: tokio_postgres::Config = format!("{base}{rest}").parse()?;
        let mode = match (mode.unwrap_or(SslMode::Prefer), &root) {
            // libpq: with a root certificate, `require` checks the chain too.
            (SslMode::Require, Some(_)) => SslMode::VerifyCa,
            (mode, _) => mode,
        };
        Self::with_mode(config, mode, root.as_deref())
    }

    /// The driver's settings as they are: its `sslmode` (disable, prefer or require),
    /// certificates not checked.
    pub fn from_config(config: tokio_postgres::Config) -> StoreResult<Self> {
        let mode = match config.get_ssl_mode() {
            DriverMode::Disable => SslMode::Disable,
            DriverMode::Require => SslMode::Require,
            _ => SslMode::Prefer,
        };
        Self::with_mode(config, mode, None)
    }

    fn with_mode(mut config: tokio_postgres::Config, mode: SslMode, root: Option<&str>) -> StoreResult<Self> {
        config.ssl_mode(mode.driver());
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier: Arc<dyn ServerCertVerifier> = match mode {
            SslMode::Disable | SslMode::Prefer | SslMode::Require => {
                Arc::new(Lenient { provider: provider.clone(), chain: None })
            }
            SslMode::VerifyCa | SslMode::VerifyFull => {
                let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots(root)?), provider.clone())
                    .build()
                    .map_err(|e| StoreError::Backend(format!("the root certificates (sslrootcert): {e}").into()))?;
                match mode {
                    SslMode::VerifyFull => webpki,
                    _ => Arc::new(Lenient { provider: provider.clone(), chain: Some(webpki) }),
                }
            }
        };
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| StoreError::Backend(Box::new(e)))?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        Ok(Self { config, tls: MakeRustlsConnect::new(tls), mode })
    }

    /// The TLS mode these settings connect with.
    pub fn ssl_mode(&self) -> SslMode {
        self.mode
    }

    /// The driver's settings (host, database, user, …).
    pub fn config(&self) -> &tokio_postgres::Config {
        &self.config
    }
}

/// `sslrootcert`'s certificates, or the Mozilla roots when it is absent or `system`.
fn roots(path: Option<&str>) -> StoreResult<RootCertStore> {
    let Some(path) = path.filter(|p| *p != "system") else {
        return Ok(RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() });
    };
    let unreadable = |e: &dyn std::fmt::Display| StoreError::Backend(format!("sslrootcert {path}: {e}").into());
    let mut store = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(path).map_err(|e| unreadable(&e))? {
        store.add(cert.map_err(|e| unreadable(&e))?).map_err(|e| unreadable(&e))?;
    }
    if store.is_empty() {
        return Err(unreadable(&"no certificate in the file"));
    }
    Ok(store)
}

/// `prefer` and `require` (no `chain`): encrypted, the server's certificate taken as it
/// comes, libpq's meaning of these modes. `verify-ca` (a `chain`): the certificate must
/// chain to a root, the name in it may be any — webpki checks the chain before the name,
/// so a name error means the chain was good. The handshake's signatures are checked either
/// way.
#[derive(Debug)]
struct Lenient {
    provider: Arc<CryptoProvider>,
    chain: Option<Arc<WebPkiServerVerifier>>,
}

impl ServerCertVerifier for Lenient {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(chain) = &self.chain else { return Ok(ServerCertVerified::assertion()) };
        match chain.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sslmode_and_sslrootcert_are_read_from_the_url_and_the_rest_goes_to_the_driver() {
        let s = Settings::parse("postgres://u:pw@db:5433/hooks?sslmode=verify-full&application_name=x").unwrap();
        assert_eq!(s.ssl_mode(), SslMode::VerifyFull);
        assert_eq!(s.config().get_ssl_mode(), DriverMode::Require);
        assert_eq!(s.config().get_application_name(), Some("x"));
        assert_eq!(s.config().get_dbname(), Some("hooks"));
        assert_eq!(Settings::parse("postgres://u@db/h").unwrap().ssl_mode(), SslMode::Prefer);
        assert_eq!(Settings::parse("postgres://u@db/h?sslmode=disable").unwrap().ssl_mode(), SslMode::Disable);
        let pem = "/etc/ssl/certs/ssl-cert-snakeoil.pem";
        if std::path::Path::new(pem).exists() {
            let url = format!("postgres://u@db/h?sslmode=require&sslrootcert={}", pem.replace('/', "%2F"));
            assert_eq!(Settings::parse(&url).unwrap().ssl_mode(), SslMode::VerifyCa, "libpq's require with a root");
        }
        let wrong = Settings::parse("postgres://u:secret@db/h?sslmode=allow").unwrap_err().to_string();
        assert!(wrong.contains("sslmode 'allow'") && !wrong.contains("secret"), "{wrong}");
        let missing = Settings::parse("postgres://u@db/h?sslmode=verify-ca&sslrootcert=/nonexistent.pem").unwrap_err();
        assert!(missing.to_string().contains("sslrootcert /nonexistent.pem"), "{missing}");
    }
}
