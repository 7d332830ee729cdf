//! Criteria, per-query weights and per-criterion contributions.

use crate::error::{Error, FieldError, Result};
use serde::{Deserialize, Serialize};

/// One ranking criterion.
///
/// ```
/// use uoom::rank::Criterion;
/// assert_eq!(Criterion::ALL.len(), 4);
/// assert_eq!(Criterion::Latency.as_str(), "latency");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Criterion {
    /// Capacity headroom: available / capacity of the channel's account.
    Capacity,
    /// Quality, scaled down when the channel is degraded.
    Quality,
    /// Delivery ETA for this order (shorter is better).
    Latency,
    /// Delivery cost for this order (cheaper is better).
    Cost,
}

impl Criterion {
    /// All criteria, in the order of [`Contributions::as_array`].
    pub const ALL: [Criterion; 4] = [
        Criterion::Capacity,
        Criterion::Quality,
        Criterion::Latency,
        Criterion::Cost,
    ];

    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Criterion::Capacity => "capacity",
            Criterion::Quality => "quality",
            Criterion::Latency => "latency",
            Criterion::Cost => "cost",
        }
    }
}

/// Weights of the criteria, chosen per query. Only their ratios matter:
/// they are divided by their sum, so a score is always in [0, 1].
///
/// The default (capacity 0.25, quality 0.30, latency 0.30, cost 0.15)
/// favours fast, good channels and still spreads load away from nearly full ones.
///
/// ```
/// use uoom::rank::RankWeights;
/// let w = RankWeights::default();
/// assert_eq!(w.normalised().as_array().iter().sum::<f64>(), 1.0);
/// assert!(RankWeights { capacity: -1.0, ..w }.validate().is_err());
/// assert!(RankWeights { capacity: 0.0, quality: 0.0, latency: 0.0, cost: 0.0 }.validate().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RankWeights {
    /// Weight of capacity headroom.
    pub capacity: f64,
    /// Weight of quality.
    pub quality: f64,
    /// Weight of latency (ETA).
    pub latency: f64,
    /// Weight of cost.
    pub cost: f64,
}

impl Default for RankWeights {
    fn default() -> Self {
        RankWeights {
            capacity: 0.25,
            quality: 0.30,
            latency: 0.30,
            cost: 0.15,
        }
    }
}

impl RankWeights {
    /// Every weight finite and >= 0, and at least one > 0.
    pub fn validate(&self) -> Result<()> {
        let mut errs = Vec::new();
        for (c, w) in Criterion::ALL.iter().zip(self.as_array()) {
            if !w.is_finite() || w < 0.0 {
                errs.push(FieldError::new(
                    format!("weights.{}", c.as_str()),
                    "out_of_range",
                    format!("weight must be a finite number >= 0, got {w}"),
                ));
            }
        }
        if errs.is_empty() && self.as_array().iter().sum::<f64>() <= 0.0 {
            errs.push(FieldError::new(
                "weights",
                "all_zero",
                "at least one weight must be > 0",
            ));
        }
        if errs.is_empty() {
            Ok(())
        } else {
            Err(Error::Validation(errs))
        }
    }

    /// The weights divided by their sum (call on validated weights).
    pub fn normalised(&self) -> RankWeights {
        let s: f64 = self.as_array().iter().sum();
        RankWeights {
            capacity: self.capacity / s,
            quality: self.quality / s,
            latency: self.latency / s,
            cost: self.cost / s,
        }
    }

    /// `[capacity, quality, latency, cost]`.
    pub fn as_array(&self) -> [f64; 4] {
        [self.capacity, self.quality, self.latency, self.cost]
    }
}

/// What each criterion added to a score: normalised weight × normalised value.
///
/// ```
/// let c = uoom::rank::Contributions { capacity: 0.1, quality: 0.2, latency: 0.3, cost: 0.05 };
/// assert!((c.total() - 0.65).abs() < 1e-12);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Contributions {
    /// From capacity headroom.
    pub capacity: f64,
    /// From quality.
    pub quality: f64,
    /// From latency.
    pub latency: f64,
    /// From cost.
    pub cost: f64,
}

impl Contributions {
    /// The score: the sum of the contributions.
    pub fn total(&self) -> f64 {
        self.capacity + self.quality + self.latency + self.cost
    }

    /// `[capacity, quality, latency, cost]`.
    pub fn as_array(&self) -> [f64; 4] {
        [self.capacity, self.quality, self.latency, self.cost]
    }

    /// The contribution of one criterion.
    pub fn get(&self, c: Criterion) -> f64 {
        match c {
            Criterion::Capacity => self.capacity,
            Criterion::Quality => self.quality,
            Criterion::Latency => self.latency,
            Criterion::Cost => self.cost,
        }
    }
}
