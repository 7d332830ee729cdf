//! One outbox event as the adapters store and publish it.

use crate::{EventId, Millis};
use serde_json::Value;
use serde_json::value::RawValue;

/// An event on its way through the outbox: what Postgres stores in
/// `outbox_events`, what the relay claims and what Kafka receives.
///
/// It carries the payload as JSON text already, so the storage and the
/// broker need not know the engine's typed events, and a relay passes it
/// from the database to the broker without parsing it.
///
/// ```
/// use uoom::adapters::EventRecord;
/// use uoom::{EventId, Millis};
/// let e = EventRecord::new(EventId::from_u128(7), "order", "o-1", "OrderCreated",
///     serde_json::json!({"total": "1.00"}), Millis(0));
/// let env = e.envelope();
/// assert_eq!(env["aggregateId"], "o-1");
/// assert_eq!(env["timestamp"], "1970-01-01T00:00:00.000Z");
/// assert_eq!(e.key(), "o-1");
/// ```
#[derive(Debug, Clone)]
pub struct EventRecord {
    /// Unique id: the consumer's deduplication key.
    pub id: EventId,
    /// `order` or `channel`.
    pub aggregate_type: String,
    /// The aggregate's id; the Kafka message key.
    pub aggregate_id: String,
    /// The event type name (`OrderCreated`, …).
    pub event_type: String,
    /// Payload schema version.
    pub schema_version: u16,
    /// The payload, as JSON text.
    pub payload: Box<RawValue>,
    /// When it happened.
    pub occurred_at: Millis,
}

impl EventRecord {
    /// A record of schema version 1 (`payload` kept as its JSON text).
    pub fn new(
        id: EventId,
        aggregate_type: impl Into<String>,
        aggregate_id: impl Into<String>,
        event_type: impl Into<String>,
        payload: Value,
        occurred_at: Millis,
    ) -> Self {
        Self {
            id,
            aggregate_type: aggregate_type.into(),
            aggregate_id: aggregate_id.into(),
            event_type: event_type.into(),
            schema_version: 1,
            payload: raw(&payload),
            occurred_at,
        }
    }

    /// The payload parsed.
    ///
    /// ```
    /// use uoom::adapters::EventRecord;
    /// use uoom::{EventId, Millis};
    /// let e = EventRecord::new(EventId::from_u128(1), "order", "o-1", "OrderCreated",
    ///     serde_json::json!({"total": 5}), Millis(0));
    /// assert_eq!(e.payload_value()["total"], 5);
    /// assert_eq!(e.payload.get(), r#"{"total":5}"#);
    /// ```
    pub fn payload_value(&self) -> Value {
        serde_json::from_str(self.payload.get()).unwrap_or(Value::Null)
    }

    /// The Kafka message key.
    pub fn key(&self) -> &str {
        &self.aggregate_id
    }

    /// The JSON envelope a relay publishes:
    /// `{id, aggregateType, aggregateId, type, schemaVersion, timestamp, payload}`.
    pub fn envelope(&self) -> Value {
        serde_json::to_value(self.envelope_fields()).unwrap_or(Value::Null)
    }

    /// [`EventRecord::envelope`] serialized, as the relay publishes it:
    /// written straight from the record, without building a JSON tree.
    ///
    /// ```
    /// use uoom::adapters::EventRecord;
    /// use uoom::{EventId, Millis};
    /// let e = EventRecord::new(EventId::from_u128(7), "order", "o-1", "OrderCreated",
    ///     serde_json::json!({"total": "1.00"}), Millis(0));
    /// let bytes = e.envelope_bytes();
    /// let parsed: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    /// assert_eq!(parsed, e.envelope());
    /// ```
    pub fn envelope_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(&self.envelope_fields()).unwrap_or_default()
    }

    fn envelope_fields(&self) -> Envelope<'_> {
        Envelope {
            aggregate_id: &self.aggregate_id,
            aggregate_type: &self.aggregate_type,
            id: self.id,
            payload: &self.payload,
            schema_version: self.schema_version,
            timestamp: self.occurred_at.to_rfc3339(),
            event_type: &self.event_type,
        }
    }
}

/// The envelope's fields, in the key order a JSON object of them has
/// always had (sorted), borrowed from the record.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct Envelope<'a> {
    aggregate_id: &'a str,
    aggregate_type: &'a str,
    id: EventId,
    payload: &'a RawValue,
    schema_version: u16,
    timestamp: String,
    #[serde(rename = "type")]
    event_type: &'a str,
}

/// Records are equal when their fields are, the payloads compared as JSON
/// values (a database may give the text back spaced differently).
impl PartialEq for EventRecord {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
            && self.aggregate_type == other.aggregate_type
            && self.aggregate_id == other.aggregate_id
            && self.event_type == other.event_type
            && self.schema_version == other.schema_version
            && (self.payload.get() == other.payload.get()
                || self.payload_value() == other.payload_value())
            && self.occurred_at == other.occurred_at
    }
}

/// A JSON value as its text (`null` if it cannot be written, which a
/// `Value` always can).
pub(crate) fn raw<T: serde::Serialize + ?Sized>(v: &T) -> Box<RawValue> {
    serde_json::value::to_raw_value(v)
        .unwrap_or_else(|_| RawValue::from_string("null".to_owned()).expect("null is JSON"))
}
