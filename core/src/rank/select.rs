//! The hot path: one pass over the channel arrays, cheapest filters first,
//! exact haversine only for channels inside the latitude band and the
//! longitude bound, and a k-slot insertion buffer instead of a sort.

use super::query::{RankQuery, Ranked};
use super::ranker::{Ranker, StalePolicy, vehicle_bit};
use super::weights::{Contributions, RankWeights};
use crate::error::Result;
use crate::model::geo::EARTH_RADIUS_KM;
use std::cmp::Ordering;
use std::f64::consts::PI;

/// Everything about one eligible candidate, computed in the scan.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Candidate {
    pub index: usize,
    pub distance_km: f64,
    pub eta_min: f64,
    pub cost: f64,
    /// Normalised values in [0, 1] (stale ones already zeroed per policy).
    pub values: Contributions,
    pub stale_headroom: bool,
    pub stale_quality: bool,
    pub stale_health: bool,
}

impl Candidate {
    pub fn contributions(&self, w: &RankWeights) -> Contributions {
        Contributions {
            capacity: w.capacity * self.values.capacity,
            quality: w.quality * self.values.quality,
            latency: w.latency * self.values.latency,
            cost: w.cost * self.values.cost,
        }
    }

    pub fn ranked(&self, w: &RankWeights) -> Ranked {
        let contributions = self.contributions(w);
        Ranked {
            channel: self.index,
            score: contributions.total(),
            contributions,
            distance_km: self.distance_km,
            eta_min: self.eta_min,
            cost: self.cost,
        }
    }
}

/// The deterministic order: higher score, then shorter ETA, then lower index.
#[inline]
pub(crate) fn better(a: &Ranked, b: &Ranked) -> bool {
    match b.score.total_cmp(&a.score) {
        Ordering::Less => true,
        Ordering::Greater => false,
        Ordering::Equal => match a.eta_min.total_cmp(&b.eta_min) {
            Ordering::Less => true,
            Ordering::Greater => false,
            Ordering::Equal => a.channel < b.channel,
        },
    }
}

/// Per-query constants.
pub(crate) struct Prepared {
    pub w: RankWeights,
    pub p2: f64,
    pub cos_p2: f64,
    pub lon: f64,
    pub qbit: u8,
    pub units: u32,
    pub deadline: f64,
    pub lat_ref: f64,
    pub cost_ref: f64,
    pub stale_before: u64,
}

impl Ranker {
    pub(crate) fn prepare(&self, q: &RankQuery) -> Result<Prepared> {
        q.validate()?;
        let p2 = q.location.lat.to_radians();
        let now = self.clock.now().0;
        Ok(Prepared {
            w: q.weights.normalised(),
            p2,
            cos_p2: p2.cos(),
            lon: q.location.lon,
            qbit: vehicle_bit(q.vehicle),
            units: q.units,
            deadline: q.deadline_min.unwrap_or(f64::INFINITY),
            lat_ref: q.deadline_min.unwrap_or(self.latency_ref_min),
            cost_ref: self.cost_ref,
            stale_before: self.max_age_ms.map_or(0, |a| now.saturating_sub(a)),
        })
    }

    /// Distance from channel `i` to the query point if within the channel's
    /// radius, computed exactly as [`crate::model::geo::haversine_km`]
    /// (channel first), so eligibility agrees with it to the bit.
    #[inline(always)]
    pub(crate) fn distance_within(&self, i: usize, p: &Prepared) -> Option<f64> {
        let dp = p.p2 - self.lat_rad[i];
        if dp.abs() > self.lat_band[i] {
            return None;
        }
        let dl = (p.lon - self.lon_deg[i]).to_radians();
        let cc = self.cos_lat[i] * p.cos_p2;
        if dl.abs() <= PI {
            // sin(x) >= 2x/π on [0, π/2], so h >= cc·(dl/π)².
            let t = dl / PI;
            if cc * t * t > self.h_max[i] {
                return None;
            }
        }
        self.exact_within(i, p)
    }

    /// The exact haversine test and distance for slot `i` (after the cheap bounds).
    #[inline(always)]
    pub(crate) fn exact_within(&self, i: usize, p: &Prepared) -> Option<f64> {
        let dp = p.p2 - self.lat_rad[i];
        let dl = (p.lon - self.lon_deg[i]).to_radians();
        let cc = self.cos_lat[i] * p.cos_p2;
        let h = (dp / 2.0).sin().powi(2) + cc * (dl / 2.0).sin().powi(2);
        if h > self.h_max[i] {
            return None;
        }
        let d = 2.0 * EARTH_RADIUS_KM * h.sqrt().asin();
        (d <= self.radius[i]).then_some(d)
    }

    /// Scores channel `i` if it is eligible (the checks after the cheap ones).
    #[inline(always)]
    pub(crate) fn candidate(&self, i: usize, d: f64, p: &Prepared) -> Option<Candidate> {
        // `i` is a slot (latitude order); the candidate carries the channel index.
        let eta = self.prep[i] + 60.0 * d / self.speed[i];
        if eta > p.deadline {
            return None;
        }
        let mut c = Candidate {
            index: self.orig[i],
            distance_km: d,
            eta_min: eta,
            cost: self.cost_base[i] + self.cost_per_km[i] * d,
            values: Contributions::default(),
            stale_headroom: false,
            stale_quality: false,
            stale_health: false,
        };
        c.values = Contributions {
            capacity: self.headroom[i],
            quality: self.quality_score[i],
            latency: p.lat_ref / (p.lat_ref + eta),
            cost: p.cost_ref / (p.cost_ref + c.cost.max(0.0)),
        };
        if self.oldest_at[i] < p.stale_before {
            let s = &self.signals[self.orig[i]];
            c.stale_headroom = s.headroom_at.0 < p.stale_before;
            c.stale_quality = s.quality_at.0 < p.stale_before;
            c.stale_health = s.health_at.0 < p.stale_before;
            if self.policy == StalePolicy::Exclude {
                return None;
            }
            if c.stale_headroom {
                c.values.capacity = 0.0;
            }
            if c.stale_quality || c.stale_health {
                c.values.quality = 0.0;
            }
        }
        Some(c)
    }

    /// The best `k` eligible channels for `q`, best first, without sorting
    /// the rest. Eligibility: not down, breaker closed, signals fresh (policy
    /// `Exclude`), vehicle served, available >= units, within radius, ETA
    /// within the deadline. Errors only on an invalid query.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use uoom::rank::{RankQuery, Ranker};
    /// use uoom::{Channel, ChannelKind, GeoPoint, ManualClock, Millis, Vehicle};
    /// let mk = |id: &str, lat: f64, q: f64| Channel::builder(id, ChannelKind::DarkStore, GeoPoint::new(lat, 46.67))
    ///     .with_capacity(10).with_radius_km(10.0).with_quality(q).build().unwrap();
    /// let ranker = Ranker::new(vec![mk("a", 24.70, 0.5), mk("b", 24.72, 0.9)], Arc::new(ManualClock::new(Millis(0)))).unwrap();
    /// let top = ranker.top_k(&RankQuery::new(GeoPoint::new(24.71, 46.67), Vehicle::Bike, 1), 1).unwrap();
    /// assert_eq!(top[0].channel, 1);
    /// assert!((top[0].contributions.total() - top[0].score).abs() < 1e-12);
    /// ```
    pub fn top_k(&self, q: &RankQuery, k: usize) -> Result<Vec<Ranked>> {
        let mut out = Vec::with_capacity(k.min(self.len()));
        self.top_k_into(q, k, &mut out)?;
        Ok(out)
    }

    /// [`Ranker::top_k`] into a caller's buffer: no allocation when
    /// `out.capacity() >= k`. `out` is cleared first.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use uoom::rank::{RankQuery, Ranker};
    /// use uoom::{Channel, ChannelKind, GeoPoint, ManualClock, Millis, Vehicle};
    /// let c = Channel::builder("a", ChannelKind::DarkStore, GeoPoint::new(24.70, 46.67)).with_capacity(3).build().unwrap();
    /// let ranker = Ranker::new(vec![c], Arc::new(ManualClock::new(Millis(0)))).unwrap();
    /// let mut buf = Vec::with_capacity(5);
    /// ranker.top_k_into(&RankQuery::new(GeoPoint::new(24.71, 46.67), Vehicle::Bike, 2), 5, &mut buf).unwrap();
    /// assert_eq!(buf.len(), 1);
    /// ranker.top_k_into(&RankQuery::new(GeoPoint::new(24.71, 46.67), Vehicle::Bike, 4), 5, &mut buf).unwrap();
    /// assert!(buf.is_empty()); // needs 4 units, 3 available
    /// ```
    pub fn top_k_into(&self, q: &RankQuery, k: usize, out: &mut Vec<Ranked>) -> Result<()> {
        out.clear();
        let p = self.prepare(q)?;
        if k == 0 {
            return Ok(());
        }
        // Latitude stripes that can hold a channel within radius, and in
        // each stripe (sorted by longitude) the longitude window.
        if let Some((s_lo, s_hi)) = self.stripe_range(p.p2) {
            for st in &self.stripes[s_lo..=s_hi] {
                let (lo, hi) = st.window(&self.lon_deg, p.lon);
                self.scan(lo, hi, &p, k, out);
            }
        }
        Ok(())
    }

    /// Scans slots `lo..hi` into the k-slot buffer `out`.
    #[inline(always)]
    fn scan(&self, lo: usize, hi: usize, p: &Prepared, k: usize, out: &mut Vec<Ranked>) {
        let n = hi - lo;
        // Equal-length slices: the compiler drops the bounds checks in the loop.
        let blocked = &self.blocked[lo..hi][..n];
        let vmask = &self.vmask[lo..hi][..n];
        let avail = &self.available[lo..hi][..n];
        let lat = &self.lat_rad[lo..hi][..n];
        let lon = &self.lon_deg[lo..hi][..n];
        let band = &self.lat_band[lo..hi][..n];
        let cos_lat = &self.cos_lat[lo..hi][..n];
        let h_max = &self.h_max[lo..hi][..n];
        for j in 0..n {
            // The integer tests in one branch (each alone is unpredictable),
            // then the latitude band, then a trig-free lower bound of the
            // haversine h: sin x >= x - x³/6 for x >= 0, so with
            // y = dp/2, x = dl/2 (|x| <= 2.4, where the bound is >= 0),
            // h >= (y - y³/6)² + cc·(x - x³/6)². Channels failing it are
            // certainly out of radius; survivors get the exact formula.
            if !((blocked[j] == 0) & (vmask[j] & p.qbit != 0) & (avail[j] >= p.units)) {
                continue;
            }
            let dp = p.p2 - lat[j];
            if dp.abs() > band[j] {
                continue;
            }
            let dl = (p.lon - lon[j]).to_radians();
            let cc = cos_lat[j] * p.cos_p2;
            let y = 0.5 * dp.abs();
            let ly = y - y * y * y * (1.0 / 6.0);
            let x = 0.5 * dl.abs();
            let lx = if x <= 2.4 {
                x - x * x * x * (1.0 / 6.0)
            } else {
                0.0
            };
            if ly * ly + cc * lx * lx > h_max[j] {
                continue;
            }
            let i = lo + j;
            let Some(d) = self.exact_within(i, p) else {
                continue;
            };
            let Some(c) = self.candidate(i, d, p) else {
                continue;
            };
            let r = c.ranked(&p.w);
            if out.len() == k {
                if !better(&r, &out[k - 1]) {
                    continue;
                }
                out.pop();
            }
            let mut at = out.len();
            while at > 0 && better(&r, &out[at - 1]) {
                at -= 1;
            }
            out.insert(at, r);
        }
    }
}
