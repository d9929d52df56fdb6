//! What the list pages share: filters typed in a GET form (so the address keeps them) and
//! read leniently from the URL, the checks a page makes itself so that it can say what is
//! wrong beside the field, the API's own refusals shown beside the field they name, and
//! the links to the newest and the next older page of a list.

use chrono::{DateTime, NaiveDateTime};
use maud::{Markup, html};
use scanhook_api_types::{ListOut, Problem};

/// The longest filter value or cursor a page passes on (the API bounds them again).
pub const MAX_PARAM: usize = 512;

/// The message of a problem about `field`, for beside that field.
pub fn error_for<'a>(problem: Option<&'a Problem>, field: &str) -> Option<&'a str> {
    problem.filter(|p| p.field.as_deref() == Some(field)).map(|p| p.message.as_str())
}

/// A problem about `field`, as the API would answer it (422).
pub fn invalid(field: &str, message: impl Into<String>) -> Problem {
    Problem {
        problem_type: String::new(),
        title: String::new(),
        status: 422,
        code: "invalid".into(),
        message: message.into(),
        field: Some(field.to_string()),
    }
}

/// A filter the page refuses itself: which one, and why.
#[derive(Debug)]
pub struct Refused {
    pub field: &'static str,
    pub message: String,
}

impl From<Refused> for Problem {
    fn from(r: Refused) -> Self {
        invalid(r.field, r.message)
    }
}

/// The problem `problem` when it is about none of `fields` (shown above the list).
pub fn unplaced<'a>(problem: Option<&'a Problem>, fields: &[&str]) -> Option<&'a Problem> {
    problem.filter(|p| !fields.contains(&p.field.as_deref().unwrap_or_default()))
}

/// An empty page, shown under a filter that was refused.
pub fn nothing<T>() -> ListOut<T> {
    ListOut { data: Vec::new(), next_cursor: None }
}

/// One filter field with its label and the error about it beside it.
pub fn filter(label: &str, name: &str, problem: Option<&Problem>, input: Markup) -> Markup {
    super::forms::field(label, name, "", error_for(problem, name), input)
}

/// The "Since" and "Until" fields (UTC, typed in a `datetime-local` input).
fn time_range(since: &str, until: &str, problem: Option<&Problem>) -> Markup {
    html! {
        (filter("Since (UTC)", "since", problem, html! {
            input #since type="datetime-local" name="since" value=(since) step="1";
        }))
        (filter("Until (UTC)", "until", problem, html! {
            input #until type="datetime-local" name="until" value=(until) step="1";
        }))
    }
}

/// A GET form of filters to `path` in a card: `fields`, then since and until, then Filter
/// (and Clear when any of the `set` filters is set). On a phone the card folds under one
/// line that counts them (app.js), unless a filter needs correcting.
pub fn form(path: &str, fields: Markup, (since, until): (&str, &str), set: usize, problem: Option<&Problem>) -> Markup {
    html! {
        section.card {
            details.collapsible open data-narrow-closed[problem.is_none()] {
                summary { "Filters" @if set > 0 { " · " (set) " set" } }
                form.filters method="get" action=(path) role="search" {
                    (fields)
                    (time_range(since, until, problem))
                    div.filter-actions {
                        button.primary type="submit" { "Filter" }
                        @if set > 0 { a.button href=(path) { "Clear" } }
                    }
                }
            }
        }
    }
}

/// How many of a page's filters are set.
pub fn set(kept: &[(&str, &str)]) -> usize {
    kept.iter().filter(|(_, v)| !v.is_empty()).count()
}

/// A time as typed in a `datetime-local` field (UTC, without an offset) made RFC 3339;
/// anything else goes to the API unchanged, so its error names the field.
pub fn rfc3339(raw: &str) -> String {
    if DateTime::parse_from_rfc3339(raw).is_ok() {
        return raw.to_string();
    }
    ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(raw, f).ok())
        .map(|t| t.and_utc().to_rfc3339())
        .unwrap_or_else(|| raw.to_string())
}

/// A text filter: empty means "any"; too long is a problem naming `field`.
pub fn text<'a>(field: &'static str, raw: &'a str) -> Result<Option<&'a str>, Refused> {
    match raw.trim() {
        "" => Ok(None),
        v if v.len() > MAX_PARAM => {
            Err(Refused { field, message: format!("{field} is longer than {MAX_PARAM} characters") })
        }
        v => Ok(Some(v)),
    }
}

/// A time filter as RFC 3339: empty means "any"; what is not a time is a problem naming
/// `field`, said here rather than in the API's words.
pub fn time(field: &'static str, raw: &str) -> Result<Option<String>, Refused> {
    let Some(raw) = text(field, raw)? else { return Ok(None) };
    let t = rfc3339(raw);
    if DateTime::parse_from_rfc3339(&t).is_err() {
        let message = format!("'{raw}' is not a date and time: use the picker, or type 2026-01-31T12:00 (UTC)");
        return Err(Refused { field, message });
    }
    Ok(Some(t))
}

/// `since` before `until`, when both are given.
pub fn range(since: Option<&str>, until: Option<&str>) -> Result<(), Refused> {
    let parse = |t: Option<&str>| t.and_then(|t| DateTime::parse_from_rfc3339(t).ok());
    match (parse(since), parse(until)) {
        (Some(s), Some(u)) if s >= u => {
            Err(Refused { field: "until", message: "until must be later than since".into() })
        }
        _ => Ok(()),
    }
}

/// `path` with the pairs whose value is not empty, encoded.
pub fn link(path: &str, pairs: &[(&str, &str)]) -> String {
    let set: Vec<(&str, &str)> = pairs.iter().filter(|(_, v)| !v.is_empty()).copied().collect();
    match serde_urlencoded::to_string(&set) {
        Ok(q) if !q.is_empty() => format!("{path}?{q}"),
        _ => path.to_string(),
    }
}

/// Links to a list's newest page (when showing a later one) and to its next older page:
/// `kept` are the page's other parameters, `cursor` the name of this list's cursor in the
/// page's address, `anchor` where the list is on the page (`""` for none).
pub fn pager(path: &str, kept: &[(&str, &str)], cursor: (&str, &str), next: Option<&str>, anchor: &str) -> Markup {
    let (name, current) = cursor;
    let at = |c: &str| {
        let mut pairs = kept.to_vec();
        pairs.push((name, c));
        format!("{}{anchor}", link(path, &pairs))
    };
    html! {
        @if !current.is_empty() || next.is_some() {
            nav.pager aria-label="Pages" {
                @if !current.is_empty() { a.button href=(at("")) { "← Newest" } }
                @if let Some(next) = next { a.button href=(at(next)) rel="next" { "Older →" } }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_times_are_read_as_utc_and_others_pass_through() {
        assert_eq!(rfc3339("2026-11-29T07:30"), "2026-11-29T07:30:00+00:00");
        assert_eq!(rfc3339("2026-11-29T07:30:05"), "2026-11-29T07:30:05+00:00");
        assert_eq!(rfc3339("2026-11-29T07:30:05+01:00"), "2026-11-29T07:30:05+01:00");
        assert_eq!(rfc3339("yesterday"), "yesterday");
    }

    #[test]
    fn time_filters_are_checked_and_named() {
        assert_eq!(time("since", " ").unwrap(), None);
        assert_eq!(time("since", "2026-11-29T07:30").unwrap().as_deref(), Some("2026-11-29T07:30:00+00:00"));
        let bad = Problem::from(time("until", "yesterday").unwrap_err());
        assert_eq!((bad.field.as_deref(), bad.status), (Some("until"), 422));
        assert!(bad.message.contains("'yesterday' is not a date and time"), "{}", bad.message);
        assert!(text("type", &"a".repeat(MAX_PARAM + 1)).is_err());
        let (a, b) = ("2026-11-29T07:30:00+00:00", "2026-11-29T08:00:00+00:00");
        assert!(range(Some(a), Some(b)).is_ok() && range(Some(a), None).is_ok());
        assert_eq!(range(Some(b), Some(a)).unwrap_err().field, "until");
    }

    #[test]
    fn links_keep_what_is_set_and_pagers_change_one_cursor() {
        assert_eq!(link("/events", &[("type", "a.b"), ("since", "")]), "/events?type=a.b");
        assert_eq!(link("/events", &[("type", "")]), "/events");
        let html = pager("/projects/p", &[("alerts", "x")], ("scans", "c1"), Some("c2"), "#scans").into_string();
        assert!(html.contains(r#"href="/projects/p?alerts=x#scans""#), "{html}");
        assert!(html.contains(r#"href="/projects/p?alerts=x&amp;scans=c2#scans""#), "{html}");
        assert!(pager("/events", &[], ("cursor", ""), None, "").into_string().is_empty());
    }
}
