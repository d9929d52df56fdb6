//! Event types and the patterns endpoints subscribe with: the input is a pattern and an
//! event type on two lines. Checks what a match means, not only that nothing panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scanhook_core::{EventPattern, EventType};

fuzz_target!(init: scanhook_fuzz::catch_stack_overflows(), |input: &str| {
    let (pattern, event_type) = input.split_once('\n').unwrap_or((input, ""));
    let parsed = EventPattern::parse(pattern);
    if let Ok(exact) = EventType::parse(pattern) {
        // Every event type is also the pattern that matches exactly it.
        assert_eq!(parsed.as_ref().ok(), Some(&EventPattern::Exact(exact.as_str().to_string())));
        assert!(EventPattern::any_matches([pattern], &exact));
    }
    let (Ok(pattern), Ok(event_type)) = (parsed, EventType::parse(event_type)) else { return };
    let expected = match &pattern {
        EventPattern::All => true,
        EventPattern::Prefix(prefix) => event_type.as_str().starts_with(prefix.as_str()),
        EventPattern::Exact(exact) => event_type.as_str() == exact,
    };
    assert_eq!(pattern.matches(&event_type), expected);
});
