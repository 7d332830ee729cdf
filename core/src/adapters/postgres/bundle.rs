//! Outbox rows that carry several events (`0010_outbox_bundles.sql`).
//!
//! A unit of work's events for one aggregate go into one `outbox_events`
//! row: its own columns hold the first event (the head), its `tail` column
//! the others, in order, as a JSON array of [`TailEvent`]s. A routed order
//! writes two rows (its own four events, its channel's two) instead of six,
//! which is what the outbox's cost in PostgreSQL scales with: per row, the
//! insert, its partition routing and index entries, the relay's read and
//! delete.

use crate::Millis;
#[cfg(feature = "outbox")]
use serde::Deserialize;
#[cfg(feature = "outbox")]
use serde_json::value::RawValue;
use std::fmt::Write as _;
use uuid::Uuid;

/// At most this many events share a row: bounds a row's size and keeps an
/// event's position in its row under 2^16 (see [`position`]).
pub(crate) const MAX_EVENTS_PER_ROW: usize = 256;

/// One element of a row's `tail`.
#[cfg(feature = "outbox")]
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TailEvent {
    pub id: Uuid,
    #[serde(rename = "type")]
    pub event_type: String,
    pub schema_version: u16,
    /// Milliseconds since the Unix epoch.
    pub occurred_at: u64,
    pub payload: Box<RawValue>,
}

/// Appends one tail element to `out` (a JSON array being built). `payload`
/// must be one JSON document (it is: our own serializer's output, or a
/// `RawValue`).
pub(crate) fn push_element(
    out: &mut String,
    id: Uuid,
    event_type: &str,
    schema_version: i32,
    occurred_at: Millis,
    payload: &str,
) {
    out.push(if out.is_empty() { '[' } else { ',' });
    let ty = serde_json::to_string(event_type).unwrap_or_else(|_| "\"\"".to_owned());
    let _ = write!(
        out,
        "{{\"id\":\"{id}\",\"type\":{ty},\"schemaVersion\":{schema_version},\"occurredAt\":{},\"payload\":{payload}}}",
        occurred_at.0
    );
}

/// Closes an array built with [`push_element`]; `None` when it is empty.
pub(crate) fn finish(mut out: String) -> Option<String> {
    if out.is_empty() {
        return None;
    }
    out.push(']');
    Some(out)
}

/// A row's tail, parsed.
#[cfg(feature = "outbox")]
pub(crate) fn parse(tail: &str) -> serde_json::Result<Vec<TailEvent>> {
    serde_json::from_str(tail)
}

/// The elements of a tail as they are written, unparsed: for cutting a tail
/// into pieces without re-encoding them.
#[cfg(feature = "outbox")]
pub(crate) fn elements(tail: &str) -> serde_json::Result<Vec<Box<RawValue>>> {
    serde_json::from_str(tail)
}

/// A JSON array of already-encoded elements; `None` when there are none.
#[cfg(feature = "outbox")]
pub(crate) fn join(elements: &[Box<RawValue>]) -> Option<String> {
    let mut out = String::new();
    for e in elements {
        out.push(if out.is_empty() { '[' } else { ',' });
        out.push_str(e.get());
    }
    finish(out)
}

/// An event's place in the outbox for [`super::PgStore::pending_records`]:
/// its row's `seq` and its place among that seq's events (`first_pos` plus
/// its place in the row), in one
/// number that orders events as the relay must deliver them.
///
/// ```text
/// position = seq * 65536 + place
/// ```
pub(crate) fn position(seq: i64, index: i64) -> i64 {
    seq.saturating_mul(1 << 16).saturating_add(index)
}

/// The inverse of [`position`]: `(seq, index)`.
pub(crate) fn split_position(position: i64) -> (i64, i64) {
    (position >> 16, position & 0xffff)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn build(events: &[(u128, &str, i32, u64, &str)]) -> Option<String> {
        let mut out = String::new();
        for &(id, ty, v, at, p) in events {
            push_element(&mut out, Uuid::from_u128(id), ty, v, Millis(at), p);
        }
        finish(out)
    }

    #[test]
    fn an_empty_tail_is_no_tail() {
        assert_eq!(build(&[]), None);
    }

    #[cfg(feature = "outbox")]
    #[test]
    fn a_tail_reads_back_and_cuts_into_pieces() {
        let tail = build(&[
            (1, "OrderValidated", 1, 1_795_000_000_123, r#"{"a":1}"#),
            (2, "Odd \"type\"\n", 2, 7, r#"[1,{"b":"x"}]"#),
        ])
        .unwrap();
        let events = parse(&tail).unwrap();
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].id, Uuid::from_u128(1));
        assert_eq!(events[0].event_type, "OrderValidated");
        assert_eq!(events[0].occurred_at, 1_795_000_000_123);
        assert_eq!(events[0].payload.get(), r#"{"a":1}"#);
        assert_eq!(events[1].event_type, "Odd \"type\"\n");
        assert_eq!(events[1].schema_version, 2);
        let parts = elements(&tail).unwrap();
        assert_eq!(join(&parts).as_deref(), Some(tail.as_str()));
        let rest = join(&parts[1..]).unwrap();
        assert_eq!(parse(&rest).unwrap()[0].id, Uuid::from_u128(2));
        assert_eq!(join(&parts[2..]), None);
    }

    #[test]
    fn positions_order_rows_then_places_in_a_row() {
        assert!(position(7, 255) < position(8, 0));
        assert_eq!(split_position(position(7, 255)), (7, 255));
        assert_eq!(split_position(position(0, 0)), (0, 0));
    }

    proptest! {
        #[test]
        fn positions_round_trip(seq in 0i64..(1 << 46), index in 0i64..MAX_EVENTS_PER_ROW as i64) {
            prop_assert_eq!(split_position(position(seq, index)), (seq, index));
        }

        #[cfg(feature = "outbox")]
        #[test]
        fn any_tail_reads_back(events in proptest::collection::vec(
            (any::<u128>(), "\\PC{0,20}", 1i32..100, any::<u32>(), any::<i64>()), 1..8)) {
            let payloads: Vec<String> = events.iter().map(|e| format!("{{\"n\":{}}}", e.4)).collect();
            let mut out = String::new();
            for (e, p) in events.iter().zip(&payloads) {
                push_element(&mut out, Uuid::from_u128(e.0), &e.1, e.2, Millis(u64::from(e.3)), p);
            }
            let tail = finish(out).unwrap();
            let back = parse(&tail).unwrap();
            prop_assert_eq!(back.len(), events.len());
            for ((b, e), p) in back.iter().zip(&events).zip(&payloads) {
                prop_assert_eq!(b.id, Uuid::from_u128(e.0));
                prop_assert_eq!(&b.event_type, &e.1);
                prop_assert_eq!(i32::from(b.schema_version), e.2);
                prop_assert_eq!(b.occurred_at, u64::from(e.3));
                prop_assert_eq!(b.payload.get(), p.as_str());
            }
        }
    }
}
