//! Ledger requests and views: a reservation request as JSON, a reservation
//! as the bindings show it.

use super::Case;
use super::read::{Reader, index};
use crate::error::Result;
use crate::ledger::{Reservation, ReservationId, ReservationState, SlotId};
use crate::model::ids::ChannelId;
use serde::Serialize;
use serde_json::{Map, Value, json};

/// The keys of a reservation request (snake_case; camelCase for callers that use it).
pub const RESERVE_FIELDS: [&str; 5] = ["id", "channel", "units", "slot", "ttl_ms"];

/// Time to live of a reservation when a request does not say, in ms.
pub const DEFAULT_TTL_MS: u64 = 30_000;

/// A reservation's idempotency key as the caller gave it: a string (an order
/// id, say) or a non-negative integer.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(untagged)]
pub enum ReservationKey {
    /// A string key (hashed into the ledger's id).
    Str(String),
    /// An integer key (used as the ledger's id).
    Int(u64),
}

impl ReservationKey {
    /// The ledger's id for this key.
    ///
    /// ```
    /// use uoom::wire::ReservationKey;
    /// assert_eq!(ReservationKey::Int(7).id(), uoom::ledger::ReservationId(7));
    /// ```
    pub fn id(&self) -> ReservationId {
        match self {
            ReservationKey::Str(s) => ReservationId::from(s.as_str()),
            ReservationKey::Int(v) => ReservationId(u128::from(*v)),
        }
    }
}

/// One reservation request: hold `units` on `channel`'s `slot` for `ttl_ms`.
///
/// ```
/// use uoom::wire::{Case, ReserveRequest};
/// let r = ReserveRequest::parse(&serde_json::json!({"id": "o1", "channel": "k1", "units": 2}), Case::Snake).unwrap();
/// assert_eq!((r.slot.0, r.ttl_ms), (0, 30_000));
/// let err = ReserveRequest::parse(&serde_json::json!({"id": "o1", "channel": "k1", "units": 0}), Case::Snake).unwrap_err();
/// assert_eq!(err.field_errors()[0].code, "out_of_range");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ReserveRequest {
    /// The idempotency key.
    pub id: ReservationKey,
    /// Channel id.
    pub channel: ChannelId,
    /// Units to hold (>= 1).
    pub units: u32,
    /// Slot index. Default 0.
    pub slot: SlotId,
    /// Time to live in ms. Default [`DEFAULT_TTL_MS`].
    pub ttl_ms: u64,
}

impl ReserveRequest {
    /// Reads one request.
    pub fn parse(v: &Value, case: Case) -> Result<ReserveRequest> {
        let mut r = Reader::new(case);
        let out = r
            .object(v, "", "a reservation request")
            .and_then(|o| read_reserve(&mut r, o, ""));
        r.finish(out)
    }

    /// Reads a list of requests, reporting every problem of every item (`items[2].units`).
    ///
    /// ```
    /// use uoom::wire::{Case, ReserveRequest};
    /// let err = ReserveRequest::parse_list(&serde_json::json!([{"id": "a"}, {"id": "b", "channel": "k", "units": -1}]), Case::Snake)
    ///     .unwrap_err();
    /// assert_eq!(err.field_errors().len(), 3);
    /// ```
    pub fn parse_list(v: &Value, case: Case) -> Result<Vec<ReserveRequest>> {
        let mut r = Reader::new(case);
        let mut out = Vec::new();
        if let Some(items) = r.array(v, "items", "items") {
            for (i, item) in items.iter().enumerate() {
                let path = index("items", i);
                if let Some(o) = r.object(item, &path, &path)
                    && let Some(q) = read_reserve(&mut r, o, &path)
                {
                    out.push(q);
                }
            }
        }
        r.finish(Some(out))
    }

    /// The request with every default written, keys in `case`.
    pub fn to_value(&self, case: Case) -> Value {
        case.keys(json!({
            "id": self.id,
            "channel": self.channel.as_str(),
            "units": self.units,
            "slot": self.slot.0,
            "ttl_ms": self.ttl_ms,
        }))
    }
}

fn read_reserve(r: &mut Reader, o: &Map<String, Value>, path: &str) -> Option<ReserveRequest> {
    r.deny_unknown(o, path, &RESERVE_FIELDS);
    let before = r.errs.len();
    let id = r.get(o, path, "id").and_then(|v| match v {
        Value::String(s) => Some(ReservationKey::Str(s.clone())),
        Value::Number(n) if n.as_u64().is_some() => n.as_u64().map(ReservationKey::Int),
        _ => {
            let at = r.at(path, "id");
            r.err(
                at,
                "invalid_type",
                "a reservation id is a string or a non-negative integer",
            );
            None
        }
    });
    let channel = r.string(o, path, "channel").map(ChannelId::from);
    let units = r.int(o, path, "units", 1, u64::from(u32::MAX));
    let slot = r.opt_int(o, path, "slot", 0, u64::from(u32::MAX));
    let ttl_ms = r.opt_int(o, path, "ttl_ms", 0, 1 << 53);
    if r.errs.len() != before {
        return None;
    }
    Some(ReserveRequest {
        id: id?,
        channel: channel?,
        units: units? as u32,
        slot: SlotId(slot?.unwrap_or(0) as u32),
        ttl_ms: ttl_ms?.unwrap_or(DEFAULT_TTL_MS),
    })
}

/// A reservation as the bindings show it.
///
/// ```
/// use uoom::wire::ReservationView;
/// assert_eq!(uoom::ledger::ReservationState::Refunded.as_str(), "refunded");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReservationView {
    /// The key the caller gave (`id#leg` for a leg of a batch).
    pub id: Value,
    /// The ledger's id (a hash of a string key), as text.
    pub ledger_id: String,
    /// The batch of a leg, as the ledger's id.
    pub batch: Option<String>,
    /// Channel id.
    pub channel: String,
    /// Slot index.
    pub slot: u32,
    /// Units reserved.
    pub units: u32,
    /// Units committed (0 until committed).
    pub committed: u32,
    /// `pending` | `committed` | `released` | `expired` | `refunded`.
    pub state: &'static str,
    /// When it was made, ms.
    pub created_at_ms: u64,
    /// When it lapses if not committed, ms.
    pub expires_at_ms: u64,
}

impl ReservationView {
    /// The view of `r`, named by the caller's key (`None`: the ledger's id).
    pub fn new(key: Option<Value>, r: &Reservation) -> Self {
        let account = r.account.key();
        ReservationView {
            id: key.unwrap_or_else(|| Value::String(r.id.to_string())),
            ledger_id: r.id.to_string(),
            batch: r.batch.map(|b| b.to_string()),
            channel: account.channel.0.clone(),
            slot: account.slot.0,
            units: r.units,
            committed: r.committed,
            state: r.state.as_str(),
            created_at_ms: r.created_at.0,
            expires_at_ms: r.expires_at.0,
        }
    }
}

/// Every reservation state's wire name, in lifecycle order.
pub const RESERVATION_STATES: [ReservationState; 5] = [
    ReservationState::Pending,
    ReservationState::Committed,
    ReservationState::Released,
    ReservationState::Expired,
    ReservationState::Refunded,
];
