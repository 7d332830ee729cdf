//! Any JSON into the channel spec readers (one channel and a list, both key
//! cases): never a panic; an accepted channel passes the core's own checks
//! and writes back to a spec that reads to the same channel.
#![no_main]

use libfuzzer_sys::fuzz_target;
use uoom::wire::{Case, channel_to_value, parse_channel, parse_channels};

fuzz_target!(|data: &[u8]| {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    for case in [Case::Snake, Case::Camel] {
        match parse_channel(&v, case) {
            Ok(c) => {
                assert!(c.check("").is_empty(), "an accepted channel fails its checks");
                let again = parse_channel(&channel_to_value(&c, case), case)
                    .expect("the written form of a valid channel is valid");
                assert_eq!(again, c);
            }
            Err(e) => assert!(!e.field_errors().is_empty()),
        }
        match parse_channels(&v, case) {
            Ok(list) => assert!(list.iter().all(|c| c.check("").is_empty())),
            Err(e) => assert!(!e.field_errors().is_empty()),
        }
    }
});
