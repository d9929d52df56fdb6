//! Deserializers that keep only what a report's reader uses, so a report's memory is a
//! small multiple of its findings, not of its bytes: a list is cut at a bound, or only its
//! first element is built, and everything else is skipped by serde's `IgnoredAny`, which
//! neither allocates nor copies.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// The elements of a JSON array of at most `N`; a longer one is an error naming the bound,
/// raised before element `N + 1` is built.
#[derive(Debug)]
pub struct AtMost<T, const N: usize>(pub Vec<T>);

impl<T, const N: usize> Default for AtMost<T, N> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

impl<'de, T: Deserialize<'de>, const N: usize> Deserialize<'de> for AtMost<T, N> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Bounded<T, const N: usize>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>, const N: usize> Visitor<'de> for Bounded<T, N> {
            type Value = AtMost<T, N>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                write!(f, "an array of at most {N} items")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                // The hint is the client's to choose: never reserve by it.
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    if items.len() == N {
                        return Err(de::Error::custom(format_args!("more than {N} items")));
                    }
                    items.push(item);
                }
                Ok(AtMost(items))
            }
        }
        deserializer.deserialize_seq(Bounded(PhantomData))
    }
}

/// The first element of a JSON array; the others are skipped unbuilt.
#[derive(Debug)]
pub struct First<T>(pub Option<T>);

impl<T> Default for First<T> {
    fn default() -> Self {
        Self(None)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for First<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FirstOf<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for FirstOf<T> {
            type Value = First<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an array")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let first = seq.next_element()?;
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(First(first))
            }
        }
        deserializer.deserialize_seq(FirstOf(PhantomData))
    }
}

/// Whether any element of a JSON array passes its [`Test`], each element built one at a time.
#[derive(Debug)]
pub struct Any<T: Test>(pub bool, PhantomData<T>);

impl<T: Test> Default for Any<T> {
    fn default() -> Self {
        Self(false, PhantomData)
    }
}

/// The condition [`Any`] checks.
pub trait Test {
    fn test(&self) -> bool;
}

impl<'de, T: Test + Deserialize<'de>> Deserialize<'de> for Any<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct AnyOf<T>(PhantomData<T>);
        impl<'de, T: Test + Deserialize<'de>> Visitor<'de> for AnyOf<T> {
            type Value = Any<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an array")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut any = false;
                while let Some(item) = seq.next_element::<T>()? {
                    any |= item.test();
                }
                Ok(Any(any, PhantomData))
            }
        }
        deserializer.deserialize_seq(AnyOf(PhantomData))
    }
}

/// Of a JSON object of strings, the non-empty value with the smallest key (what a sorted
/// map's first non-empty value would be), without building the map.
#[derive(Debug, Default)]
pub struct FirstNonEmpty<S>(pub Option<S>);

impl<'de, S: Deserialize<'de> + AsRef<str> + Ord> Deserialize<'de> for FirstNonEmpty<S> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Entries<S>(PhantomData<S>);
        impl<'de, S: Deserialize<'de> + AsRef<str> + Ord> Visitor<'de> for Entries<S> {
            type Value = FirstNonEmpty<S>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object of strings")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut best: Option<(S, S)> = None;
                while let Some((key, value)) = map.next_entry::<S, S>()? {
                    let better = best.as_ref().is_none_or(|(k, _)| key < *k);
                    if !value.as_ref().is_empty() && better {
                        best = Some((key, value));
                    }
                }
                Ok(FirstNonEmpty(best.map(|(_, v)| v)))
            }
        }
        deserializer.deserialize_map(Entries(PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;

    #[test]
    fn lists_are_cut_or_skimmed() {
        let three: AtMost<u8, 3> = serde_json::from_str("[1, 2, 3]").unwrap();
        assert_eq!(three.0, [1, 2, 3]);
        let err = serde_json::from_str::<AtMost<u8, 3>>("[1, 2, 3, 4]").unwrap_err().to_string();
        assert!(err.starts_with("more than 3 items"), "{err}");
        let first: First<u8> = serde_json::from_str(r#"[7, "anything", {"x": [1]}]"#).unwrap();
        assert_eq!(first.0, Some(7));
        assert_eq!(serde_json::from_str::<First<u8>>("[]").unwrap().0, None);
    }

    #[test]
    fn first_non_empty_is_the_smallest_key() {
        let prints: FirstNonEmpty<Cow<str>> = serde_json::from_str(r#"{"b": "2", "a": "", "c": "3"}"#).unwrap();
        assert_eq!(prints.0.as_deref(), Some("2"));
        let none: FirstNonEmpty<Cow<str>> = serde_json::from_str(r#"{"a": ""}"#).unwrap();
        assert_eq!(none.0, None);
    }
}
