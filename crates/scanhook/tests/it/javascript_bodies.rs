//! `"body_json": "javascript"`: what a receiver gets is, byte for byte, what Node's own
//! `JSON.stringify(JSON.parse(…))` makes of the verbatim body, whatever the event data
//! holds — through the real server, with and without a template, after the extra payload.

use std::collections::HashMap;

use crate::common::verify::hex_signature;
use crate::common::{Receiver, Server, node};
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::TestRunner;
use reqwest::StatusCode;
use serde_json::{Value, json};

const SECRET: &str = "javascript_bodies_secret_01";

/// Awkward values, as JSON text sent byte for byte as an event's `data.v`.
const CORPUS: &[&str] = &[
    "1.0",
    "1e2",
    "1E-7",
    "0.1",
    "-0",
    "-0.0",
    "5e-324",
    "1.7976931348623157e308",
    "1e400",
    "-1e400",
    "123456789012345678901234567890",
    "9007199254740993",
    "12345678901234567890",
    "-9223372036854775809",
    "1e21",
    "100000000000000000000",
    "1e-7",
    "0.000001",
    "100e-2",
    "[1.50, 2.5E+3, -0.0e0, 0e5, 1E400, 3.0000000000000001]",
    r#""\"\\\/\b\f\n\r\t""#,
    r#""\u0000\u0001\u0007\u000b\u000e\u001f\u007f\u0080""#,
    r#""\u2028\u2029 literal:   ""#,
    r#""\ud83d\ude00 😀 é ü 中文 \u00e9\u4E2D""#,
    r#"{"0": "a", "1": "b", "10": "c", "01": "d", "-1": "e", "4294967294": "f", "4294967295": "g", "a": "h", "2": "i"}"#,
    r#"{"b": 1, "a": 2, "b": 3, "1": 4, "1": 5}"#,
    r#"{"": 0, "__proto__": {"x": 1.0}, "constructor": [], "\u0030": "zero escaped"}"#,
    r#"[[[[[[[[[[[[[[[[{"deep": [1.0, {"deeper": {}}]}]]]]]]]]]]]]]]]]"#,
    "[[], {}, [{}], {\"a\": []}, \"\", null, true, false]",
    " {\n  \"spaced\" :\t[ 1 ,\r\n 2 ] } ",
];

/// Lone surrogates: JSON.parse would keep them, but they encode no character (jaq and
/// serde_json refuse them), so the API refuses them in event data.
const LONE_SURROGATES: &str = r#""\ud800 \udfff \ud83d x \ude00 y \uDBFF""#;

/// Sends `{"type": <event_type>, "data": {"i": i, "v": <text>}}` as these very bytes.
async fn send_raw(server: &Server, event_type: &str, i: usize, text: &str) -> (StatusCode, Value) {
    let body = format!(r#"{{"type": "{event_type}", "data": {{"i": {i}, "v": {text}}}}}"#);
    server.post_raw("/v1/events", "application/json", body).await
}

#[tokio::test]
async fn javascript_bodies_are_what_node_makes_of_the_verbatim_ones() {
    if !node::available("javascript_bodies_are_what_node_makes_of_the_verbatim_ones") {
        return;
    }
    let server = Server::start(&[]).await;
    let receiver = Receiver::start().await;
    // Four endpoints, told apart by an extra header: verbatim and javascript, each without
    // and with Juro's template. All merge an extra payload, all sign with the same secret.
    let forms = ["verbatim", "javascript", "verbatim-template", "javascript-template"];
    let mut webhooks = HashMap::new();
    for form in forms {
        let mut body = json!({
            "url": receiver.url, "events": [if form.ends_with("template") { "corpus.item" } else { "corpus.*" }],
            "secret": SECRET, "headers": {"X-Form": form},
            "signature": {"scheme": "hmac-sha256", "header": "X-Sig"},
            "extra_payload": {"extra": 1.5, "7": "an index key", "tenant": "t\u{2028}1"},
        });
        if form.starts_with("javascript") {
            body["body_json"] = json!("javascript");
        }
        if form.ends_with("template") {
            body["template"] =
                json!(include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/templates/juro.jq")));
        }
        let created = server.create_webhook(body).await;
        let expected = if form.starts_with("javascript") { "javascript" } else { "verbatim" };
        assert_eq!(created["body_json"], expected, "{created}");
        webhooks.insert(form, created);
    }

    let mut events = HashMap::new();
    for (i, text) in CORPUS.iter().enumerate() {
        let (status, accepted) = send_raw(&server, "corpus.item", i, text).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{text}: {accepted}");
        events.insert(accepted["id"].as_str().unwrap().to_string(), text);
    }
    let (status, refused) = send_raw(&server, "corpus.lone", CORPUS.len(), LONE_SURROGATES).await;
    assert_eq!((status, refused["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("data")), "{refused}");

    // Every delivery succeeds: none fails to render or to be made JavaScript-stable.
    server.wait_until("/v1/deliveries?status=pending", 60, |l| l["data"] == json!([])).await;
    assert_eq!(server.get("/v1/deliveries?status=dead").await.1["data"], json!([]), "no delivery failed");
    let got = receiver.wait_for(forms.len() * CORPUS.len(), 60).await;
    // By event and form: the bytes received, checked against their signature.
    let mut bodies: HashMap<(String, String), Vec<u8>> = HashMap::new();
    for request in &got {
        assert_eq!(request.header("x-sig"), hex_signature(SECRET, &request.body).trim_start_matches("sha256="));
        let key = (request.header("webhook-id").to_string(), request.header("x-form").to_string());
        assert!(bodies.insert(key, request.body.to_vec()).is_none(), "one delivery per event and endpoint");
    }
    let mut pairs = Vec::new();
    for (event, text) in &events {
        for (verbatim, javascript) in [("verbatim", "javascript"), ("verbatim-template", "javascript-template")] {
            let sent = |form: &str| bodies.get(&(event.clone(), form.to_string())).cloned();
            if let (Some(v), Some(j)) = (sent(verbatim), sent(javascript)) {
                pairs.push((*text, v, j));
            }
        }
        // Without a template the event data reaches a verbatim endpoint byte for byte, so
        // Node really reads the awkward text.
        let plain = String::from_utf8(bodies[&(event.clone(), "verbatim".to_string())].clone()).unwrap();
        assert!(plain.contains(&format!(r#""v": {text}}}"#)), "{plain}");
    }

    let verbatim: Vec<Vec<u8>> = pairs.iter().map(|(_, v, _)| v.clone()).collect();
    let answers = node::restringify(&verbatim);
    let mut changed = 0;
    for ((text, verbatim, javascript), node) in pairs.iter().zip(answers) {
        let node = node.unwrap_or_else(|| panic!("JSON.parse refused what scanhook sent: {text}"));
        assert_eq!(String::from_utf8_lossy(javascript), node, "data.v = {text}");
        changed += usize::from(javascript != verbatim);
    }
    assert_eq!(pairs.len(), 2 * CORPUS.len());
    assert_eq!(changed, pairs.len(), "every verbatim body has spaces or numbers JavaScript rewrites");

    // The attempt log keeps the body that was sent, not the canonical envelope.
    let path = format!("/v1/deliveries?webhook_id={}", webhooks["javascript"]["id"].as_str().unwrap());
    let (_, list) = server.get(&path).await;
    let id = list["data"][0]["id"].as_str().unwrap();
    let detail = server.wait_until(&format!("/v1/deliveries/{id}"), 10, |d| d["status"] == "succeeded").await;
    let logged = detail["attempt_log"][0]["request"]["body"].as_str().unwrap();
    let event = detail["event_id"].as_str().unwrap_or_default();
    assert_eq!(logged.as_bytes(), bodies[&(event.to_string(), "javascript".to_string())], "{detail}");
}

/// Bodies generated from awkward pieces: numbers in every notation, strings with every
/// escape and lone surrogates, index-like and repeated keys, whitespace.
fn awkward_json() -> impl Strategy<Value = String> {
    use proptest::prelude::*;
    let number = (
        prop_oneof![Just(""), Just("-")],
        prop_oneof![Just("0".to_string()), "[1-9][0-9]{0,25}"],
        prop_oneof![Just(String::new()), "\\.[0-9]{1,20}"],
        prop_oneof![Just(String::new()), "[eE][+-]?[0-9]{1,3}"],
    )
        .prop_map(|(sign, int, frac, exp)| format!("{sign}{int}{frac}{exp}"));
    let piece = prop_oneof![
        "[a-zé😀\u{2028}\u{7f} ]{0,3}",
        Just(r#"\""#.to_string()),
        Just(r"\\".to_string()),
        Just(r"\/".to_string()),
        "\\\\[bfnrt]",
        "\\\\u00[01][0-9a-fA-F]",
        "\\\\u[dD][89abAB][0-9a-f]{2}",
        "\\\\u[dD][c-fC-F][0-9a-f]{2}",
        "\\\\u[0-9a-fA-F]{4}",
    ];
    let string = prop::collection::vec(piece, 0..5).prop_map(|p| format!("\"{}\"", p.concat()));
    let key = prop_oneof![string.clone(), "\"(0|[1-9][0-9]{0,10}|0[0-9]|-[0-9]|4294967294|4294967295|[a-c])\""];
    let space = prop_oneof![Just(""), Just(" "), Just("\n\t ")];
    let leaf = prop_oneof![number, string, Just("true".to_string()), Just("false".into()), Just("null".into())];
    leaf.prop_recursive(4, 32, 5, move |inner| {
        prop_oneof![
            (prop::collection::vec(inner.clone(), 0..5), space.clone())
                .prop_map(|(items, s)| format!("[{s}{}{s}]", items.join(&format!("{s},{s}")))),
            prop::collection::vec((key.clone(), inner), 0..6).prop_map(|entries| {
                let entries: Vec<String> = entries.into_iter().map(|(k, v)| format!("{k} : {v}")).collect();
                format!("{{{}}}", entries.join(","))
            }),
        ]
    })
}

/// `scanhook_core::format::restringify` and Node agree byte for byte on thousands of
/// generated bodies (one Node process for all of them).
#[test]
fn restringify_agrees_with_node_on_generated_bodies() {
    if !node::available("restringify_agrees_with_node_on_generated_bodies") {
        return;
    }
    let mut runner = TestRunner::deterministic();
    let strategy = awkward_json();
    let texts: Vec<Vec<u8>> =
        (0..3000).map(|_| strategy.new_tree(&mut runner).expect("a body").current().into_bytes()).collect();
    let answers = node::restringify(&texts);
    for (text, node) in texts.iter().zip(answers) {
        let text = String::from_utf8_lossy(text);
        match (scanhook_core::format::restringify(text.as_bytes()), node) {
            (Ok(ours), Some(node)) => assert_eq!(String::from_utf8(ours).unwrap(), node, "{text}"),
            (Err(e), Some(_)) => panic!("{text}: scanhook refused it ({e}), JSON.parse did not"),
            (Ok(_), None) => panic!("{text}: JSON.parse refused it, scanhook did not"),
            (Err(_), None) => {}
        }
    }
}
