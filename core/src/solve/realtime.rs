//! The real-time path: one order against N channels, feasibility + score +
//! pick, with channel geometry prepared once and no allocation per decision.

use super::problem::{ChanGeo, Demand, SLACK, Weights, criteria, distance, maybe_reachable};
use crate::model::channel::Channel;

/// The decision for one order.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pick {
    /// Best feasible channel with room.
    pub channel: usize,
    /// Its score.
    pub score: f64,
    /// Second-best feasible channel with room, and its score.
    pub runner_up: Option<(usize, f64)>,
}

/// Channels prepared for repeated single-order decisions.
///
/// ```
/// use uoom::{Channel, ChannelKind, GeoPoint, Vehicle};
/// use uoom::solve::{ChannelIndex, Demand, Weights};
/// let near = Channel::builder("near", ChannelKind::DarkStore, GeoPoint::new(24.70, 46.69))
///     .with_radius_km(8.0).with_vehicles([Vehicle::Bike]).build().unwrap();
/// let far = Channel::builder("far", ChannelKind::DarkStore, GeoPoint::new(24.75, 46.69))
///     .with_radius_km(8.0).with_vehicles([Vehicle::Bike]).build().unwrap();
/// let idx = ChannelIndex::new(&[far, near], Weights::default());
/// let d = Demand { location: GeoPoint::new(24.70, 46.68), units: 1, vehicle: Vehicle::Bike,
///                  deadline_min: 60.0, priority: 1 };
/// let pick = idx.best(&d, &[5, 5]).unwrap();
/// assert_eq!(pick.channel, 1);
/// assert_eq!(pick.runner_up.unwrap().0, 0);
/// assert!(idx.best(&d, &[0, 0]).is_none());
/// ```
#[derive(Debug, Clone)]
pub struct ChannelIndex {
    channels: Vec<Channel>,
    geo: Vec<ChanGeo>,
    weights: Weights,
}

impl ChannelIndex {
    /// Prepares `channels` (radians, cosines) for scoring under `weights`.
    pub fn new(channels: &[Channel], weights: Weights) -> Self {
        Self {
            channels: channels.to_vec(),
            geo: channels.iter().map(ChanGeo::new).collect(),
            weights,
        }
    }

    /// Number of channels.
    pub fn len(&self) -> usize {
        self.channels.len()
    }

    /// True when there are no channels.
    pub fn is_empty(&self) -> bool {
        self.channels.is_empty()
    }

    /// Best feasible channel with at least `d.units` left in `capacity_left`
    /// (indexed like the channels; missing entries count as 0), and the
    /// runner-up. Ties go to the lower index. Does not allocate.
    pub fn best(&self, d: &Demand, capacity_left: &[u32]) -> Option<Pick> {
        let o_rad = d.location.lat.to_radians();
        let o_cos = o_rad.cos();
        let mut best: Option<(usize, f64)> = None;
        let mut second: Option<(usize, f64)> = None;
        for (j, (c, g)) in self.channels.iter().zip(&self.geo).enumerate() {
            if capacity_left.get(j).copied().unwrap_or(0) < d.units
                || !c.health.is_available()
                || !c.serves(d.vehicle)
            {
                continue;
            }
            if !maybe_reachable(d, o_rad, o_cos, c, g) {
                continue;
            }
            let dist = distance(d.location.lon, o_rad, o_cos, g);
            if dist > c.radius_km + SLACK {
                continue;
            }
            let (crit, eta) = criteria(c, &self.weights, dist);
            if eta > d.deadline_min + SLACK {
                continue;
            }
            let s = crit.total();
            match best {
                Some((_, bs)) if s >= bs => {
                    if second.is_none_or(|(_, ss)| s < ss) {
                        second = Some((j, s));
                    }
                }
                _ => {
                    second = best;
                    best = Some((j, s));
                }
            }
        }
        best.map(|(channel, score)| Pick {
            channel,
            score,
            runner_up: second,
        })
    }
}
