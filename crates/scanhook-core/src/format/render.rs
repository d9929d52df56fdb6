//! The body of one delivery attempt: the canonical envelope, reshaped by the endpoint's
//! template or chat format, with its extra payload merged in.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use indexmap::IndexMap;
use serde_json::value::RawValue;

use super::{DeliveryFormat, Kind, ProgramSource, Template};

/// What a template sees as `$ctx` besides the envelope.
#[derive(Debug, serde::Serialize)]
pub struct DeliveryContext<'a> {
    pub delivery_id: &'a str,
    pub attempt: u32,
    pub endpoint: &'a str,
    pub webhook_id: &'a str,
}

/// The built-in chat programs, compiled on first use.
pub fn builtin(kind: Kind) -> Option<&'static Template> {
    static PROGRAMS: OnceLock<[Template; 3]> = OnceLock::new();
    let [slack, discord, teams] = PROGRAMS.get_or_init(|| {
        let compile = |body: &str| {
            let source = format!("{}\n{body}", include_str!("chat/common.jq"));
            // Fixed at build time and compiled by the tests: cannot fail at run time.
            Template::compile(&source).expect("built-in chat templates compile")
        };
        [
            compile(include_str!("chat/slack.jq")),
            compile(include_str!("chat/discord.jq")),
            compile(include_str!("chat/teams.jq")),
        ]
    });
    match kind {
        Kind::Generic | Kind::Cloudevents => None,
        Kind::Slack => Some(slack),
        Kind::Discord => Some(discord),
        Kind::Teams => Some(teams),
    }
}

/// Compiled endpoint templates by source, so a busy endpoint's program is compiled once.
#[derive(Default)]
pub struct TemplateCache {
    compiled: Mutex<HashMap<String, Template>>,
}

/// Bounds the cache; past it, the cache starts over (templates recompile in about a ms).
const MAX_CACHED: usize = 1024;

impl TemplateCache {
    pub fn get(&self, source: &str) -> Result<Template, String> {
        let mut compiled = self.compiled.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(t) = compiled.get(source) {
            return Ok(t.clone());
        }
        let template = Template::compile(source).map_err(|e| e.0)?;
        if compiled.len() >= MAX_CACHED {
            compiled.clear();
        }
        compiled.insert(source.to_string(), template.clone());
        Ok(template)
    }
}

/// The body an endpoint receives for `envelope` (the canonical body). The error says why
/// no body could be made; it fails this attempt only.
pub fn render(
    format: &DeliveryFormat,
    envelope: Vec<u8>,
    context: &DeliveryContext<'_>,
    cache: &TemplateCache,
) -> Result<Vec<u8>, String> {
    let template = match format.program() {
        None => None,
        Some(ProgramSource::Custom(source)) => Some(cache.get(source)?),
        Some(ProgramSource::Builtin(kind)) => builtin(kind).cloned(),
    };
    let body = match template {
        None => envelope,
        Some(t) => {
            let context = serde_json::to_vec(context).map_err(|e| e.to_string())?;
            t.run(&envelope, &context)?.into_bytes()
        }
    };
    with_extra_payload(format, body)
}

/// `body` with the endpoint's extra payload merged in, if it has one.
pub fn with_extra_payload(format: &DeliveryFormat, body: Vec<u8>) -> Result<Vec<u8>, String> {
    match &format.extra_payload {
        Some(extra) if !extra.is_empty() => merge(&body, extra),
        _ => Ok(body),
    }
}

/// Adds `extra`'s keys to the body's top-level object (replacing any of the same name).
/// Every other value keeps its exact bytes.
fn merge(body: &[u8], extra: &serde_json::Map<String, serde_json::Value>) -> Result<Vec<u8>, String> {
    let mut object: IndexMap<String, Box<RawValue>> = serde_json::from_slice(body)
        .map_err(|_| "extra_payload can only be merged into a body that is a JSON object".to_string())?;
    for (key, value) in extra {
        object.insert(key.clone(), serde_json::value::to_raw_value(value).map_err(|e| e.to_string())?);
    }
    serde_json::to_vec(&object).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONTEXT: DeliveryContext<'static> =
        DeliveryContext { delivery_id: "dlv_1", attempt: 1, endpoint: "https://r.example/hook", webhook_id: "wh_1" };

    fn envelope() -> Vec<u8> {
        br#"{"id":"evt_1","type":"scan.completed","timestamp":"2024-01-15T10:30:00.000Z","data":{"n":1.50}}"#.to_vec()
    }

    #[test]
    fn extra_payload_merges_and_keeps_every_other_byte() {
        let mut extra = serde_json::Map::new();
        extra.insert("source".into(), "dejacode".into());
        extra.insert("type".into(), "overridden".into());
        let format = DeliveryFormat { extra_payload: Some(extra), ..Default::default() };
        let body = render(&format, envelope(), &CONTEXT, &TemplateCache::default()).unwrap();
        assert_eq!(
            String::from_utf8(body).unwrap(),
            r#"{"id":"evt_1","type":"overridden","timestamp":"2024-01-15T10:30:00.000Z","data":{"n":1.50},"source":"dejacode"}"#
        );
    }

    #[test]
    fn a_template_sees_the_context_and_a_failure_names_its_cause() {
        let format = DeliveryFormat {
            template: Some(r#"{hook: {uuid: $ctx.webhook_id, event: .type, target: $ctx.endpoint}, data}"#.into()),
            ..Default::default()
        };
        let body = render(&format, envelope(), &CONTEXT, &TemplateCache::default()).unwrap();
        assert_eq!(
            String::from_utf8(body).unwrap(),
            r#"{"hook":{"uuid":"wh_1","event":"scan.completed","target":"https://r.example/hook"},"data":{"n":1.50}}"#
        );
        let mut extra = serde_json::Map::new();
        extra.insert("x".into(), 1.into());
        let format =
            DeliveryFormat { template: Some(".type".into()), extra_payload: Some(extra), ..Default::default() };
        let e = render(&format, envelope(), &CONTEXT, &TemplateCache::default()).unwrap_err();
        assert!(e.contains("JSON object"), "{e}");
    }
}
