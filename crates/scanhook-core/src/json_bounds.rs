//! The depth bound on JSON from outside, checked on the bytes before any parser builds a
//! tree of them. serde_json limits typed structs and `Value` to 128 levels, but a
//! `RawValue` or an ignored field is skipped by an unbounded loop, and what holds it later
//! (jaq's reader, a `Value`, a recursive `Drop`) recurses until the stack overflows. Every
//! JSON body the API accepts passes [`check_depth`] first, so nothing deeper ever gets in.
//!
//! Hand-written because no maintained crate checks depth without building the value:
//! `serde_stacker` moves recursion to the heap instead of bounding it, and
//! `serde_json`'s own limit does not cover raw values. The scan is one pass, allocates only
//! its stack of at most `limit` frames, and is not a validator: malformed JSON passes
//! through to the real parser, which reports it.

/// How deep JSON from outside may nest: serde_json's own limit for typed values.
pub const MAX_DEPTH: usize = 128;

/// Longest key shown in a path; the rest is cut.
const MAX_KEY_SHOWN: usize = 64;

/// JSON nested deeper than allowed; `path` names the value where it went too deep, as
/// `data.a[0]` (empty when the body itself is that value).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} is nested deeper than {limit} levels", if path.is_empty() { "the JSON value" } else { path.as_str() })]
pub struct TooDeep {
    pub path: String,
    pub limit: usize,
}

impl TooDeep {
    /// The same error for JSON that sits at `parent` in a larger document.
    pub fn within(self, parent: &str) -> Self {
        let path = match self.path.as_str() {
            "" => parent.to_string(),
            p if p.starts_with('[') => format!("{parent}{p}"),
            p => format!("{parent}.{p}"),
        };
        Self { path, ..self }
    }
}

/// One open array or object: where its current child is.
struct Frame {
    array: bool,
    /// The current element of an array.
    index: usize,
    /// The current key of an object, as a byte range of the input (escapes kept).
    key: (usize, usize),
    /// Whether the next string in an object is a key.
    expect_key: bool,
}

/// Checks that no array or object in `json` is nested more than `limit` levels deep.
pub fn check_depth(json: &[u8], limit: usize) -> Result<(), TooDeep> {
    let mut stack: Vec<Frame> = Vec::new();
    let mut i = 0;
    while i < json.len() {
        match json[i] {
            b'"' => {
                let end = string_end(json, i + 1);
                if let Some(frame) = stack.last_mut()
                    && !frame.array
                    && frame.expect_key
                {
                    frame.key = (i + 1, end.saturating_sub(1).max(i + 1));
                    frame.expect_key = false;
                }
                i = end;
                continue;
            }
            open @ (b'[' | b'{') => {
                if stack.len() >= limit {
                    return Err(TooDeep { path: path(json, &stack), limit });
                }
                stack.push(Frame { array: open == b'[', index: 0, key: (i, i), expect_key: open == b'{' });
            }
            b']' | b'}' => {
                stack.pop();
            }
            b',' => {
                if let Some(frame) = stack.last_mut() {
                    if frame.array {
                        frame.index += 1;
                    } else {
                        frame.expect_key = true;
                    }
                }
            }
            _ => {}
        }
        i += 1;
    }
    Ok(())
}

/// Whether a string in `json` holds a `\uXXXX` escape of half a surrogate pair without
/// its other half. JSON's grammar allows it, but it encodes no character: serde_json
/// refuses it when it builds a value, jaq cannot read it, and JavaScript keeps it as a
/// broken string — so text taken as raw bytes is checked with this before it is stored.
pub fn has_lone_surrogate(json: &[u8]) -> bool {
    let escape = |at: usize| -> Option<u16> {
        let hex = json.get(at..at + 6)?.strip_prefix(b"\\u")?;
        u16::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()
    };
    let mut i = 0;
    while i < json.len() {
        if json[i] != b'\\' {
            i += 1;
            continue;
        }
        match escape(i) {
            Some(0xD800..=0xDBFF) => match escape(i + 6) {
                Some(0xDC00..=0xDFFF) => i += 12,
                _ => return true,
            },
            Some(0xDC00..=0xDFFF) => return true,
            Some(_) => i += 6,
            // Any other escape is two bytes; skipping both keeps `\\` from pairing wrongly.
            None => i += 2,
        }
    }
    false
}

/// The index just past the string whose contents start at `from` (or the end of input).
fn string_end(json: &[u8], from: usize) -> usize {
    let mut j = from;
    while j < json.len() {
        match json[j] {
            b'\\' => j += 2,
            b'"' => return j + 1,
            _ => j += 1,
        }
    }
    json.len()
}

/// The path of the value the top frame is at, as `a.b[2].c`.
fn path(json: &[u8], stack: &[Frame]) -> String {
    let mut out = String::new();
    for frame in stack {
        if frame.array {
            out.push_str(&format!("[{}]", frame.index));
        } else {
            let key = String::from_utf8_lossy(&json[frame.key.0..frame.key.1]);
            if !out.is_empty() {
                out.push('.');
            }
            out.extend(key.chars().take(MAX_KEY_SHOWN));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn nested(depth: usize) -> String {
        format!("{}{}", "[".repeat(depth), "]".repeat(depth))
    }

    #[test]
    fn names_the_path_where_it_went_too_deep() {
        let body = r#"{"type":"x","data":{"a":[[[1]]]}}"#;
        assert_eq!(check_depth(body.as_bytes(), 5), Ok(()));
        let err = check_depth(body.as_bytes(), 3).unwrap_err();
        assert_eq!(err.path, "data.a[0]");
        assert_eq!(err.to_string(), "data.a[0] is nested deeper than 3 levels");
        let err = check_depth(br#"{"k":[0, 1, {"x":"]]]","y":{"z":{}}}]}"#, 3).unwrap_err();
        assert_eq!(err.path, "k[2].y");
        assert_eq!(check_depth(b"[[]]", 1).unwrap_err().path, "[0]");
        assert_eq!(check_depth(b"[[]]", 1).unwrap_err().within("data").path, "data[0]");
        assert_eq!(check_depth(br#"{"a":[]}"#, 1).unwrap_err().within("data").path, "data.a");
    }

    #[test]
    fn lone_surrogate_escapes_are_found_and_pairs_are_not() {
        for lone in [r#""\ud800""#, r#""\uDC00""#, r#"{"a":"x\ud83dy"}"#, r#""\ud83d\u0041""#, r#""\ude00\ud83d""#] {
            assert!(has_lone_surrogate(lone.as_bytes()), "{lone}");
        }
        for fine in [r#""\ud83d\ude00""#, r#""\\ud800""#, r#""\u00e9\n\"""#, r#"{"😀":"\uD83D\uDE00"}"#, r#""\\""#] {
            assert!(!has_lone_surrogate(fine.as_bytes()), "{fine}");
        }
    }

    #[test]
    fn brackets_in_strings_and_escapes_do_not_count() {
        assert_eq!(check_depth(br#"{"[[[[": "{{{{\"[[[["}"#, 1), Ok(()));
        assert_eq!(check_depth(br#"["\\", ["a"]]"#, 2), Ok(()));
        assert!(check_depth(br#"["\\", [["a"]]]"#, 2).is_err());
    }

    #[test]
    fn deep_input_is_refused_without_recursing() {
        let deep = nested(1_000_000);
        let err = check_depth(deep.as_bytes(), MAX_DEPTH).unwrap_err();
        assert_eq!(err.path, "[0]".repeat(MAX_DEPTH));
        assert_eq!(check_depth(nested(MAX_DEPTH).as_bytes(), MAX_DEPTH), Ok(()));
        // Long keys are cut in the path.
        let long = format!(r#"{{"{}": [[]]}}"#, "k".repeat(1000));
        assert_eq!(check_depth(long.as_bytes(), 2).unwrap_err().path, format!("{}[0]", "k".repeat(64)));
    }

    #[test]
    fn malformed_input_is_left_to_the_parser() {
        for junk in ["", "]]]]", "{\"a", "[1,2", "\"\\", "}{"] {
            assert_eq!(check_depth(junk.as_bytes(), 2), Ok(()), "{junk}");
        }
    }

    /// How deep a value nests (a scalar: 0).
    fn depth(value: &serde_json::Value) -> usize {
        match value {
            serde_json::Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
            serde_json::Value::Object(map) => 1 + map.values().map(depth).max().unwrap_or(0),
            _ => 0,
        }
    }

    /// Values whose strings hold brackets, quotes and backslashes.
    fn value() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<i64>().prop_map(serde_json::Value::from),
            "[\\[\\]{}\",:\\\\a-z]{0,8}".prop_map(serde_json::Value::from),
        ];
        leaf.prop_recursive(12, 64, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
                prop::collection::vec(("[\\[\\]{}\",:a-z]{0,6}", inner), 0..4)
                    .prop_map(|entries| serde_json::Value::Object(entries.into_iter().collect())),
            ]
        })
    }

    proptest! {
        /// Passes exactly the values no deeper than the limit, whatever their strings hold.
        #[test]
        fn agrees_with_the_real_depth(value in value(), limit in 0usize..14) {
            let text = serde_json::to_string_pretty(&value).unwrap();
            let depth = depth(&value);
            match check_depth(text.as_bytes(), limit) {
                Ok(()) => prop_assert!(depth <= limit),
                Err(e) => {
                    prop_assert!(depth > limit);
                    prop_assert_eq!(e.limit, limit);
                }
            }
        }
    }
}
