//! Any JSON into the router options reader (both key cases): never a panic;
//! accepted options write back to the same options and configure a router.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::Arc;
use uoom::engine::{Router, SimGateway};
use uoom::wire::{Case, RouterOptions};
use uoom::{ManualClock, Millis};

fuzz_target!(|data: &[u8]| {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    for case in [Case::Snake, Case::Camel] {
        match RouterOptions::parse(&v, case) {
            Ok(o) => {
                let again = RouterOptions::parse(&o.to_value(case), case)
                    .expect("the written form of valid options is valid");
                assert_eq!(again, o);
                let clock = Arc::new(ManualClock::new(Millis(o.start_ms)));
                let gateway = Arc::new(SimGateway::new(clock.clone(), o.seed));
                o.configure(Router::builder(Vec::new(), gateway).with_clock(clock))
                    .build()
                    .expect("valid options build a router");
            }
            Err(e) => assert!(!e.field_errors().is_empty()),
        }
    }
});
