//! The ranker's state: channel data laid out as structure-of-arrays for the
//! scan, and the incremental signal updates.

use crate::clock::{Clock, Millis};
use crate::error::{Error, Result};
use crate::ledger::{Ledger, SlotId};
use crate::model::channel::{Channel, Health, Vehicle};
use crate::model::geo::EARTH_RADIUS_KM;
use crate::model::ids::ChannelId;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;

/// Quality multiplier for a degraded channel: still eligible, scored lower.
pub const DEGRADED_QUALITY_FACTOR: f64 = 0.5;
/// Default latency scale in minutes (the ETA that scores 0.5) when the query has no deadline.
pub const DEFAULT_LATENCY_REF_MIN: f64 = 30.0;
/// Default cost scale (the cost that scores 0.5).
pub const DEFAULT_COST_REF: f64 = 10.0;

pub(crate) const BLOCK_DOWN: u8 = 1;
pub(crate) const BLOCK_BREAKER: u8 = 2;

/// What to do with a channel whose signals are older than the limit.
///
/// ```
/// assert_eq!(uoom::rank::StalePolicy::default(), uoom::rank::StalePolicy::Exclude);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StalePolicy {
    /// Not eligible (reason `StaleSignals`): never route on old news.
    #[default]
    Exclude,
    /// Eligible on the last known values, but a stale headroom or quality
    /// signal contributes 0 (a stale health signal zeroes quality): old good
    /// news earns nothing.
    ZeroScore,
}

/// The dynamic signals of one channel and when each was last updated.
///
/// ```
/// use std::sync::Arc;
/// use uoom::rank::Ranker;
/// use uoom::{Channel, ChannelKind, GeoPoint, Health, ManualClock, Millis};
/// let c = Channel::builder("c1", ChannelKind::DarkStore, GeoPoint::new(0.0, 0.0)).with_capacity(10).build().unwrap();
/// let clock = Arc::new(ManualClock::new(Millis(5)));
/// let mut r = Ranker::new(vec![c], clock.clone()).unwrap();
/// clock.advance_ms(10);
/// r.update_headroom(0, 4, 10).unwrap();
/// let s = r.signals(0).unwrap();
/// assert_eq!((s.available, s.capacity, s.headroom_at), (4, 10, Millis(15)));
/// assert_eq!(s.health_at, Millis(5));
/// assert_eq!(s.oldest(), Millis(5));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Signals {
    /// Units available (from the ledger).
    pub available: u32,
    /// Capacity (from the ledger).
    pub capacity: u32,
    /// Quality in [0, 1].
    pub quality: f64,
    /// Health.
    pub health: Health,
    /// Whether the circuit breaker is open.
    pub breaker_open: bool,
    /// When headroom was updated.
    pub headroom_at: Millis,
    /// When quality was updated.
    pub quality_at: Millis,
    /// When health or the breaker was updated.
    pub health_at: Millis,
}

impl Signals {
    /// The age reference of the channel: its oldest signal.
    pub fn oldest(&self) -> Millis {
        self.headroom_at.min(self.quality_at).min(self.health_at)
    }
}

/// Anything that names a channel of a ranker: its index or its id.
pub trait ChannelRef {
    /// The channel's index in `ranker`.
    fn resolve(&self, ranker: &Ranker) -> Result<usize>;
}

impl ChannelRef for usize {
    fn resolve(&self, ranker: &Ranker) -> Result<usize> {
        if *self < ranker.len() {
            Ok(*self)
        } else {
            Err(Error::not_found(format!("channel index {self}")))
        }
    }
}

impl ChannelRef for &ChannelId {
    fn resolve(&self, ranker: &Ranker) -> Result<usize> {
        ranker
            .index_of(self)
            .ok_or_else(|| Error::not_found(format!("channel {self}")))
    }
}

impl ChannelRef for &str {
    fn resolve(&self, ranker: &Ranker) -> Result<usize> {
        ranker
            .by_id
            .get(*self)
            .copied()
            .ok_or_else(|| Error::not_found(format!("channel {self}")))
    }
}

/// Filtered, weighted top-k over a fixed set of channels with incrementally
/// updated signals. Updates take `&mut self`; share it behind a `RwLock` if
/// several threads rank while one updates.
///
/// ```
/// use std::sync::Arc;
/// use uoom::rank::{RankQuery, Ranker};
/// use uoom::{Channel, ChannelKind, GeoPoint, ManualClock, Millis, Vehicle};
/// let near = Channel::builder("near", ChannelKind::DarkStore, GeoPoint::new(24.70, 46.68)).with_capacity(5).with_radius_km(8.0).build().unwrap();
/// let far = Channel::builder("far", ChannelKind::DarkStore, GeoPoint::new(24.90, 46.90)).with_capacity(5).build().unwrap();
/// let ranker = Ranker::new(vec![near, far], Arc::new(ManualClock::new(Millis(0)))).unwrap();
/// let q = RankQuery::new(GeoPoint::new(24.71, 46.67), Vehicle::Bike, 1);
/// let top = ranker.top_k(&q, 5).unwrap();
/// assert_eq!(top.len(), 1);
/// assert_eq!(ranker.channel(top[0].channel).unwrap().id.as_str(), "near");
/// ```
pub struct Ranker {
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) channels: Vec<Channel>,
    pub(crate) by_id: HashMap<String, usize>,
    pub(crate) max_age_ms: Option<u64>,
    pub(crate) policy: StalePolicy,
    pub(crate) latency_ref_min: f64,
    pub(crate) cost_ref: f64,
    // Structure of arrays, one entry per channel.
    pub(crate) lat_rad: Vec<f64>,
    pub(crate) cos_lat: Vec<f64>,
    pub(crate) lon_deg: Vec<f64>,
    /// Latitude band: |Δlat| (rad) beyond which the distance exceeds the radius.
    pub(crate) lat_band: Vec<f64>,
    /// sin²(radius / 2R) with a hair of margin: the haversine `h` bound.
    pub(crate) h_max: Vec<f64>,
    pub(crate) radius: Vec<f64>,
    pub(crate) vmask: Vec<u8>,
    pub(crate) blocked: Vec<u8>,
    pub(crate) available: Vec<u32>,
    pub(crate) headroom: Vec<f64>,
    pub(crate) quality_score: Vec<f64>,
    pub(crate) prep: Vec<f64>,
    pub(crate) speed: Vec<f64>,
    pub(crate) cost_base: Vec<f64>,
    pub(crate) cost_per_km: Vec<f64>,
    /// Oldest signal time per slot (ms).
    pub(crate) oldest_at: Vec<u64>,
    /// Signals by channel index (not slot): read on updates and the stale path only.
    pub(crate) signals: Vec<Signals>,
    /// The arrays above are indexed by *slot*: channels sorted by latitude,
    /// so a query scans only the slots inside its latitude window.
    /// `orig[slot]` is the channel index, `slot_of[index]` its slot.
    pub(crate) orig: Vec<usize>,
    pub(crate) slot_of: Vec<usize>,
    /// The widest latitude band of any channel (rad).
    pub(crate) max_band: f64,
    /// Slots grouped in latitude stripes of height `max_band`, each sorted
    /// by longitude: a query scans 2–3 stripes, each only within a longitude window.
    pub(crate) stripes: Vec<Stripe>,
    pub(crate) lat_min: f64,
}

/// A run of slots in one latitude stripe, sorted by longitude.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Stripe {
    pub start: usize,
    pub end: usize,
    /// Longitude half-width (degrees) beyond which no channel of the stripe
    /// can be within radius of a point inside its latitude band (infinite: no bound).
    pub half_width_deg: f64,
}

impl Stripe {
    /// The slots of this stripe a query at longitude `lon` must scan.
    #[inline]
    pub fn window(&self, lon_deg: &[f64], lon: f64) -> (usize, usize) {
        let w = self.half_width_deg;
        if !(w.is_finite() && lon - w >= -180.0 && lon + w <= 180.0) {
            // Unbounded, or the window wraps around the antimeridian: scan it all.
            return (self.start, self.end);
        }
        let run = &lon_deg[self.start..self.end];
        (
            self.start + run.partition_point(|&x| x < lon - w),
            self.start + run.partition_point(|&x| x <= lon + w),
        )
    }
}

/// Longitude half-width (rad) beyond which a channel at latitude `lat`
/// (rad) with latitude band `band` and haversine bound `h_max` is out of
/// radius for every point within its band: h >= cos φ1 cos φ2 sin²(Δλ/2)
/// and cos φ2 >= cos(|φ1| + band).
fn lon_half_width(lat: f64, band: f64, h_max: f64) -> f64 {
    let ext = lat.abs() + band;
    if ext >= std::f64::consts::FRAC_PI_2 || !h_max.is_finite() {
        return f64::INFINITY;
    }
    let arg = (h_max / (lat.cos() * ext.cos())).sqrt();
    if arg >= 1.0 {
        f64::INFINITY
    } else {
        2.0 * arg.asin() * (1.0 + 1e-9) + 1e-12
    }
}

pub(crate) fn vehicle_bit(v: Vehicle) -> u8 {
    1 << (v as u8)
}

impl Ranker {
    /// A ranker over `channels` (validated with [`Channel::check`]); signals
    /// start from the channel data (headroom = capacity, nothing held) and are
    /// stamped with the clock's current time.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use uoom::rank::Ranker;
    /// use uoom::{Channel, ChannelKind, GeoPoint, ManualClock, Millis};
    /// let mut c = Channel::builder("c1", ChannelKind::DarkStore, GeoPoint::new(0.0, 0.0)).build().unwrap();
    /// c.radius_km = -1.0;
    /// let err = Ranker::new(vec![c], Arc::new(ManualClock::new(Millis(0)))).err().unwrap();
    /// assert_eq!(err.field_errors()[0].field, "channels[0].radius_km");
    /// ```
    pub fn new(channels: Vec<Channel>, clock: Arc<dyn Clock>) -> Result<Ranker> {
        let mut errs = Vec::new();
        let mut by_id = HashMap::with_capacity(channels.len());
        for (i, c) in channels.iter().enumerate() {
            errs.extend(c.check(&format!("channels[{i}]")));
            if by_id.insert(c.id.0.clone(), i).is_some() {
                errs.push(crate::error::FieldError::new(
                    format!("channels[{i}].id"),
                    "duplicate",
                    format!("channel id {} appears twice", c.id),
                ));
            }
        }
        if !errs.is_empty() {
            return Err(Error::Validation(errs));
        }
        let now = clock.now();
        let n = channels.len();
        let mut r = Ranker {
            clock,
            by_id,
            max_age_ms: None,
            policy: StalePolicy::Exclude,
            latency_ref_min: DEFAULT_LATENCY_REF_MIN,
            cost_ref: DEFAULT_COST_REF,
            lat_rad: Vec::with_capacity(n),
            cos_lat: Vec::with_capacity(n),
            lon_deg: Vec::with_capacity(n),
            lat_band: Vec::with_capacity(n),
            h_max: Vec::with_capacity(n),
            radius: Vec::with_capacity(n),
            vmask: Vec::with_capacity(n),
            blocked: vec![0; n],
            available: vec![0; n],
            headroom: vec![0.0; n],
            quality_score: vec![0.0; n],
            prep: Vec::with_capacity(n),
            speed: Vec::with_capacity(n),
            cost_base: Vec::with_capacity(n),
            cost_per_km: Vec::with_capacity(n),
            signals: Vec::with_capacity(n),
            oldest_at: vec![now.0; n],
            orig: Vec::new(),
            slot_of: Vec::new(),
            max_band: 0.0,
            stripes: Vec::new(),
            lat_min: 0.0,
            channels,
        };
        // Per-channel geometry in channel order first.
        let mut geo = Vec::with_capacity(n);
        let mut max_band: f64 = 0.0;
        for c in &r.channels {
            let p = c.location.lat.to_radians();
            let half = c.radius_km / (2.0 * EARTH_RADIUS_KM);
            let (band, hmax) = if half >= std::f64::consts::FRAC_PI_2 {
                (f64::INFINITY, f64::INFINITY)
            } else {
                (
                    2.0 * half * (1.0 + 1e-9) + 1e-12,
                    half.sin().powi(2) * (1.0 + 1e-9) + 1e-18,
                )
            };
            max_band = max_band.max(band);
            geo.push((p, band, hmax));
        }
        let lat_min = geo.iter().map(|g| g.0).fold(f64::INFINITY, f64::min);
        let stripe_of = |lat: f64| -> usize {
            if max_band.is_finite() && max_band > 0.0 {
                ((lat - lat_min) / max_band) as usize
            } else {
                0
            }
        };
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&a, &b| {
            stripe_of(geo[a].0)
                .cmp(&stripe_of(geo[b].0))
                .then(
                    r.channels[a]
                        .location
                        .lon
                        .total_cmp(&r.channels[b].location.lon),
                )
                .then(a.cmp(&b))
        });
        r.slot_of = vec![0; n];
        for (slot, &i) in order.iter().enumerate() {
            r.slot_of[i] = slot;
        }
        r.max_band = max_band;
        r.lat_min = lat_min;
        let stripes = order.last().map_or(0, |&i| stripe_of(geo[i].0) + 1);
        r.stripes = vec![
            Stripe {
                start: 0,
                end: 0,
                half_width_deg: 0.0,
            };
            stripes
        ];
        for (slot, &i) in order.iter().enumerate() {
            let c = &r.channels[i];
            let (p, band, hmax) = geo[i];
            let st = &mut r.stripes[stripe_of(p)];
            if st.end == 0 {
                st.start = slot;
            }
            st.end = slot + 1;
            st.half_width_deg = st
                .half_width_deg
                .max(lon_half_width(p, band, hmax).to_degrees());
            r.lat_rad.push(p);
            r.cos_lat.push(p.cos());
            r.lon_deg.push(c.location.lon);
            r.lat_band.push(band);
            r.h_max.push(hmax);
            r.radius.push(c.radius_km);
            r.vmask
                .push(c.vehicles.iter().fold(0, |m, v| m | vehicle_bit(v)));
            r.prep.push(c.prep_min);
            r.speed.push(c.speed_kmh);
            r.cost_base.push(c.cost.base);
            r.cost_per_km.push(c.cost.per_km);
        }
        r.orig = order;
        for c in &r.channels {
            r.signals.push(Signals {
                available: c.capacity,
                capacity: c.capacity,
                quality: c.quality,
                health: c.health,
                breaker_open: false,
                headroom_at: now,
                quality_at: now,
                health_at: now,
            });
        }
        for i in 0..n {
            r.refresh(i);
        }
        Ok(r)
    }

    /// The stripes whose latitudes can hold a channel within radius of a
    /// point at latitude `p2` (rad), as an inclusive index range.
    pub(crate) fn stripe_range(&self, p2: f64) -> Option<(usize, usize)> {
        let last = self.stripes.len().checked_sub(1)?;
        if !(self.max_band.is_finite() && self.max_band > 0.0) {
            return Some((0, last));
        }
        let lo = (p2 - self.max_band - self.lat_min) / self.max_band;
        let hi = (p2 + self.max_band - self.lat_min) / self.max_band;
        if hi < 0.0 || lo > last as f64 + 1.0 {
            return None;
        }
        Some((
            (lo.max(0.0) as usize).min(last),
            (hi.max(0.0) as usize).min(last),
        ))
    }

    /// Signals older than `ms` are stale and handled by the policy (default: none are ever stale).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use uoom::rank::{RankQuery, Ranker};
    /// use uoom::{Channel, ChannelKind, GeoPoint, ManualClock, Millis, Vehicle};
    /// let c = Channel::builder("c1", ChannelKind::DarkStore, GeoPoint::new(24.70, 46.67)).with_capacity(4).build().unwrap();
    /// let clock = Arc::new(ManualClock::new(Millis(0)));
    /// let q = RankQuery::new(GeoPoint::new(24.71, 46.67), Vehicle::Bike, 1);
    /// let r = Ranker::new(vec![c], clock.clone()).unwrap().with_max_signal_age_ms(60_000);
    /// assert_eq!(r.top_k(&q, 1).unwrap().len(), 1);
    /// clock.advance_ms(60_001);
    /// assert!(r.top_k(&q, 1).unwrap().is_empty()); // stale: excluded by default
    /// ```
    pub fn with_max_signal_age_ms(mut self, ms: u64) -> Self {
        self.max_age_ms = Some(ms);
        self
    }

    /// What to do with stale signals (default [`StalePolicy::Exclude`]).
    pub fn with_stale_policy(mut self, p: StalePolicy) -> Self {
        self.policy = p;
        self
    }

    /// The ETA (minutes) that scores 0.5 on latency when a query has no
    /// deadline (default 30; must be > 0, else ignored).
    pub fn with_latency_ref_min(mut self, minutes: f64) -> Self {
        if minutes.is_finite() && minutes > 0.0 {
            self.latency_ref_min = minutes;
        }
        self
    }

    /// The cost that scores 0.5 on cost (default 10; must be > 0, else ignored).
    pub fn with_cost_ref(mut self, cost: f64) -> Self {
        if cost.is_finite() && cost > 0.0 {
            self.cost_ref = cost;
        }
        self
    }

    /// Number of channels.
    pub fn len(&self) -> usize {
        self.channels.len()
    }

    /// True if there are no channels.
    pub fn is_empty(&self) -> bool {
        self.channels.is_empty()
    }

    /// The channel at `index`.
    pub fn channel(&self, index: usize) -> Option<&Channel> {
        self.channels.get(index)
    }

    /// The channels, in index order.
    pub fn channels(&self) -> &[Channel] {
        &self.channels
    }

    /// The index of a channel id.
    pub fn index_of(&self, id: &ChannelId) -> Option<usize> {
        self.by_id.get(id.as_str()).copied()
    }

    /// The current signals of a channel.
    pub fn signals(&self, ch: impl ChannelRef) -> Result<Signals> {
        Ok(self.signals[ch.resolve(self)?])
    }

    /// Recomputes the derived arrays of channel `i` from its signals.
    fn refresh(&mut self, i: usize) {
        let s = self.signals[i];
        let k = self.slot_of[i];
        self.available[k] = s.available;
        self.headroom[k] = if s.capacity == 0 {
            0.0
        } else {
            (f64::from(s.available) / f64::from(s.capacity)).min(1.0)
        };
        let factor = match s.health {
            Health::Up => 1.0,
            Health::Degraded => DEGRADED_QUALITY_FACTOR,
            Health::Down => 0.0,
        };
        self.quality_score[k] = s.quality * factor;
        self.blocked[k] = if s.health == Health::Down {
            BLOCK_DOWN
        } else {
            0
        } | if s.breaker_open { BLOCK_BREAKER } else { 0 };
        self.oldest_at[k] = s.oldest().0;
    }

    /// Sets capacity headroom (from the ledger): available and capacity units.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use uoom::rank::{RankQuery, Ranker};
    /// use uoom::{Channel, ChannelKind, GeoPoint, ManualClock, Millis, Vehicle};
    /// let c = Channel::builder("c1", ChannelKind::DarkStore, GeoPoint::new(24.70, 46.67)).with_capacity(4).build().unwrap();
    /// let clock = Arc::new(ManualClock::new(Millis(0)));
    /// let q = RankQuery::new(GeoPoint::new(24.71, 46.67), Vehicle::Bike, 1);
    /// let mut r = Ranker::new(vec![c], clock).unwrap();
    /// r.update_headroom(0, 0, 4).unwrap();
    /// assert!(r.top_k(&q, 1).unwrap().is_empty()); // no capacity left
    /// r.update_headroom(&uoom::ChannelId::from("c1"), 2, 4).unwrap();
    /// assert!((r.top_k(&q, 1).unwrap()[0].contributions.capacity - 0.25 * 0.5).abs() < 1e-12);
    /// ```
    pub fn update_headroom(
        &mut self,
        ch: impl ChannelRef,
        available: u32,
        capacity: u32,
    ) -> Result<()> {
        let i = ch.resolve(self)?;
        let now = self.clock.now();
        let s = &mut self.signals[i];
        s.available = available;
        s.capacity = capacity;
        s.headroom_at = now;
        self.refresh(i);
        Ok(())
    }

    /// Sets quality (in [0, 1]; anything else is a validation error).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use uoom::rank::{RankQuery, Ranker};
    /// use uoom::{Channel, ChannelKind, GeoPoint, ManualClock, Millis, Vehicle};
    /// let c = Channel::builder("c1", ChannelKind::DarkStore, GeoPoint::new(24.70, 46.67)).with_capacity(4).build().unwrap();
    /// let clock = Arc::new(ManualClock::new(Millis(0)));
    /// let q = RankQuery::new(GeoPoint::new(24.71, 46.67), Vehicle::Bike, 1);
    /// let mut r = Ranker::new(vec![c], clock).unwrap();
    /// r.update_quality(0, 0.8).unwrap();
    /// assert_eq!(r.signals(0).unwrap().quality, 0.8);
    /// assert!(r.update_quality(0, 2.0).is_err());
    /// ```
    pub fn update_quality(&mut self, ch: impl ChannelRef, quality: f64) -> Result<()> {
        let i = ch.resolve(self)?;
        if !quality.is_finite() || !(0.0..=1.0).contains(&quality) {
            return Err(Error::invalid(
                "quality",
                "out_of_range",
                format!("quality must be in [0, 1], got {quality}"),
            ));
        }
        let now = self.clock.now();
        let s = &mut self.signals[i];
        s.quality = quality;
        s.quality_at = now;
        self.refresh(i);
        Ok(())
    }

    /// Sets health.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use uoom::rank::{RankQuery, Ranker};
    /// use uoom::{Channel, ChannelKind, GeoPoint, ManualClock, Millis, Vehicle};
    /// let c = Channel::builder("c1", ChannelKind::DarkStore, GeoPoint::new(24.70, 46.67)).with_capacity(4).build().unwrap();
    /// let clock = Arc::new(ManualClock::new(Millis(0)));
    /// let q = RankQuery::new(GeoPoint::new(24.71, 46.67), Vehicle::Bike, 1);
    /// let mut r = Ranker::new(vec![c], clock).unwrap();
    /// r.update_health("c1", uoom::Health::Degraded).unwrap();
    /// assert!((r.top_k(&q, 1).unwrap()[0].contributions.quality - 0.30 * 0.5).abs() < 1e-12);
    /// ```
    pub fn update_health(&mut self, ch: impl ChannelRef, health: Health) -> Result<()> {
        let i = ch.resolve(self)?;
        let now = self.clock.now();
        let s = &mut self.signals[i];
        s.health = health;
        s.health_at = now;
        self.refresh(i);
        Ok(())
    }

    /// Opens or closes the channel's circuit breaker (also refreshes the health timestamp).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use uoom::rank::{RankQuery, Ranker};
    /// use uoom::{Channel, ChannelKind, GeoPoint, ManualClock, Millis, Vehicle};
    /// let c = Channel::builder("c1", ChannelKind::DarkStore, GeoPoint::new(24.70, 46.67)).with_capacity(4).build().unwrap();
    /// let clock = Arc::new(ManualClock::new(Millis(0)));
    /// let q = RankQuery::new(GeoPoint::new(24.71, 46.67), Vehicle::Bike, 1);
    /// let mut r = Ranker::new(vec![c], clock).unwrap();
    /// r.set_breaker_open(0, true).unwrap();
    /// assert_eq!(r.explain(&q, 1).unwrap().excluded[0].reason, uoom::rank::Exclusion::BreakerOpen);
    /// ```
    pub fn set_breaker_open(&mut self, ch: impl ChannelRef, open: bool) -> Result<()> {
        let i = ch.resolve(self)?;
        let now = self.clock.now();
        let s = &mut self.signals[i];
        s.breaker_open = open;
        s.health_at = now;
        self.refresh(i);
        Ok(())
    }

    /// Refreshes every channel's headroom from the ledger's accounts for
    /// `slot` (a channel without an account gets 0 of 0). Returns how many
    /// channels had an account.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use uoom::ledger::{Ledger, SlotId};
    /// use uoom::rank::Ranker;
    /// use uoom::{Channel, ChannelKind, GeoPoint, ManualClock, Millis};
    /// let clock = Arc::new(ManualClock::new(Millis(0)));
    /// let c = Channel::builder("c1", ChannelKind::DarkStore, GeoPoint::new(0.0, 0.0)).build().unwrap();
    /// let ledger = Ledger::new(clock.clone());
    /// ledger.set_capacity(&c.id, SlotId(0), 8).unwrap();
    /// ledger.reserve(1u128.into(), &c.id, SlotId(0), 6, 1_000).unwrap();
    /// let mut r = Ranker::new(vec![c], clock).unwrap();
    /// assert_eq!(r.sync_headroom(&ledger, SlotId(0)), 1);
    /// assert_eq!(r.signals(0).unwrap().available, 2);
    /// ```
    pub fn sync_headroom(&mut self, ledger: &Ledger, slot: SlotId) -> usize {
        let mut found = 0;
        for i in 0..self.channels.len() {
            let (a, c) = match ledger.balance(&self.channels[i].id, slot) {
                Ok(b) => {
                    found += 1;
                    (b.available(), b.capacity)
                }
                Err(_) => (0, 0),
            };
            let now = self.clock.now();
            let s = &mut self.signals[i];
            s.available = a;
            s.capacity = c;
            s.headroom_at = now;
            self.refresh(i);
        }
        found
    }
}
