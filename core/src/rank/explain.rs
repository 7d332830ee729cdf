//! Explanations: the same decision as `top_k`, with every criterion's
//! contribution and the reason each other channel was excluded.

use super::query::{ExcludedChannel, Exclusion, ExplainedRank, RankExplanation, RankQuery};
use super::ranker::{BLOCK_BREAKER, BLOCK_DOWN, Ranker, StalePolicy};
use crate::error::Result;

impl Ranker {
    /// Why channel `i` is not eligible for the prepared query, if it is not
    /// (the first reason in [`Exclusion`]'s order).
    fn exclusion(&self, index: usize, p: &super::select::Prepared) -> Option<Exclusion> {
        let i = self.slot_of[index];
        if self.blocked[i] & BLOCK_DOWN != 0 {
            return Some(Exclusion::ChannelDown);
        }
        if self.blocked[i] & BLOCK_BREAKER != 0 {
            return Some(Exclusion::BreakerOpen);
        }
        if self.policy == StalePolicy::Exclude && self.oldest_at[i] < p.stale_before {
            return Some(Exclusion::StaleSignals);
        }
        if self.vmask[i] & p.qbit == 0 {
            return Some(Exclusion::VehicleMismatch);
        }
        if self.available[i] < p.units {
            return Some(Exclusion::NoCapacity);
        }
        let Some(d) = self.distance_within(i, p) else {
            return Some(Exclusion::OutOfRadius);
        };
        if self.candidate(i, d, p).is_none() {
            return Some(Exclusion::DeadlineUnreachable);
        }
        None
    }

    /// The top `k` as [`Ranker::top_k`] returns them, each with its
    /// criterion contributions and normalised values, plus every excluded
    /// channel with its reason. Slower than `top_k` (it allocates and keeps
    /// every candidate): meant for audit and debugging, not the hot path.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use uoom::rank::{Exclusion, RankQuery, Ranker};
    /// use uoom::{Channel, ChannelKind, GeoPoint, Health, ManualClock, Millis, Vehicle};
    /// let mk = |id: &str| Channel::builder(id, ChannelKind::DarkStore, GeoPoint::new(24.70, 46.67))
    ///     .with_capacity(10).with_radius_km(10.0).build().unwrap();
    /// let mut ranker = Ranker::new(vec![mk("a"), mk("b"), mk("c")], Arc::new(ManualClock::new(Millis(0)))).unwrap();
    /// ranker.update_health(1, Health::Down).unwrap();
    /// ranker.set_breaker_open(&uoom::ChannelId::from("c"), true).unwrap();
    /// let q = RankQuery::new(GeoPoint::new(24.71, 46.67), Vehicle::Bike, 1);
    /// let ex = ranker.explain(&q, 3).unwrap();
    /// assert_eq!(ex.ranked.len(), 1);
    /// assert_eq!(ex.ranked[0].id.as_str(), "a");
    /// assert_eq!(ex.excluded[0].reason, Exclusion::ChannelDown);
    /// assert_eq!(ex.excluded[1].reason, Exclusion::BreakerOpen);
    /// let c = &ex.ranked[0].ranked.contributions;
    /// assert!((c.total() - ex.ranked[0].ranked.score).abs() < 1e-12);
    /// ```
    pub fn explain(&self, q: &RankQuery, k: usize) -> Result<RankExplanation> {
        let p = self.prepare(q)?;
        let mut excluded = Vec::new();
        let mut candidates = Vec::new();
        for i in 0..self.len() {
            match self.exclusion(i, &p) {
                Some(reason) => excluded.push(ExcludedChannel {
                    channel: i,
                    id: self.channels[i].id.clone(),
                    reason,
                }),
                None => {
                    let slot = self.slot_of[i];
                    let d = self.distance_within(slot, &p).unwrap_or_default();
                    if let Some(c) = self.candidate(slot, d, &p) {
                        candidates.push(c);
                    }
                }
            }
        }
        let eligible = candidates.len();
        candidates.sort_by(|a, b| {
            let (ra, rb) = (a.ranked(&p.w), b.ranked(&p.w));
            if super::select::better(&ra, &rb) {
                std::cmp::Ordering::Less
            } else {
                std::cmp::Ordering::Greater
            }
        });
        let ranked = candidates
            .iter()
            .take(k)
            .enumerate()
            .map(|(n, c)| {
                let mut stale = Vec::new();
                if c.stale_headroom {
                    stale.push("headroom".to_owned());
                }
                if c.stale_quality {
                    stale.push("quality".to_owned());
                }
                if c.stale_health {
                    stale.push("health".to_owned());
                }
                ExplainedRank {
                    rank: n + 1,
                    id: self.channels[c.index].id.clone(),
                    ranked: c.ranked(&p.w),
                    values: c.values,
                    stale,
                }
            })
            .collect();
        Ok(RankExplanation {
            weights: p.w,
            ranked,
            eligible,
            excluded,
        })
    }
}
