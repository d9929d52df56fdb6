//! Why an attempt failed, classed from the errors themselves (never from their text).

use std::error::Error as StdError;

/// Why an attempt failed, as the sender saw it (never read back from error text).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// No answer within the endpoint's timeout.
    Timeout,
    /// No connection (refused, unreachable, no such name).
    Connect,
    /// The TLS handshake failed (certificate, protocol).
    Tls,
    /// A `4xx` answer.
    Http4xx,
    /// A `5xx` answer.
    Http5xx,
    /// Any other answer that is not `2xx` (`1xx`, `3xx`: redirects are not followed).
    HttpOther,
    /// A `2xx` answer whose body could not be read.
    Response,
    /// The body could not be rendered (the endpoint's template or format): nothing sent.
    Template,
    /// The template sandbox had no worker in time: nothing sent.
    SandboxBusy,
    /// The SSRF guard refused the endpoint's address: nothing sent.
    Guard,
    /// The request could not be signed (no secret of its scheme's kind): nothing sent.
    Signing,
    /// Any other transport error.
    Request,
}

impl Failure {
    pub const ALL: [Failure; 12] = [
        Self::Timeout,
        Self::Connect,
        Self::Tls,
        Self::Http4xx,
        Self::Http5xx,
        Self::HttpOther,
        Self::Response,
        Self::Template,
        Self::SandboxBusy,
        Self::Guard,
        Self::Signing,
        Self::Request,
    ];

    /// The `class` label.
    pub fn label(self) -> &'static str {
        match self {
            Self::Timeout => "timeout",
            Self::Connect => "connect",
            Self::Tls => "tls",
            Self::Http4xx => "http_4xx",
            Self::Http5xx => "http_5xx",
            Self::HttpOther => "http_other",
            Self::Response => "response",
            Self::Template => "template",
            Self::SandboxBusy => "sandbox_busy",
            Self::Guard => "guard",
            Self::Signing => "signing",
            Self::Request => "request",
        }
    }

    /// An answer with `status` that was not a success (a `2xx` here: its body failed).
    pub fn of_status(status: u16) -> Self {
        match status {
            200..=299 => Self::Response,
            400..=499 => Self::Http4xx,
            500..=599 => Self::Http5xx,
            _ => Self::HttpOther,
        }
    }

    /// A request that got no answer, by what reqwest and the errors it wraps say.
    pub fn of_transport(e: &reqwest::Error) -> Self {
        if e.is_timeout() {
            Self::Timeout
        } else {
            Self::of_chain(e).unwrap_or(if e.is_connect() { Self::Connect } else { Self::Request })
        }
    }

    /// TLS or the guard, if an error in `e`'s chain is theirs. An `io::Error`'s `source`
    /// skips the error it wraps (reqwest's TLS failure is an `io::Error` in an `io::Error`
    /// around rustls's), so the walk steps into the wrapped error instead.
    fn of_chain(e: &(dyn StdError + 'static)) -> Option<Self> {
        let mut next: Option<&(dyn StdError + 'static)> = Some(e);
        while let Some(e) = next {
            if e.is::<rustls::Error>() {
                return Some(Self::Tls);
            }
            if e.is::<crate::guard::PrivateOnly>() {
                return Some(Self::Guard);
            }
            next = match e.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref()) {
                Some(wrapped) => Some(wrapped as &(dyn StdError + 'static)),
                None => e.source(),
            };
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_classed_by_their_status() {
        assert_eq!(Failure::of_status(404), Failure::Http4xx);
        assert_eq!(Failure::of_status(429), Failure::Http4xx);
        assert_eq!(Failure::of_status(500), Failure::Http5xx);
        assert_eq!(Failure::of_status(503), Failure::Http5xx);
        assert_eq!(Failure::of_status(302), Failure::HttpOther);
        assert_eq!(Failure::of_status(101), Failure::HttpOther);
        assert_eq!(Failure::of_status(200), Failure::Response);
    }

    /// An error that wraps another, as hyper and reqwest wrap the connector's.
    #[derive(Debug)]
    struct Wrap(Box<dyn StdError + Send + Sync>);
    impl std::fmt::Display for Wrap {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("wrapped")
        }
    }
    impl StdError for Wrap {
        fn source(&self) -> Option<&(dyn StdError + 'static)> {
            Some(self.0.as_ref())
        }
    }

    #[test]
    fn tls_and_guard_errors_are_found_deep_in_the_chain_and_inside_io_errors() {
        // As reqwest reports a handshake with a server that speaks plain HTTP.
        let tls = std::io::Error::new(std::io::ErrorKind::InvalidData, rustls::Error::DecryptError);
        let tls = std::io::Error::other(tls);
        assert_eq!(Failure::of_chain(&Wrap(Box::new(Wrap(Box::new(tls))))), Some(Failure::Tls));
        let guard = crate::guard::PrivateOnly("localhost resolves only to loopback".into());
        assert_eq!(Failure::of_chain(&Wrap(Box::new(guard))), Some(Failure::Guard));
        let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        assert_eq!(Failure::of_chain(&Wrap(Box::new(refused))), None);
    }

    #[test]
    fn every_class_has_its_own_counter_and_label() {
        for (i, f) in Failure::ALL.iter().enumerate() {
            assert_eq!(*f as usize, i, "ALL is in declaration order");
        }
        let labels: std::collections::HashSet<_> = Failure::ALL.iter().map(|f| f.label()).collect();
        assert_eq!(labels.len(), Failure::ALL.len());
    }
}
