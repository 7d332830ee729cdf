//! Non-finite number literals (`NaN`, `Infinity`, `1e999`) are not JSON; this
//! pre-pass lets the validator report them on their field as `non_finite`
//! instead of failing the whole body as `not_json`.

/// What a non-finite number literal becomes before the second parse; no
/// request has a reason to contain this string.
pub(super) const NON_FINITE: &str = "\u{0}uoom:non-finite";

/// Rewrites `NaN`, `Infinity`, `-Infinity` and overflowing number literals
/// outside strings into the [`NON_FINITE`] marker string, or `None` if there
/// are none (then the body is simply not JSON).
pub(super) fn mark_non_finite(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(bytes.len() + 32);
    let (mut in_string, mut escaped, mut changed) = (false, false, false);
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if in_string {
            out.push(b);
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            i += 1;
            continue;
        }
        if b == b'"' {
            in_string = true;
        } else if b == b'-' || b.is_ascii_digit() || b == b'N' || b == b'I' {
            let end = bytes[i..]
                .iter()
                .position(|c| matches!(c, b',' | b']' | b'}' | b' ' | b'\t' | b'\n' | b'\r'))
                .map_or(bytes.len(), |p| i + p);
            let token = &bytes[i..end];
            let non_finite = matches!(token, b"NaN" | b"Infinity" | b"-Infinity")
                || (token.first() != Some(&b'N')
                    && token.first() != Some(&b'I')
                    && std::str::from_utf8(token)
                        .ok()
                        .filter(|t| t.bytes().all(|c| b"-+.eE0123456789".contains(&c)))
                        .and_then(|t| t.parse::<f64>().ok())
                        .is_some_and(f64::is_infinite));
            if non_finite {
                out.extend_from_slice(b"\"\\u0000uoom:non-finite\"");
                changed = true;
            } else {
                out.extend_from_slice(token);
            }
            i = end;
            continue;
        }
        out.push(b);
        i += 1;
    }
    changed.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn marker_only_outside_strings() {
        assert_eq!(mark_non_finite(br#"{"a": "NaN"}"#), None);
        assert_eq!(mark_non_finite(br#"{"a": 1.5}"#), None);
        let m = mark_non_finite(br#"{"a":"x\"NaN","b":-Infinity,"c":[1e999]}"#).unwrap();
        let v: Value = serde_json::from_slice(&m).unwrap();
        assert_eq!(v["a"], "x\"NaN");
        assert_eq!(v["b"], NON_FINITE);
        assert_eq!(v["c"][0], NON_FINITE);
    }
}
