//! A webhook's `template` as `POST /v1/webhooks` checks it (`DeliveryFormat::validate`
//! compiles it in the server). Running user templates is left out: they run in sandbox
//! worker processes, where looping or recursing without end is expected and contained.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scanhook_core::format::DeliveryFormat;

fuzz_target!(init: scanhook_fuzz::catch_stack_overflows(), |source: &str| {
    let format = DeliveryFormat { template: Some(source.to_string()), ..Default::default() };
    let _ = format.validate();
});
