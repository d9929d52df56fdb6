//! Fuzzes `event_ingest` of crates/scanhook-server/tests/fuzz/inputs.rs (what it covers is said there).
#![no_main]

libfuzzer_sys::fuzz_target!(init: scanhook_fuzz::catch_stack_overflows(), |input: &[u8]| {
    scanhook_fuzz::inputs::event_ingest(input);
});
