//! Any bytes into the create-order parser: it must never panic, and whatever
//! it accepts must normalize to a request that parses back to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match uoom::parse_create_order(data) {
        Ok(req) => {
            let normalized = req.to_json().to_string();
            let again = uoom::parse_create_order(normalized.as_bytes())
                .expect("the normalized form of a valid request is valid");
            assert_eq!(again, req, "normalization is not a fixed point");
            let order =
                uoom::Order::from_request(uoom::OrderId::from_u128(1), req, uoom::Millis(0))
                    .expect("a validated request always has a total");
            assert!(order.total.minor() >= 0);
        }
        Err(e) => {
            assert_eq!(e.kind(), uoom::ErrorKind::Validation);
            assert!(!e.field_errors().is_empty());
        }
    }
});
