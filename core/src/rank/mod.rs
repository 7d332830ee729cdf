//! Multi-criteria channel ranking: filtered, weighted top-k with explanations.
//!
//! For one order ([`RankQuery`]) the [`Ranker`] keeps the channels that are
//! eligible (up, breaker closed, fresh signals, vehicle served, capacity >=
//! units, within radius, ETA within the deadline) and scores each on four
//! criteria normalised to [0, 1]:
//!
//! | criterion | value |
//! |---|---|
//! | capacity | available / capacity (from the ledger) |
//! | quality | quality × 1 (up) or × 0.5 (degraded) |
//! | latency | `ref / (ref + eta)`; `ref` = the deadline, else 30 min |
//! | cost | `ref / (ref + cost)`; `ref` = 10 cost units |
//!
//! The score is the weighted sum with weights divided by their sum, so it is
//! in [0, 1] and each criterion's contribution is reported. Ties break on
//! shorter ETA, then lower channel index: rankings are deterministic. The
//! fixed references (not min-max over the candidates) keep a channel's score
//! independent of the other channels and allow a single pass. Every signal
//! carries its update time; signals older than the configured limit are
//! handled by the [`StalePolicy`]. See `docs/ranking.md`.
//!
//! ```
//! use std::sync::Arc;
//! use uoom::rank::{RankQuery, RankWeights, Ranker};
//! use uoom::{Channel, ChannelKind, GeoPoint, ManualClock, Millis, Vehicle};
//! let cheap = Channel::builder("cheap", ChannelKind::DarkStore, GeoPoint::new(24.70, 46.67))
//!     .with_capacity(10).with_radius_km(10.0).with_cost(1.0, 0.1).build().unwrap();
//! let fast = Channel::builder("fast", ChannelKind::DarkStore, GeoPoint::new(24.71, 46.67))
//!     .with_capacity(10).with_radius_km(10.0).with_cost(9.0, 2.0).with_prep_min(2.0).build().unwrap();
//! let ranker = Ranker::new(vec![cheap, fast], Arc::new(ManualClock::new(Millis(0)))).unwrap();
//! let at = GeoPoint::new(24.712, 46.67);
//! let by_cost = RankQuery::new(at, Vehicle::Bike, 1).with_weights(RankWeights { capacity: 0.0, quality: 0.0, latency: 0.0, cost: 1.0 });
//! let by_time = RankQuery::new(at, Vehicle::Bike, 1).with_weights(RankWeights { capacity: 0.0, quality: 0.0, latency: 1.0, cost: 0.0 });
//! assert_eq!(ranker.top_k(&by_cost, 1).unwrap()[0].channel, 0);
//! assert_eq!(ranker.top_k(&by_time, 1).unwrap()[0].channel, 1);
//! ```

mod explain;
mod query;
mod ranker;
mod select;
mod weights;

pub use query::{ExcludedChannel, Exclusion, ExplainedRank, RankExplanation, RankQuery, Ranked};
pub use ranker::{
    ChannelRef, DEFAULT_COST_REF, DEFAULT_LATENCY_REF_MIN, DEGRADED_QUALITY_FACTOR, Ranker,
    Signals, StalePolicy,
};
pub use weights::{Contributions, Criterion, RankWeights};
