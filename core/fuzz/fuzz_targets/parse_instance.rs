//! Any bytes into the assignment instance reader: it must never panic; a
//! rejection lists its problems; an accepted instance writes back to JSON
//! that reads to the same instance and becomes a solver problem.
#![no_main]

use libfuzzer_sys::fuzz_target;
use uoom::wire::Instance;

fuzz_target!(|data: &[u8]| {
    match Instance::from_json(data) {
        Ok(inst) => {
            let again = Instance::from_value(&inst.to_value())
                .expect("the written form of a valid instance is valid");
            assert_eq!(again, inst, "writing is not a fixed point");
            if let Err(e) = inst.to_problem() {
                assert_eq!(e.kind(), uoom::ErrorKind::Validation);
            }
        }
        Err(e) => {
            assert_eq!(e.kind(), uoom::ErrorKind::Validation);
            assert!(!e.field_errors().is_empty());
        }
    }
});
