//! W3C Trace Context's `traceparent` (version `00`): read from a producer's request, kept
//! with its event, and sent with every delivery so a receiver's trace continues the
//! producer's. Only the value: which span is the parent is the caller's choice.
//!
//! Read by hand rather than with `opentelemetry`'s `TraceContextPropagator`: core takes no
//! telemetry dependency, and the value is needed where no tracer runs (stored with the
//! event, sent by a node exporting nothing). Its grammar is one fixed-width line.

use std::fmt;

/// The header's name (lower case, as HTTP/2 sends it).
pub const HEADER: &str = "traceparent";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceParent {
    pub trace_id: [u8; 16],
    /// The span the next one is a child of.
    pub span_id: [u8; 8],
    pub sampled: bool,
}

impl TraceParent {
    /// Reads a `traceparent` value as the spec asks: a version other than `ff`, then the
    /// ids and flags of version `00` (a later version may append fields after a `-`); ids
    /// of all zeros are invalid. `None` for anything else, which is then ignored.
    pub fn parse(raw: &str) -> Option<Self> {
        let raw = raw.trim();
        let bytes = raw.as_bytes();
        if bytes.len() < 55 || !raw.is_ascii() {
            return None;
        }
        let (version, rest) = (&raw[..2], &raw[2..]);
        let version = u8::from_str_radix(version, 16).ok().filter(|v| *v != 0xff && is_lower_hex(&raw[..2]))?;
        if (version == 0 && bytes.len() != 55) || (version > 0 && bytes.len() > 55 && bytes[55] != b'-') {
            return None;
        }
        let field = |from: usize, len: usize| {
            let s = rest.get(from..from + len).filter(|s| is_lower_hex(s))?;
            (rest.as_bytes()[from - 1] == b'-').then_some(s)
        };
        let trace_id: [u8; 16] = decode(field(1, 32)?)?;
        let span_id: [u8; 8] = decode(field(34, 16)?)?;
        let flags = u8::from_str_radix(field(51, 2)?, 16).ok()?;
        if trace_id == [0; 16] || span_id == [0; 8] {
            return None;
        }
        Some(Self { trace_id, span_id, sampled: flags & 1 == 1 })
    }

    /// A new trace: for an event whose producer sent none while no tracer runs.
    pub fn fresh() -> Self {
        let mut trace_id: [u8; 16] = rand::random();
        trace_id[0] |= 1; // never all zeros
        Self { trace_id, span_id: new_span_id(), sampled: true }
    }

    /// The same trace with `span_id` as the parent.
    pub fn with_span(self, span_id: [u8; 8]) -> Self {
        Self { span_id, ..self }
    }

    pub fn trace_id_hex(&self) -> String {
        hex(&self.trace_id)
    }
}

/// A random span id, never all zeros.
pub fn new_span_id() -> [u8; 8] {
    let mut id: [u8; 8] = rand::random();
    id[7] |= 1;
    id
}

impl fmt::Display for TraceParent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "00-{}-{}-{:02x}", hex(&self.trace_id), hex(&self.span_id), u8::from(self.sampled))
    }
}

fn is_lower_hex(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn decode<const N: usize>(s: &str) -> Option<[u8; N]> {
    let mut out = [0u8; N];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn reads_and_writes_the_spec_example() {
        let tp = TraceParent::parse(SPEC).unwrap();
        assert_eq!(tp.trace_id_hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert!(tp.sampled);
        assert_eq!(tp.to_string(), SPEC);
        let later = "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00-extra";
        assert_eq!(TraceParent::parse(later).unwrap().trace_id, tp.trace_id);
    }

    #[test]
    fn refuses_what_the_spec_refuses() {
        for bad in [
            "",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x",
            "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473-600f067aa0ba902b7-01",
            "0é-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        ] {
            assert_eq!(TraceParent::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_fresh_trace_is_valid() {
        let tp = TraceParent::fresh();
        assert_eq!(TraceParent::parse(&tp.to_string()), Some(tp));
    }
}
