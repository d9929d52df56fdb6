//! Integers in request bodies as JSON Schema defines them: `64` and `64.0` are the same
//! integer, and the OpenAPI document promises `type: integer`, so both are accepted
//! (serde alone takes only the first). A fraction or a value out of range is refused.
//!
//! Use on every integer field of a body type: `#[serde(deserialize_with = "whole::opt")]`
//! (`whole::req` when required, `whole::opt_opt` for a patch field that `null` clears).

use serde::Deserialize;
use serde::de::{Deserializer, Error};

/// The largest integer every f64 spells exactly.
const EXACT: f64 = 9_007_199_254_740_992.0;

fn convert<T: TryFrom<u64>, E: Error>(number: serde_json::Number) -> Result<T, E> {
    let whole = match (number.as_u64(), number.as_f64()) {
        (Some(n), _) => Some(n),
        (None, Some(f)) if f.fract() == 0.0 && (0.0..=EXACT).contains(&f) => Some(f as u64),
        _ => None,
    };
    let out_of_range = || E::custom(format!("invalid value: {number}, expected a whole number in range"));
    whole.ok_or_else(out_of_range).and_then(|n| T::try_from(n).map_err(|_| out_of_range()))
}

/// A required integer.
pub fn req<'de, D: Deserializer<'de>, T: TryFrom<u64>>(d: D) -> Result<T, D::Error> {
    convert(serde_json::Number::deserialize(d)?)
}

/// An optional integer (`null` or absent: `None`).
pub fn opt<'de, D: Deserializer<'de>, T: TryFrom<u64>>(d: D) -> Result<Option<T>, D::Error> {
    Option::<serde_json::Number>::deserialize(d)?.map(convert).transpose()
}

/// A patch field: absent (`None`, with `#[serde(default)]`), `null` (`Some(None)`) or a value.
pub fn opt_opt<'de, D: Deserializer<'de>, T: TryFrom<u64>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    opt(d).map(Some)
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Deserialize)]
    struct Body {
        #[serde(deserialize_with = "super::req")]
        n: u8,
        #[serde(default, deserialize_with = "super::opt")]
        m: Option<u32>,
    }

    fn parse(json: &str) -> Result<(u8, Option<u32>), String> {
        serde_json::from_str::<Body>(json).map(|b| (b.n, b.m)).map_err(|e| e.to_string())
    }

    #[test]
    fn whole_floats_are_integers_and_fractions_are_not() {
        assert_eq!(parse(r#"{"n": 64}"#), Ok((64, None)));
        assert_eq!(parse(r#"{"n": 64.0, "m": 7.0}"#), Ok((64, Some(7))));
        assert_eq!(parse(r#"{"n": 1, "m": null}"#), Ok((1, None)));
        for bad in [r#"{"n": 64.5}"#, r#"{"n": -1}"#, r#"{"n": 256}"#, r#"{"n": 1e300}"#, r#"{"n": "1"}"#] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
