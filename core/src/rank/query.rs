//! What a ranking is asked and what it answers.

use super::weights::{Contributions, RankWeights};
use crate::error::{Error, FieldError, Result};
use crate::model::channel::Vehicle;
use crate::model::geo::GeoPoint;
use crate::model::ids::ChannelId;
use serde::{Deserialize, Serialize};

/// A ranking request for one order.
///
/// ```
/// use uoom::rank::{RankQuery, RankWeights};
/// use uoom::{GeoPoint, Vehicle};
/// let q = RankQuery::new(GeoPoint::new(24.71, 46.67), Vehicle::Bike, 2)
///     .with_deadline_min(45.0)
///     .with_weights(RankWeights { cost: 1.0, ..RankWeights::default() });
/// assert!(q.validate().is_ok());
/// let bad = RankQuery::new(GeoPoint::new(100.0, 0.0), Vehicle::Bike, 0);
/// assert_eq!(bad.validate().unwrap_err().field_errors().len(), 2);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RankQuery {
    /// Where the order goes.
    pub location: GeoPoint,
    /// The vehicle the order needs.
    pub vehicle: Vehicle,
    /// Capacity units the order needs (eligibility: available >= units).
    pub units: u32,
    /// Latest acceptable ETA in minutes, if any (eligibility and latency scale).
    pub deadline_min: Option<f64>,
    /// Criterion weights for this query.
    pub weights: RankWeights,
}

impl RankQuery {
    /// A query with the default weights and no deadline.
    pub fn new(location: GeoPoint, vehicle: Vehicle, units: u32) -> Self {
        RankQuery {
            location,
            vehicle,
            units,
            deadline_min: None,
            weights: RankWeights::default(),
        }
    }

    /// Sets the deadline in minutes.
    pub fn with_deadline_min(mut self, minutes: f64) -> Self {
        self.deadline_min = Some(minutes);
        self
    }

    /// Sets the weights.
    pub fn with_weights(mut self, w: RankWeights) -> Self {
        self.weights = w;
        self
    }

    /// Reports every problem: location out of range, zero units, a deadline
    /// that is not a positive number, invalid weights.
    pub fn validate(&self) -> Result<()> {
        let mut errs = Vec::new();
        if !self.location.is_valid() {
            errs.push(FieldError::new(
                "location",
                "out_of_range",
                "latitude must be in [-90, 90] and longitude in [-180, 180]",
            ));
        }
        if self.units == 0 {
            errs.push(FieldError::new(
                "units",
                "out_of_range",
                "units must be at least 1",
            ));
        }
        if let Some(d) = self.deadline_min
            && !(d.is_finite() && d > 0.0)
        {
            errs.push(FieldError::new(
                "deadline_min",
                "out_of_range",
                format!("deadline must be a finite number of minutes > 0, got {d}"),
            ));
        }
        if let Err(Error::Validation(mut w)) = self.weights.validate() {
            errs.append(&mut w);
        }
        if errs.is_empty() {
            Ok(())
        } else {
            Err(Error::Validation(errs))
        }
    }
}

/// One ranked channel.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Ranked {
    /// Index of the channel in the ranker's channel list.
    pub channel: usize,
    /// Weighted score in [0, 1]: the sum of the contributions.
    pub score: f64,
    /// What each criterion added.
    pub contributions: Contributions,
    /// Haversine distance from the channel to the order, km.
    pub distance_km: f64,
    /// Estimated minutes to deliver.
    pub eta_min: f64,
    /// Delivery cost (score units of the channel's cost model).
    pub cost: f64,
}

/// Why a channel was not eligible. When several apply, the first in this
/// order is reported.
///
/// ```
/// use uoom::rank::Exclusion;
/// assert_eq!(Exclusion::OutOfRadius.as_str(), "out_of_radius");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Exclusion {
    /// Health is down.
    ChannelDown,
    /// The channel's circuit breaker is open.
    BreakerOpen,
    /// A signal is older than the staleness limit (policy `Exclude`).
    StaleSignals,
    /// The channel does not dispatch the vehicle the order needs.
    VehicleMismatch,
    /// Available capacity is below the order's units.
    NoCapacity,
    /// The order is outside the channel's radius.
    OutOfRadius,
    /// The ETA is past the order's deadline.
    DeadlineUnreachable,
}

impl Exclusion {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Exclusion::ChannelDown => "channel_down",
            Exclusion::BreakerOpen => "breaker_open",
            Exclusion::StaleSignals => "stale_signals",
            Exclusion::VehicleMismatch => "vehicle_mismatch",
            Exclusion::NoCapacity => "no_capacity",
            Exclusion::OutOfRadius => "out_of_radius",
            Exclusion::DeadlineUnreachable => "deadline_unreachable",
        }
    }
}

/// A ranked channel with everything that went into its score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExplainedRank {
    /// 1-based rank.
    pub rank: usize,
    /// Channel id.
    pub id: ChannelId,
    /// The ranking itself.
    pub ranked: Ranked,
    /// Normalised value of each criterion in [0, 1], before weighting.
    pub values: Contributions,
    /// Names of signals that were stale (scored as 0 under policy `ZeroScore`).
    pub stale: Vec<String>,
}

/// A channel that was not eligible, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExcludedChannel {
    /// Index in the ranker's channel list.
    pub channel: usize,
    /// Channel id.
    pub id: ChannelId,
    /// The first reason that applied.
    pub reason: Exclusion,
}

/// The explanation of a ranking: the top k with each criterion's
/// contribution, the weights used, and every excluded channel with its reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RankExplanation {
    /// The weights after normalisation (sum 1).
    pub weights: RankWeights,
    /// The top k, best first (identical to `top_k`).
    pub ranked: Vec<ExplainedRank>,
    /// Number of eligible channels (ranked or not).
    pub eligible: usize,
    /// Every channel that was not eligible, in channel order.
    pub excluded: Vec<ExcludedChannel>,
}
