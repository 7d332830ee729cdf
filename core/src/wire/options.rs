//! Router options: everything a binding's `Router` is configured with, in
//! one object that rejects what it does not know.

use super::Case;
use super::read::Reader;
use crate::engine::{PartnerProfile, RouterBuilder};
use crate::error::{FieldError, Result};
use crate::ledger::DEFAULT_SLOT_MS;
use crate::rank::RankWeights;
use serde_json::{Map, Value, json};

/// The keys of the router options (snake_case; camelCase for callers that use it).
pub const ROUTER_OPTION_FIELDS: [&str; 15] = [
    "manual_clock",
    "start_ms",
    "seed",
    "slot_ms",
    "reservation_ttl_ms",
    "booking_timeout_ms",
    "top_k",
    "fallback_attempts",
    "batch_window_ms",
    "batch_max",
    "solver_budget_ms",
    "rank_weights",
    "partner_failure_rate",
    "partner_latency_ms",
    "gateway",
];

const WEIGHT_FIELDS: [&str; 4] = ["capacity", "quality", "latency", "cost"];

/// The largest time in ms an option takes (about 285 years).
const MAX_MS: u64 = 1 << 53;

/// The error for a `gateway` key reaching the options reader: a gateway is a
/// host object (methods, not data), taken out by the package's `Router` in
/// Node and in Python before the rest is read, so the JSON contract refuses
/// it rather than ignoring it.
///
/// ```
/// assert_eq!(uoom::wire::unsupported_gateway().code, "unsupported");
/// ```
pub fn unsupported_gateway() -> FieldError {
    FieldError::new(
        "gateway",
        "unsupported",
        "a gateway is an object with book/cancel methods, not an option value: the package's \
         Router takes it (Node's and Python's route()); without one the router books through \
         its simulated partners (partner_failure_rate, partner_latency_ms)",
    )
}

/// Options of a binding's router, with every default resolved.
///
/// ```
/// use uoom::wire::{Case, RouterOptions};
/// let o = RouterOptions::parse(&serde_json::json!({"topK": 2, "batchWindowMs": 50}), Case::Camel).unwrap();
/// assert_eq!((o.top_k, o.batch_window_ms, o.batch_max), (2, Some(50), 512));
///
/// let err = RouterOptions::parse(&serde_json::json!({"slotMS": 1}), Case::Camel).unwrap_err();
/// assert_eq!(err.field_errors()[0].field, "slotMS");
/// assert_eq!(err.field_errors()[0].code, "unknown_field");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct RouterOptions {
    /// A manual clock (moved by the binding's `advance_ms`) instead of wall time. Default false.
    pub manual_clock: bool,
    /// Start of the manual clock, ms since the epoch. Default 0.
    pub start_ms: u64,
    /// Seed of generated ids and of the simulated partners. Default 1.
    pub seed: u64,
    /// Ledger slot length in ms. Default 15 minutes.
    pub slot_ms: u64,
    /// How long a reservation holds before it lapses, in ms. Default 30 s.
    pub reservation_ttl_ms: u64,
    /// How long a partner may take to book, in ms. Default 2 s.
    pub booking_timeout_ms: u64,
    /// Ranked candidates tried on the real-time path (>= 1). Default 3.
    pub top_k: u32,
    /// Extra round-robin candidates when every ranked one failed. Default 2.
    pub fallback_attempts: u32,
    /// Batch window in ms: orders wait and are routed together. Default none.
    pub batch_window_ms: Option<u64>,
    /// A batch is routed early once it holds this many orders (>= 1). Default 512.
    pub batch_max: u32,
    /// Time budget of the batch solver, in ms. Default 20.
    pub solver_budget_ms: u64,
    /// Weights of the real-time ranking; keys left out keep their default.
    pub rank_weights: RankWeights,
    /// Simulated partners: share of bookings that fail, in [0, 1]. Default 0.
    pub partner_failure_rate: f64,
    /// Simulated partners: booking latency in ms. Default 5.
    pub partner_latency_ms: u64,
}

impl Default for RouterOptions {
    fn default() -> Self {
        let p = PartnerProfile::reliable();
        RouterOptions {
            manual_clock: false,
            start_ms: 0,
            seed: 1,
            slot_ms: DEFAULT_SLOT_MS,
            reservation_ttl_ms: 30_000,
            booking_timeout_ms: 2_000,
            top_k: 3,
            fallback_attempts: 2,
            batch_window_ms: None,
            batch_max: 512,
            solver_budget_ms: 20,
            rank_weights: RankWeights::default(),
            partner_failure_rate: p.failure_rate,
            partner_latency_ms: p.latency_ms,
        }
    }
}

impl RouterOptions {
    /// Reads the options object (`null` or absent keys take their defaults);
    /// an unknown key is `unknown_field`, a `gateway` key `unsupported`.
    pub fn parse(v: &Value, case: Case) -> Result<RouterOptions> {
        let mut r = Reader::new(case);
        let out = match v {
            Value::Null => Some(RouterOptions::default()),
            v => r
                .object(v, "", "the router options")
                .and_then(|o| read(&mut r, o)),
        };
        r.finish(out)
    }

    /// The options with every default written, keys in `case`.
    ///
    /// ```
    /// use uoom::wire::{Case, RouterOptions};
    /// let v = RouterOptions::default().to_value(Case::Camel);
    /// assert_eq!(v["topK"], 3);
    /// assert_eq!(RouterOptions::parse(&v, Case::Camel).unwrap(), RouterOptions::default());
    /// ```
    pub fn to_value(&self, case: Case) -> Value {
        let w = self.rank_weights;
        case.keys(json!({
            "manual_clock": self.manual_clock,
            "start_ms": self.start_ms,
            "seed": self.seed,
            "slot_ms": self.slot_ms,
            "reservation_ttl_ms": self.reservation_ttl_ms,
            "booking_timeout_ms": self.booking_timeout_ms,
            "top_k": self.top_k,
            "fallback_attempts": self.fallback_attempts,
            "batch_window_ms": self.batch_window_ms,
            "batch_max": self.batch_max,
            "solver_budget_ms": self.solver_budget_ms,
            "rank_weights": {"capacity": w.capacity, "quality": w.quality, "latency": w.latency, "cost": w.cost},
            "partner_failure_rate": self.partner_failure_rate,
            "partner_latency_ms": self.partner_latency_ms,
        }))
    }

    /// The simulated partners' profile these options describe (every kind alike).
    pub fn partner_profile(&self) -> PartnerProfile {
        PartnerProfile {
            failure_rate: self.partner_failure_rate,
            latency_ms: self.partner_latency_ms,
            slow_latency_ms: self.partner_latency_ms,
            ..PartnerProfile::reliable()
        }
    }

    /// Applies every engine setting to a router builder (the clock and the
    /// gateway are the binding's: they are host objects).
    pub fn configure(&self, b: RouterBuilder) -> RouterBuilder {
        b.with_id_seed(self.seed)
            .with_slot_ms(self.slot_ms)
            .with_reservation_ttl_ms(self.reservation_ttl_ms)
            .with_booking_timeout_ms(self.booking_timeout_ms)
            .with_top_k(self.top_k as usize)
            .with_fallback_attempts(self.fallback_attempts as usize)
            .with_batch_window_ms(self.batch_window_ms)
            .with_batch_max(self.batch_max as usize)
            .with_solver_budget_ms(self.solver_budget_ms)
            .with_rank_weights(self.rank_weights)
    }
}

fn read(r: &mut Reader, o: &Map<String, Value>) -> Option<RouterOptions> {
    let d = RouterOptions::default();
    r.deny_unknown(o, "", &ROUTER_OPTION_FIELDS);
    if o.contains_key(r.case.key("gateway").as_ref()) {
        r.errs.push(unsupported_gateway());
    }
    let before = r.errs.len();
    let ms = |r: &mut Reader, key: &str, default: u64| {
        r.opt_int(o, "", key, 0, MAX_MS)
            .map(|v| v.unwrap_or(default))
    };
    let manual_clock = r
        .opt_bool(o, "", "manual_clock")
        .map(|b| b.unwrap_or(d.manual_clock));
    let start_ms = ms(r, "start_ms", d.start_ms);
    let seed = r
        .opt_int(o, "", "seed", 0, u64::from(u32::MAX))
        .map(|v| v.unwrap_or(d.seed));
    let slot_ms = r
        .opt_int(o, "", "slot_ms", 1, MAX_MS)
        .map(|v| v.unwrap_or(d.slot_ms));
    let reservation_ttl_ms = ms(r, "reservation_ttl_ms", d.reservation_ttl_ms);
    let booking_timeout_ms = ms(r, "booking_timeout_ms", d.booking_timeout_ms);
    let top_k = r
        .opt_int(o, "", "top_k", 1, 1_000_000)
        .map(|v| v.map_or(d.top_k, |v| v as u32));
    let fallback_attempts = r
        .opt_int(o, "", "fallback_attempts", 0, 1_000_000)
        .map(|v| v.map_or(d.fallback_attempts, |v| v as u32));
    let batch_window_ms = r.opt_int(o, "", "batch_window_ms", 0, MAX_MS);
    let batch_max = r
        .opt_int(o, "", "batch_max", 1, 1_000_000)
        .map(|v| v.map_or(d.batch_max, |v| v as u32));
    let solver_budget_ms = ms(r, "solver_budget_ms", d.solver_budget_ms);
    let rank_weights = match r.opt(o, "rank_weights") {
        None => Some(d.rank_weights),
        Some(v) => {
            let path = r.at("", "rank_weights");
            r.object(v, &path, &path)
                .and_then(|w| read_weights(r, w, &path))
        }
    };
    let rate = r.opt_num(o, "", "partner_failure_rate");
    let partner_failure_rate = if r.opt(o, "partner_failure_rate").is_some() {
        r.range(rate, "", "partner_failure_rate", 0.0, 1.0)
    } else {
        Some(d.partner_failure_rate)
    };
    let partner_latency_ms = ms(r, "partner_latency_ms", d.partner_latency_ms);
    if r.errs.len() != before {
        return None;
    }
    Some(RouterOptions {
        manual_clock: manual_clock?,
        start_ms: start_ms?,
        seed: seed?,
        slot_ms: slot_ms?,
        reservation_ttl_ms: reservation_ttl_ms?,
        booking_timeout_ms: booking_timeout_ms?,
        top_k: top_k?,
        fallback_attempts: fallback_attempts?,
        batch_window_ms: batch_window_ms?,
        batch_max: batch_max?,
        solver_budget_ms: solver_budget_ms?,
        rank_weights: rank_weights?,
        partner_failure_rate: partner_failure_rate?,
        partner_latency_ms: partner_latency_ms?,
    })
}

/// Ranking weights: any of `capacity`, `quality`, `latency`, `cost` (the
/// others keep their default); finite, >= 0, not all zero.
pub(crate) fn read_weights(
    r: &mut Reader,
    w: &Map<String, Value>,
    path: &str,
) -> Option<RankWeights> {
    r.deny_unknown(w, path, &WEIGHT_FIELDS);
    let before = r.errs.len();
    let mut out = RankWeights::default();
    for (key, slot) in WEIGHT_FIELDS.into_iter().zip([
        &mut out.capacity,
        &mut out.quality,
        &mut out.latency,
        &mut out.cost,
    ]) {
        let x = r.opt_num(w, path, key);
        if let Some(x) = r.range(x, path, key, 0.0, f64::INFINITY) {
            *slot = x;
        }
    }
    if r.errs.len() != before {
        return None;
    }
    if out.capacity + out.quality + out.latency + out.cost <= 0.0 {
        r.err(
            path.to_owned(),
            "all_zero",
            "at least one weight must be > 0",
        );
        return None;
    }
    Some(out)
}
