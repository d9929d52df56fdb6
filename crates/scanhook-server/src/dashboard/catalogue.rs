//! The event catalogue page: every event type with its description, the fields of its
//! payload (read from its JSON Schema) and its example, pretty-printed.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use scanhook_api_types::{EventTypeOut, ListOut};
use serde_json::Value;

use super::Dash;
use super::events::{pretty, read};
use super::layout::Page;
use super::session::Sess;

/// A schema's type as a short word: `string`, `integer or null`, `array of string`.
fn type_of(schema: &Value) -> String {
    let base = match &schema["type"] {
        Value::String(t) => t.clone(),
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(" or "),
        _ if schema.get("enum").is_some() => "one of".into(),
        _ => "any".into(),
    };
    match schema.get("items") {
        Some(items) if base.contains("array") => format!("{base} of {}", type_of(items)),
        _ => base,
    }
}

/// The top-level fields of an object schema: name, type, whether required, description.
fn fields(schema: &Value) -> Markup {
    let required: Vec<&str> =
        schema["required"].as_array().map(|r| r.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
    let Some(props) = schema["properties"].as_object().filter(|p| !p.is_empty()) else {
        return html! { p.muted.small { "No fixed fields." } };
    };
    let described = props.values().any(|p| p["description"].is_string());
    html! {
        table.compact.fields {
            thead { tr { th { "Field" } th { "Type" } @if described { th { "Description" } } } }
            tbody {
                @for (name, prop) in props {
                    tr {
                        th { code { (name) } @if required.contains(&name.as_str()) { span.small.muted { " required" } } }
                        td { (type_of(prop)) }
                        @if described { td { (prop["description"].as_str().unwrap_or("")) } }
                    }
                }
            }
        }
    }
}

pub async fn list(State(dash): State<Dash>, sess: Sess) -> Result<Response, Response> {
    let page: ListOut<EventTypeOut> =
        read(&dash, &sess, "/v1/event-types", "Event types", "the event catalogue").await?;
    let body = html! {
        div.page-head {
            div { h1 { "Event types" } p.muted { "Every event scanhook sends: what it means, the fields of its data and an example." } }
        }
        @if page.data.is_empty() {
            section.card.empty { h2 { "No event types" } p { "The catalogue is empty for this session." } }
        } @else {
            nav.toc aria-label="Event types" {
                @for t in &page.data { a.tag href={ "#" (t.event_type) } { (t.event_type) } " " }
            }
        }
        @for t in &page.data {
            section.card.event-type id=(t.event_type) {
                h2 { code { (t.event_type) } }
                p { (t.description) }
                h3 { "Fields of data" }
                (fields(&t.schema))
                details {
                    summary { "Example" }
                    pre.body { (pretty(&t.example)) }
                }
                details {
                    summary { "JSON Schema" }
                    pre.body { (pretty(&t.schema)) }
                }
            }
        }
    };
    Ok(Page::new(&dash.app, "Event types").render(Some(&sess), body).into_response())
}
