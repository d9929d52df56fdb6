//! The endpoint form as API request JSON. Every setting is read into the value the API
//! takes (`wanted`); a create sends those that differ from a fresh form's, an edit those
//! that differ from the endpoint's own form (`EndpointForm::of`), read the same way. So an
//! untouched form sends nothing, and a setting the form shows in another spelling than the
//! API stores it (line ends, spaces, list order) is never written back by accident.
//! The few mistakes only the form can make (a header line without a colon, extra payload
//! that is not JSON, a timeout that is not a number) are problems naming the field, as the
//! API's own are; everything else is the API's to judge.

use scanhook_api_types::{Problem, WebhookOut};
use serde_json::{Map, Value, json};

use super::EndpointForm;
use crate::dashboard::forms::{headers, list};

/// A problem the form found itself, shown beside `field` as the API's are.
fn invalid(field: &str, message: impl Into<String>) -> Problem {
    Problem {
        problem_type: String::new(),
        title: String::new(),
        status: 422,
        code: "validation_failed".into(),
        message: message.into(),
        field: Some(field.into()),
    }
}

/// A textarea's text as typed: browsers send its line ends as CRLF.
fn text(raw: &str) -> String {
    raw.replace("\r\n", "\n").trim().to_string()
}

/// Empty text is `null` (the API's "not set").
fn or_null(raw: &str) -> Value {
    match text(raw) {
        t if t.is_empty() => Value::Null,
        t => Value::String(t),
    }
}

/// A select's value, or its default when none was posted.
fn choice<'a>(raw: &'a str, default: &'a str) -> &'a str {
    match raw.trim() {
        "" => default,
        v => v,
    }
}

impl EndpointForm {
    /// Every setting but the secrets, as the API takes it (`null`: not set).
    // The problem is shown beside its field as the API's are: not worth a box.
    #[allow(clippy::result_large_err)]
    fn wanted(&self) -> Result<Map<String, Value>, Problem> {
        let headers = headers(&text(&self.headers)).map_err(|m| invalid("headers", m))?;
        let mut sensitive = list(&self.sensitive_headers);
        sensitive.sort_by_key(|name| name.to_ascii_lowercase());
        sensitive.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
        let extra_payload = match text(&self.extra_payload) {
            t if t.is_empty() => Value::Null,
            t => serde_json::from_str::<Value>(&t)
                .map_err(|e| invalid("extra_payload", format!("extra payload must be a JSON object: {e}")))?,
        };
        let timeout = whole(&self.timeout, "timeout", "timeout must be a whole number of seconds")?;
        let max_in_flight = whole(&self.max_in_flight, "max_in_flight", "max in flight must be a whole number")?;
        let rate_limit = whole(&self.rate_limit, "rate_limit", "rate limit must be a whole number per second")?;
        let burst = whole(&self.rate_limit_burst, "rate_limit_burst", "burst must be a whole number")?;
        let scheme = choice(&self.signature, "standard");
        let mut signature = json!({ "scheme": scheme });
        if scheme == "hmac-sha256" {
            if let Value::String(header) = or_null(&self.signature_header) {
                signature["header"] = json!(header);
            }
            // Not trimmed: a prefix such as "sha256= " is the user's to choose.
            if !self.signature_prefix.is_empty() {
                signature["prefix"] = json!(self.signature_prefix);
            }
            signature["encoding"] = json!(choice(&self.signature_encoding, "hex"));
        }
        let kind = choice(&self.kind, "generic");
        let cloudevents = if kind == "cloudevents" {
            let mut settings = json!({ "mode": choice(&self.cloudevents_mode, "structured") });
            if let Value::String(source) = or_null(&self.cloudevents_source) {
                settings["source"] = json!(source);
            }
            settings
        } else {
            Value::Null
        };
        let severity = match self.min_severity.trim() {
            "" | "any" => Value::Null,
            s => json!(s),
        };
        Ok(Map::from_iter([
            ("url".into(), json!(self.url.trim())),
            ("events".into(), json!(list(&self.events))),
            ("description".into(), or_null(&self.description)),
            ("signature".into(), signature),
            ("timeout".into(), timeout),
            ("max_in_flight".into(), max_in_flight),
            ("rate_limit".into(), rate_limit),
            ("rate_limit_burst".into(), burst),
            ("ordering".into(), json!(choice(&self.ordering, "unordered"))),
            ("kind".into(), json!(kind)),
            ("body_json".into(), json!(choice(&self.body_json, "verbatim"))),
            ("cloudevents".into(), cloudevents),
            ("header_prefix".into(), or_null(&self.header_prefix)),
            ("projects".into(), json!(list(&self.projects))),
            ("min_severity".into(), severity),
            ("headers".into(), json!(headers)),
            ("sensitive_headers".into(), json!(sensitive)),
            ("extra_payload".into(), extra_payload),
            ("template".into(), or_null(&self.template)),
        ]))
    }

    /// The body of `POST /v1/webhooks`: the URL and events, and every other setting that
    /// is not as a fresh form has it.
    #[allow(clippy::result_large_err)]
    pub fn create_body(&self) -> Result<Value, Problem> {
        let defaults = EndpointForm::new().wanted()?;
        let mut body: Map<String, Value> = self
            .wanted()?
            .into_iter()
            .filter(|(name, value)| matches!(name.as_str(), "url" | "events") || defaults.get(name) != Some(value))
            .collect();
        for (name, secret) in [("bearer_token", &self.bearer_token), ("secret", &self.secret)] {
            if !secret.trim().is_empty() {
                body.insert(name.into(), json!(secret.trim()));
            }
        }
        Ok(Value::Object(body))
    }

    /// The body of `PATCH /v1/webhooks/{id}` for `current`: only what the form changed
    /// (`None`: nothing). An empty bearer token keeps the endpoint's; "remove" nulls it.
    #[allow(clippy::result_large_err)]
    pub fn patch_body(&self, current: &WebhookOut) -> Result<Option<Value>, Problem> {
        // A form the endpoint's own settings cannot fill (none should exist) sends all.
        let before = EndpointForm::of(current).wanted().unwrap_or_default();
        let wanted = self.wanted()?;
        let mut body: Map<String, Value> =
            wanted.clone().into_iter().filter(|(name, value)| before.get(name) != Some(value)).collect();
        // An empty burst shows "the rate": with a new rate it follows it, whatever was stored.
        if body.get("rate_limit").is_some_and(|rate| !rate.is_null())
            && let Some(Value::Null) = wanted.get("rate_limit_burst")
        {
            body.insert("rate_limit_burst".into(), Value::Null);
        }
        if !self.bearer_token.trim().is_empty() {
            body.insert("bearer_token".into(), json!(self.bearer_token.trim()));
        } else if self.remove_bearer_token.is_some() && current.bearer_token_set {
            body.insert("bearer_token".into(), Value::Null);
        }
        Ok((!body.is_empty()).then_some(Value::Object(body)))
    }
}

/// A whole number typed into `field`; empty: `null` (the default).
#[allow(clippy::result_large_err)]
fn whole(raw: &str, field: &str, message: &str) -> Result<Value, Problem> {
    match raw.trim() {
        "" => Ok(Value::Null),
        n => n.parse::<u64>().map(Value::from).map_err(|_| invalid(field, message)),
    }
}

/// The form's field for a field the API names: `events[2]` is the events field,
/// `signature.header` the signature's header, `cloudevents.source` the source.
pub fn form_field(api: &str) -> String {
    let base = api.split('[').next().unwrap_or(api);
    match base {
        "signature.header" => "signature_header",
        "signature.prefix" => "signature_prefix",
        "signature.encoding" => "signature_encoding",
        f if f.starts_with("signature") => "signature",
        "cloudevents.mode" => "cloudevents_mode",
        f if f.starts_with("cloudevents") => "cloudevents_source",
        f if f.starts_with("headers.") => "headers",
        f if f.starts_with("extra_payload") => "extra_payload",
        f => f,
    }
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn webhook(extra: Value) -> WebhookOut {
        let mut w = json!({
            "id": "wh_1", "url": "https://example.com/hook", "events": ["scan.*", "alert.raised"], "active": true,
            "headers": {"X-Team": "sec", "X-Api-Key": "[redacted]"}, "sensitive_headers": ["X-Api-Key"],
            "projects": [], "signature": {"scheme": "standard"}, "bearer_token_set": true, "kind": "generic",
            "consecutive_failures": 0, "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z",
            "max_in_flight": 10,
        });
        for (k, v) in extra.as_object().cloned().unwrap_or_default() {
            w[k] = v;
        }
        serde_json::from_value(w).unwrap()
    }

    #[test]
    fn an_untouched_edit_form_sends_nothing_whatever_is_set() {
        let every = webhook(json!({
            "description": "intake", "min_severity": "high", "timeout": 7, "kind": "cloudevents",
            "cloudevents": {"mode": "binary", "source": "/scanner"}, "header_prefix": "X-Acme",
            "body_json": "javascript", "projects": ["proj_1"], "template": "{text: .type}\n",
            "extra_payload": {"team": "sec", "n": [1, 2]},
            "signature": {"scheme": "hmac-sha256", "header": "X-Sig", "prefix": "sha256=", "encoding": "base64"},
            "max_in_flight": 3, "rate_limit": 100, "rate_limit_burst": 20, "ordering": "fifo",
        }));
        let paced = webhook(json!({"rate_limit": 5, "rate_limit_burst": 5}));
        for w in [webhook(json!({})), every, paced] {
            let mut form = EndpointForm::of(&w);
            assert_eq!(form.patch_body(&w).unwrap(), None, "{w:?}");
            // As a browser posts it back: textareas with CRLF.
            form.template = form.template.replace('\n', "\r\n");
            form.extra_payload = form.extra_payload.replace('\n', "\r\n");
            assert_eq!(form.patch_body(&w).unwrap(), None);
        }
    }

    #[test]
    fn an_edit_sends_what_changed_and_the_bearer_token_only_when_typed_or_removed() {
        let w = webhook(json!({"timeout": 7}));
        let mut form = EndpointForm::of(&w);
        form.timeout = String::new();
        form.kind = "slack".into();
        assert_eq!(form.patch_body(&w).unwrap(), Some(json!({"timeout": null, "kind": "slack"})));
        let mut form = EndpointForm::of(&w);
        form.remove_bearer_token = Some("true".into());
        assert_eq!(form.patch_body(&w).unwrap(), Some(json!({"bearer_token": null})));
        form.bearer_token = " tok_new ".into();
        assert_eq!(form.patch_body(&w).unwrap(), Some(json!({"bearer_token": "tok_new"})));
        let mut form = EndpointForm::of(&w);
        form.signature = "hmac-sha256".into();
        form.signature_header = "X-Sig".into();
        let sent = form.patch_body(&w).unwrap().unwrap();
        assert_eq!(sent, json!({"signature": {"scheme": "hmac-sha256", "header": "X-Sig", "encoding": "hex"}}));
        // Limits: a new rate keeps the burst following it; clearing the rate removes it.
        let w = webhook(json!({"max_in_flight": 3, "rate_limit": 5, "rate_limit_burst": 5}));
        let mut form = EndpointForm::of(&w);
        form.rate_limit = "50".into();
        form.max_in_flight = String::new();
        let sent = form.patch_body(&w).unwrap();
        assert_eq!(sent, Some(json!({"rate_limit": 50, "rate_limit_burst": null, "max_in_flight": null})));
        form.rate_limit = String::new();
        form.rate_limit_burst = "x".into();
        assert_eq!(form.patch_body(&w).unwrap_err().field.as_deref(), Some("rate_limit_burst"));
        form.rate_limit_burst = String::new();
        assert_eq!(form.patch_body(&w).unwrap(), Some(json!({"rate_limit": null, "max_in_flight": null})));
        // The delivery order, either way.
        let mut form = EndpointForm::of(&w);
        form.ordering = "fifo".into();
        assert_eq!(form.patch_body(&w).unwrap(), Some(json!({"ordering": "fifo"})));
        let fifo = webhook(json!({"ordering": "fifo"}));
        let mut form = EndpointForm::of(&fifo);
        form.ordering = "unordered".into();
        assert_eq!(form.patch_body(&fifo).unwrap(), Some(json!({"ordering": "unordered"})));
    }

    #[test]
    fn a_create_sends_only_what_is_set() {
        let mut form = EndpointForm::new();
        form.url = " https://example.com/hook ".into();
        assert_eq!(form.create_body().unwrap(), json!({"url": "https://example.com/hook", "events": ["*"]}));
        form.timeout = "5".into();
        form.min_severity = "any".into();
        form.bearer_token = "tok".into();
        form.cloudevents_source = "/ignored-without-the-kind".into();
        let body = form.create_body().unwrap();
        assert_eq!(
            body,
            json!({"url": "https://example.com/hook", "events": ["*"], "timeout": 5, "bearer_token": "tok"})
        );
        form.timeout = "five".into();
        assert_eq!(form.create_body().unwrap_err().field.as_deref(), Some("timeout"));
    }

    #[test]
    fn the_apis_field_names_find_the_forms_fields() {
        for (api, form) in [
            ("events[3]", "events"),
            ("projects[0]", "projects"),
            ("signature.header", "signature_header"),
            ("signature.prefix", "signature_prefix"),
            ("signature", "signature"),
            ("cloudevents", "cloudevents_source"),
            ("timeout", "timeout"),
            ("header_prefix", "header_prefix"),
        ] {
            assert_eq!(form_field(api), form, "{api}");
        }
    }
}
