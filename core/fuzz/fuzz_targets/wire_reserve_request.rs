//! Any JSON into the reservation request readers (one and a list, both key
//! cases): never a panic; accepted requests write back to themselves and a
//! ledger takes them (a full or unknown account is an error, not a panic).
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::Arc;
use uoom::ledger::Ledger;
use uoom::wire::{Case, ReserveRequest};
use uoom::{ManualClock, Millis};

fuzz_target!(|data: &[u8]| {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    for case in [Case::Snake, Case::Camel] {
        if let Ok(r) = ReserveRequest::parse(&v, case) {
            assert_eq!(ReserveRequest::parse(&r.to_value(case), case).expect("round trip"), r);
        }
        match ReserveRequest::parse_list(&v, case) {
            Ok(list) => {
                let ledger = Ledger::builder(Arc::new(ManualClock::new(Millis(0))))
                    .build()
                    .expect("a default ledger");
                for r in list.iter().take(64) {
                    let _ = ledger.set_capacity(&r.channel, r.slot, 10);
                    let _ = ledger.reserve(r.id.id(), &r.channel, r.slot, r.units, r.ttl_ms);
                }
            }
            Err(e) => assert!(!e.field_errors().is_empty()),
        }
    }
});
