//! Any text into the order status reader: never a panic; only the exact
//! names are accepted, anything else is `invalid_value`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    match uoom::wire::parse_order_status(s) {
        Ok(st) => assert_eq!(st.as_str(), s),
        Err(e) => assert_eq!(e.field_errors()[0].code, "invalid_value"),
    }
    let v = uoom::wire::validate("order_status", &serde_json::Value::String(s.to_owned()), uoom::wire::Case::Camel);
    assert_eq!(v.is_ok(), uoom::wire::parse_order_status(s).is_ok());
});
