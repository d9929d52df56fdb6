//! `restringify` against what Node prints (values checked with Node 20), and properties; the
//! comparison with Node itself over generated bodies is `crates/scanhook/tests/it/javascript_bodies.rs`.

use proptest::prelude::*;

use super::*;

fn js(text: &str) -> String {
    String::from_utf8(restringify(text.as_bytes()).unwrap_or_else(|e| panic!("{text}: {e}"))).unwrap()
}

#[test]
fn numbers_print_as_javascript_prints_them() {
    for (text, node) in [
        ("1.0", "1"),
        ("1e2", "100"),
        ("1E-7", "1e-7"),
        ("0.1", "0.1"),
        ("-0", "0"),
        ("-0.0", "0"),
        ("5e-324", "5e-324"),
        ("1.7976931348623157e308", "1.7976931348623157e+308"),
        ("1e400", "null"),
        ("-1e400", "null"),
        ("123456789012345678901234567890", "1.2345678901234568e+29"),
        ("9007199254740993", "9007199254740992"),
        ("12345678901234567890", "12345678901234567000"),
        ("1e21", "1e+21"),
        ("100000000000000000000", "100000000000000000000"),
        ("1e-7", "1e-7"),
        ("0.000001", "0.000001"),
        ("100e-2", "1"),
        ("[1.5e300, 2.5E-5, 0.1e1, -12.50]", "[1.5e+300,0.000025,1,-12.5]"),
    ] {
        assert_eq!(js(text), node, "{text}");
    }
}

#[test]
fn strings_are_decoded_and_escaped_again() {
    assert_eq!(
        js(r#""\ud83d\ude00 \u2028 \u0000\u001f\u007f \ud800 x\/ \"\\\b\f\n\r\t é😀""#),
        "\"😀 \u{2028} \\u0000\\u001f\u{7f} \\ud800 x/ \\\"\\\\\\b\\f\\n\\r\\t é😀\""
    );
    // A low surrogate alone, and two highs in a row.
    assert_eq!(js(r#""\udc00\ud800\ud800a""#), r#""\udc00\ud800\ud800a""#);
}

#[test]
fn array_index_keys_come_first_and_repeated_keys_keep_their_place() {
    assert_eq!(
        js(r#"{"b":1,"a":2,"1":3,"0":4,"01":5,"-1":6,"4294967294":7,"4294967295":8,"b":9,"10":{"z":[],"y":{}}}"#),
        r#"{"0":4,"1":3,"10":{"z":[],"y":{}},"4294967294":7,"b":9,"a":2,"01":5,"-1":6,"4294967295":8}"#
    );
}

#[test]
fn whitespace_goes_and_what_json_parse_refuses_is_refused() {
    assert_eq!(js(" {\n\t\"a\" : [ 1 , true , false , null ] }\r\n"), r#"{"a":[1,true,false,null]}"#);
    for bad in ["", "01", "1.", ".5", "+1", "1e", "[1,]", "{\"a\"}", "\"\u{1}\"", "\"\\x\"", "\"\\u12\"", "nul", "[]]"]
    {
        assert!(restringify(bad.as_bytes()).is_err(), "{bad:?}");
    }
    assert!(restringify(b"\"\xff\"").is_err());
    assert!(BodyJson::Javascript.apply(b"{".to_vec()).unwrap_err().contains("JavaScript-stable"));
    assert_eq!(BodyJson::Verbatim.apply(b"{".to_vec()).unwrap(), b"{");
}

#[test]
fn depth_is_bounded_without_overflowing_the_stack() {
    let nested = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
    assert_eq!(js(&nested(MAX_DEPTH)), nested(MAX_DEPTH));
    let err = restringify(nested(1_000_000).as_bytes()).unwrap_err();
    assert!(err.contains("nested deeper"), "{err}");
}

#[test]
fn the_setting_is_stored_only_when_not_the_default() {
    use crate::format::DeliveryFormat;
    let javascript: DeliveryFormat = serde_json::from_str(r#"{"body_json": "javascript"}"#).unwrap();
    assert_eq!(javascript.body_json, BodyJson::Javascript);
    assert_eq!(
        serde_json::to_string(&javascript).unwrap(),
        r#"{"signature":{"scheme":"standard"},"kind":"generic","body_json":"javascript"}"#
    );
    assert!(!serde_json::to_string(&DeliveryFormat::default()).unwrap().contains("body_json"));
    assert!(serde_json::from_str::<DeliveryFormat>(r#"{"body_json": "json5"}"#).is_err());
}

/// Values with every kind of number, strings with control, non-ASCII and astral
/// characters, and keys that look like array indices.
fn value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<u64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(serde_json::Value::from),
        "[\\u{0}-\\u{1f}\"\\\\a-zé\u{2028}😀]{0,6}".prop_map(serde_json::Value::from),
    ];
    let key = "(0|[1-9][0-9]{0,10}|0[0-9]|-1|[a-c\u{1}😀])";
    leaf.prop_recursive(4, 32, 5, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(serde_json::Value::Array),
            prop::collection::vec((key, inner), 0..6)
                .prop_map(|entries| serde_json::Value::Object(entries.into_iter().collect())),
        ]
    })
}

proptest! {
    /// Every notation of a double reads back as that double, printed so it reads back.
    #[test]
    fn numbers_keep_their_value_in_any_notation(x in any::<f64>().prop_filter("finite", |f| f.is_finite())) {
        for text in [format!("{x}"), format!("{x:e}"), format!("{x:E}"), format!("{x:.3e}")] {
            let printed = js(&text);
            let expected: f64 = text.parse().unwrap();
            prop_assert_eq!(printed.parse::<f64>().unwrap(), expected, "{} printed {}", text, printed);
            // Shortest form: no trailing zero after a decimal point.
            let mantissa = printed.split('e').next().unwrap_or_default();
            prop_assert!(!mantissa.contains('.') || !mantissa.ends_with('0'), "{}", printed);
        }
    }

    /// What comes out is a fixed point (JavaScript reads it back to the same bytes) and
    /// keeps every key.
    #[test]
    fn the_output_is_stable_and_keeps_every_key(value in value()) {
        let text = serde_json::to_string_pretty(&value).unwrap();
        let once = restringify(text.as_bytes()).unwrap();
        prop_assert_eq!(&restringify(&once).unwrap(), &once);
        let back: serde_json::Value = serde_json::from_slice(&once).unwrap();
        if let (serde_json::Value::Object(before), serde_json::Value::Object(after)) = (&value, &back) {
            let mut a: Vec<_> = before.keys().collect();
            let mut b: Vec<_> = after.keys().collect();
            a.sort();
            b.sort();
            prop_assert_eq!(a, b);
        }
    }
}
