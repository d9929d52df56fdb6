//! What a receiver's answer asks of its endpoint as a whole: to hold back a while (`429 Too
//! Many Requests` or `503 Service Unavailable` with `Retry-After`, in seconds or as an HTTP
//! date) or to stop for good (`410 Gone`). The receiver is not trusted: a value that is
//! neither form (or longer than any real one) is ignored, a time already past asks for
//! nothing, and no wait is longer than the retry schedule's longest step. What the engine
//! does with the answer, and the words the attempt log and the endpoint show, are decided
//! here, so every backend and node behaves alike. No I/O, no clock.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::RetrySchedule;

/// Longest `Retry-After` value read; anything longer is garbage (an HTTP date has 29
/// characters, and no wait needs more than 20 digits).
const MAX_VALUE_LEN: usize = 64;
/// Most characters of an ignored value shown in the attempt log.
const SHOWN_LEN: usize = 40;

/// The reason an endpoint is disabled with when its receiver answers `410 Gone`.
pub const GONE_REASON: &str = "disabled at once: the receiver answered HTTP 410 Gone (the endpoint no longer exists); \
     check its URL, then enable it";

/// What an answer asks beyond the failed delivery's own retry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Asked {
    /// Nothing: the retry schedule alone decides.
    Nothing,
    /// A `Retry-After` that is neither seconds nor an HTTP date (cut for the log): ignored.
    Ignored(String),
    /// Send nothing to the endpoint for `wait`: what the receiver `asked` for, at most the
    /// schedule's longest step.
    Pause { asked: Duration, wait: Duration },
    /// `410 Gone`: disable the endpoint now, with [`GONE_REASON`].
    Gone,
}

impl Asked {
    /// Reads an answer's status and its `Retry-After` header (if any), received at `now`.
    pub fn read(status: u16, retry_after: Option<&str>, now: DateTime<Utc>, schedule: &RetrySchedule) -> Self {
        match (status, retry_after) {
            (410, _) => Self::Gone,
            (429 | 503, Some(value)) => match parse_retry_after(value, now) {
                None => Self::Ignored(value.trim().chars().take(SHOWN_LEN).collect()),
                Some(asked) if asked.is_zero() => Self::Nothing,
                Some(asked) => Self::Pause { asked, wait: asked.min(schedule.longest()) },
            },
            _ => Self::Nothing,
        }
    }

    /// When a pause asked for at `now` ends (`None`: no pause). Saturates, never panics.
    pub fn pause_until(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let Self::Pause { wait, .. } = self else { return None };
        let wait = chrono::Duration::from_std(*wait).unwrap_or(chrono::Duration::MAX);
        Some(now.checked_add_signed(wait).unwrap_or(DateTime::<Utc>::MAX_UTC))
    }

    /// The attempt's error for an answer with `status` (not a 2xx): what came back and
    /// what follows from it.
    pub fn describe(&self, status: u16) -> String {
        match self {
            Self::Nothing => format!("endpoint answered HTTP {status}"),
            Self::Ignored(value) => format!(
                "endpoint answered HTTP {status}; its Retry-After '{value}' is neither seconds nor an HTTP date, \
                 so the retry schedule alone decides"
            ),
            Self::Pause { asked, wait } if asked == wait => format!(
                "endpoint answered HTTP {status} and asked to retry after {}s: nothing is sent to the endpoint \
                 before then",
                asked.as_secs()
            ),
            Self::Pause { asked, wait } => format!(
                "endpoint answered HTTP {status} and asked to retry after {}s: nothing is sent to the endpoint for \
                 {}, the retry schedule's longest step",
                asked.as_secs(),
                humantime::format_duration(*wait)
            ),
            Self::Gone => format!("endpoint answered HTTP {status} Gone: the endpoint is disabled"),
        }
    }
}

/// A `Retry-After` value as a wait from `now` (RFC 9110 §10.2.3): delta-seconds (digits
/// only; more than fit saturate) or an HTTP date (IMF-fixdate, or the obsolete RFC 850
/// and asctime forms), rounded up to a whole second; a date already past is no wait.
/// `None`: neither form.
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if value.is_empty() || value.len() > MAX_VALUE_LEN {
        return None;
    }
    if value.bytes().all(|b| b.is_ascii_digit()) {
        // All digits: only an overflow can fail, and that is a very long wait.
        return Some(Duration::from_secs(value.parse().unwrap_or(u64::MAX)));
    }
    let at: DateTime<Utc> = httpdate::parse_http_date(value).ok()?.into();
    let ms = (at - now).num_milliseconds().max(0);
    Some(Duration::from_secs((ms as u64).div_ceil(1000)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        // Sun, 06 Nov 1994 08:49:37 GMT, RFC 9110's example date.
        DateTime::from_timestamp(784_111_777, 0).unwrap()
    }

    fn schedule() -> RetrySchedule {
        RetrySchedule::parse("0s,1s,1h").unwrap()
    }

    #[test]
    fn reads_seconds_and_every_date_form() {
        assert_eq!(parse_retry_after("120", now()), Some(Duration::from_secs(120)));
        assert_eq!(parse_retry_after(" 0 ", now()), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("Sun, 06 Nov 1994 08:49:47 GMT", now()), Some(Duration::from_secs(10)));
        assert_eq!(parse_retry_after("Sunday, 06-Nov-94 08:50:37 GMT", now()), Some(Duration::from_secs(60)));
        assert_eq!(parse_retry_after("Sun Nov  6 09:49:37 1994", now()), Some(Duration::from_secs(3600)));
        // A date past is no wait; part of a second is a whole one.
        assert_eq!(parse_retry_after("Sun, 06 Nov 1994 08:49:00 GMT", now()), Some(Duration::ZERO));
        let later = now() - chrono::Duration::milliseconds(300);
        assert_eq!(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", later), Some(Duration::from_secs(1)));
    }

    #[test]
    fn garbage_is_no_answer_and_huge_numbers_saturate() {
        for bad in ["", "-5", "+5", "1.5", "5s", "soon", "Sun, 06 Nov 1994", "0x10", "１２"] {
            assert_eq!(parse_retry_after(bad, now()), None, "{bad:?}");
        }
        assert_eq!(parse_retry_after(&"9".repeat(30), now()), Some(Duration::from_secs(u64::MAX)));
        assert_eq!(parse_retry_after(&"9".repeat(65), now()), None);
        // The ends of what an HTTP date can say are read without panic.
        assert!(parse_retry_after("Fri, 31 Dec 9999 23:59:59 GMT", now()).is_some_and(|d| d.as_secs() > 1 << 37));
        assert_eq!(parse_retry_after("Wed, 31 Dec 1969 23:59:59 GMT", now()), None);
    }

    #[test]
    fn only_429_and_503_pause_and_the_wait_is_bounded_by_the_longest_step() {
        let s = schedule();
        let two = Duration::from_secs(2);
        assert_eq!(Asked::read(429, Some("2"), now(), &s), Asked::Pause { asked: two, wait: two });
        assert_eq!(Asked::read(503, Some("2"), now(), &s), Asked::Pause { asked: two, wait: two });
        let year = Duration::from_secs(31_536_000);
        let capped = Asked::Pause { asked: year, wait: Duration::from_secs(3600) };
        assert_eq!(Asked::read(429, Some("31536000"), now(), &s), capped);
        assert_eq!(Asked::read(500, Some("2"), now(), &s), Asked::Nothing);
        assert_eq!(Asked::read(429, None, now(), &s), Asked::Nothing);
        assert_eq!(Asked::read(429, Some("0"), now(), &s), Asked::Nothing);
        assert_eq!(Asked::read(429, Some("later"), now(), &s), Asked::Ignored("later".into()));
        assert_eq!(Asked::read(410, None, now(), &s), Asked::Gone);
    }

    #[test]
    fn the_log_says_what_was_asked_and_what_follows() {
        let s = schedule();
        let say = |status, value| Asked::read(status, value, now(), &s).describe(status);
        assert_eq!(say(500, None), "endpoint answered HTTP 500");
        assert!(say(429, Some("2")).contains("asked to retry after 2s"), "{}", say(429, Some("2")));
        let capped = say(429, Some("31536000"));
        assert!(
            capped.contains("31536000s") && capped.contains("for 1h, the retry schedule's longest step"),
            "{capped}"
        );
        assert!(say(503, Some("later")).contains("'later' is neither seconds nor an HTTP date"));
        assert_eq!(say(410, None), "endpoint answered HTTP 410 Gone: the endpoint is disabled");
    }
}

/// Properties of reading any value at any time (proptest).
#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    fn now() -> impl Strategy<Value = DateTime<Utc>> {
        // 1970 to 2096, in milliseconds.
        (0i64..4_000_000_000_000).prop_map(|ms| DateTime::from_timestamp_millis(ms).unwrap())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        #[test]
        fn any_value_is_read_without_panic_and_never_waits_past_the_longest_step(
            value in "\\PC{0,80}", status in 100u16..600, at in now(), steps in prop::collection::vec(0u64..100_000, 1..6),
        ) {
            let schedule = RetrySchedule::parse(&steps.iter().map(|s| format!("{s}s")).collect::<Vec<_>>().join(",")).unwrap();
            let _ = parse_retry_after(&value, at);
            if let Asked::Pause { asked, wait } = Asked::read(status, Some(&value), at, &schedule) {
                prop_assert!(matches!(status, 429 | 503));
                prop_assert!(wait <= schedule.longest() && wait <= asked && !asked.is_zero());
            }
        }

        #[test]
        fn seconds_are_read_exactly(secs in any::<u64>(), at in now()) {
            prop_assert_eq!(parse_retry_after(&secs.to_string(), at), Some(Duration::from_secs(secs)));
        }

        #[test]
        fn a_date_is_the_whole_seconds_until_it(
            at in now().prop_filter("an HTTP date is after 1970", |at| at.timestamp() > 10_000_000),
            ahead in -10_000_000i64..10_000_000,
        ) {
            let date = DateTime::from_timestamp(at.timestamp() + ahead, 0).unwrap();
            let value = httpdate::fmt_http_date(date.into());
            let wait = parse_retry_after(&value, at).expect("an IMF-fixdate");
            let exact = (date - at).num_milliseconds();
            prop_assert!(wait.as_millis() as i64 >= exact, "never sooner than asked");
            prop_assert!((wait.as_millis() as i64) < exact.max(0) + 1000, "at most a second later");
        }
    }
}
