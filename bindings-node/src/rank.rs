//! Channel ranking as a JS class: filtered, weighted top-k with each
//! criterion's contribution, explanations of every exclusion, incremental
//! signal updates with ages and a staleness policy.

use crate::channel::channels_from_js;
use crate::clock::{ClockChoice, ms, to_ms};
use crate::errors::OrThrow;
use crate::input::JsonInput;
use crate::ledger::Ledger;
use napi::bindgen_prelude::*;
use uoom::rank::{self as core, RankQuery as CoreQuery, RankWeights as CoreWeights, StalePolicy};
use uoom::{GeoPoint, Health, Vehicle};

/// Ranks returned when `k` is not given.
const DEFAULT_K: u32 = 5;

/// Options of `new Ranker(channels, options)`.
#[napi(object)]
#[derive(Clone, Default)]
pub struct RankerOptions {
    /// Use a manual clock (advanced with `advanceMs`) instead of wall time.
    pub manual_clock: Option<bool>,
    /// Start of the manual clock, ms since the epoch (default 0).
    pub start_ms: Option<f64>,
    /// A signal older than this is stale (see `stalePolicy`).
    pub max_signal_age_ms: Option<f64>,
    /// `exclude` (default: a stale channel is not eligible) or `zero_score`
    /// (eligible, but stale signals earn nothing).
    pub stale_policy: Option<String>,
}

/// Weights of the ranking criteria (any non-negative numbers; normalised).
#[napi(object)]
#[derive(Clone, Copy)]
pub struct RankWeights {
    /// Capacity headroom.
    pub capacity: f64,
    /// Channel quality.
    pub quality: f64,
    /// ETA for the order.
    pub latency: f64,
    /// Delivery cost.
    pub cost: f64,
}

impl From<RankWeights> for CoreWeights {
    fn from(w: RankWeights) -> Self {
        CoreWeights {
            capacity: w.capacity,
            quality: w.quality,
            latency: w.latency,
            cost: w.cost,
        }
    }
}

impl From<CoreWeights> for RankWeights {
    fn from(w: CoreWeights) -> Self {
        RankWeights {
            capacity: w.capacity,
            quality: w.quality,
            latency: w.latency,
            cost: w.cost,
        }
    }
}

/// What an order needs, for ranking.
#[napi(object)]
#[derive(Clone)]
pub struct RankQuery {
    /// Delivery latitude.
    pub lat: f64,
    /// Delivery longitude.
    pub lon: f64,
    /// `bike` | `car` | `van` | `refrigerated` (default `bike`).
    #[napi(ts_type = "'bike' | 'car' | 'van' | 'refrigerated'")]
    pub vehicle: Option<String>,
    /// Capacity units (default 1).
    pub units: Option<u32>,
    /// Deadline in minutes (channels that cannot make it are excluded).
    pub deadline_min: Option<f64>,
    /// Per-query weights (default capacity 0.25, quality 0.30, latency 0.30, cost 0.15).
    pub weights: Option<RankWeights>,
}

fn query(q: &RankQuery) -> uoom::Result<CoreQuery> {
    let vehicle = match q.vehicle.as_deref() {
        None => Vehicle::Bike,
        Some(v) => v.parse()?,
    };
    let mut out = CoreQuery::new(GeoPoint::new(q.lat, q.lon), vehicle, q.units.unwrap_or(1));
    if let Some(d) = q.deadline_min {
        out = out.with_deadline_min(d);
    }
    if let Some(w) = q.weights {
        out = out.with_weights(w.into());
    }
    out.validate().map_err(camel)?;
    Ok(out)
}

fn camel(e: uoom::Error) -> uoom::Error {
    match e {
        uoom::Error::Validation(mut v) => {
            for f in &mut v {
                f.field = uoom::wire::Case::Camel.path(&f.field);
            }
            uoom::Error::Validation(v)
        }
        other => other,
    }
}

/// Each criterion's share of a score (already weighted).
#[napi(object)]
pub struct Contributions {
    /// From capacity headroom.
    pub capacity: f64,
    /// From quality.
    pub quality: f64,
    /// From latency (ETA).
    pub latency: f64,
    /// From cost.
    pub cost: f64,
}

impl From<core::Contributions> for Contributions {
    fn from(c: core::Contributions) -> Self {
        Contributions {
            capacity: c.capacity,
            quality: c.quality,
            latency: c.latency,
            cost: c.cost,
        }
    }
}

/// One ranked channel.
#[napi(object)]
pub struct RankedChannel {
    /// Channel id.
    pub channel: String,
    /// Index in the ranker's channel list.
    pub index: u32,
    /// Weighted score in [0, 1] (higher is better).
    pub score: f64,
    /// Each criterion's contribution to the score.
    pub contributions: Contributions,
    /// Distance to the order, km.
    pub distance_km: f64,
    /// ETA, minutes.
    pub eta_min: f64,
    /// Delivery cost.
    pub cost: f64,
}

/// A channel left out, and why.
#[napi(object)]
pub struct ExcludedChannel {
    /// Channel id.
    pub channel: String,
    /// `channel_down` | `breaker_open` | `stale_signals` | `vehicle_mismatch` |
    /// `no_capacity` | `out_of_radius` | `deadline_unreachable`.
    pub reason: String,
}

/// A ranking with every criterion's contribution per rank, and every
/// excluded channel with its reason.
#[napi(object)]
pub struct RankExplanation {
    /// The weights used (normalised).
    pub weights: RankWeights,
    /// The top-k, best first.
    pub ranked: Vec<RankedChannel>,
    /// Channels that passed every filter.
    pub eligible: u32,
    /// Channels filtered out, with the reason.
    pub excluded: Vec<ExcludedChannel>,
}

/// A channel's dynamic signals and when each was last updated.
#[napi(object)]
pub struct Signals {
    /// Units available.
    pub available: u32,
    /// Capacity.
    pub capacity: u32,
    /// Quality in [0, 1].
    pub quality: f64,
    /// `up` | `degraded` | `down`.
    #[napi(ts_type = "'up' | 'degraded' | 'down'")]
    pub health: String,
    /// Circuit breaker open.
    pub breaker_open: bool,
    /// When headroom was last updated, ms.
    pub headroom_at: f64,
    /// When quality was last updated, ms.
    pub quality_at: f64,
    /// When health or the breaker was last updated, ms.
    pub health_at: f64,
}

/// Ranks channels for orders: eligibility (radius, vehicle, health, breaker,
/// capacity, deadline, staleness), then the top-k by weighted score without
/// sorting everything. Microseconds per query, so synchronous; `rankMany`
/// answers a batch of queries in one crossing.
#[napi]
pub struct Ranker {
    inner: core::Ranker,
    clock: ClockChoice,
}

#[napi]
impl Ranker {
    /// A ranker over `channels` (checked; every problem listed).
    #[napi(
        constructor,
        ts_args_type = "channels: Array<ChannelInput>, options?: RankerOptions"
    )]
    pub fn new(env: Env, channels: JsonInput, options: Option<RankerOptions>) -> Result<Self> {
        Self::build(&channels, options.unwrap_or_default()).or_throw(&env)
    }

    fn build(channels: &JsonInput, o: RankerOptions) -> uoom::Result<Self> {
        let channels = channels_from_js(channels)?;
        let clock = ClockChoice::new(o.manual_clock.unwrap_or(false), o.start_ms);
        let mut inner = core::Ranker::new(channels, clock.shared())?;
        if let Some(age) = o.max_signal_age_ms {
            inner = inner.with_max_signal_age_ms(to_ms("maxSignalAgeMs", age)?);
        }
        if let Some(p) = o.stale_policy.as_deref() {
            let policy = match p {
                "exclude" => StalePolicy::Exclude,
                "zero_score" => StalePolicy::ZeroScore,
                other => {
                    return Err(uoom::Error::invalid(
                        "stalePolicy",
                        "unknown_policy",
                        format!("unknown stale policy {other:?} (exclude | zero_score)"),
                    ));
                }
            };
            inner = inner.with_stale_policy(policy);
        }
        Ok(Ranker { inner, clock })
    }

    fn ranked(&self, r: &core::Ranked) -> RankedChannel {
        RankedChannel {
            channel: self.inner.channels()[r.channel].id.0.clone(),
            index: r.channel as u32,
            score: r.score,
            contributions: r.contributions.into(),
            distance_km: r.distance_km,
            eta_min: r.eta_min,
            cost: r.cost,
        }
    }

    /// The best `k` (default 5) eligible channels for `query`, best first.
    #[napi]
    pub fn rank(&self, env: Env, query: RankQuery, k: Option<u32>) -> Result<Vec<RankedChannel>> {
        let q = self::query(&query).or_throw(&env)?;
        let out = self
            .inner
            .top_k(&q, k.unwrap_or(DEFAULT_K) as usize)
            .or_throw(&env)?;
        Ok(out.iter().map(|r| self.ranked(r)).collect())
    }

    /// `rank` for many queries in one call (one boundary crossing). A bad
    /// query throws `UOOM_VALIDATION` naming it (`queries[3].units`).
    #[napi]
    pub fn rank_many(
        &self,
        env: Env,
        queries: Vec<RankQuery>,
        k: Option<u32>,
    ) -> Result<Vec<Vec<RankedChannel>>> {
        let k = k.unwrap_or(DEFAULT_K);
        let mut buf = Vec::with_capacity(k as usize);
        let mut out = Vec::with_capacity(queries.len());
        for (i, q) in queries.iter().enumerate() {
            let q = query(q)
                .map_err(|e| prefix(e, &format!("queries[{i}]")))
                .or_throw(&env)?;
            self.inner
                .top_k_into(&q, k as usize, &mut buf)
                .or_throw(&env)?;
            out.push(buf.iter().map(|r| self.ranked(r)).collect());
        }
        Ok(out)
    }

    /// The ranking with each criterion's contribution per rank and the reason
    /// of every exclusion.
    #[napi]
    pub fn explain(&self, env: Env, query: RankQuery, k: Option<u32>) -> Result<RankExplanation> {
        let q = self::query(&query).or_throw(&env)?;
        let e = self
            .inner
            .explain(&q, k.unwrap_or(DEFAULT_K) as usize)
            .or_throw(&env)?;
        Ok(RankExplanation {
            weights: e.weights.into(),
            ranked: e.ranked.iter().map(|r| self.ranked(&r.ranked)).collect(),
            eligible: e.eligible as u32,
            excluded: e
                .excluded
                .iter()
                .map(|x| ExcludedChannel {
                    channel: x.id.0.clone(),
                    reason: x.reason.as_str().to_owned(),
                })
                .collect(),
        })
    }

    /// New capacity headroom for a channel (`UOOM_NOT_FOUND` if unknown).
    #[napi]
    pub fn update_headroom(
        &mut self,
        env: Env,
        channel: String,
        available: u32,
        capacity: u32,
    ) -> Result<()> {
        self.inner
            .update_headroom(channel.as_str(), available, capacity)
            .or_throw(&env)
    }

    /// New quality in [0, 1].
    #[napi]
    pub fn update_quality(&mut self, env: Env, channel: String, quality: f64) -> Result<()> {
        self.inner
            .update_quality(channel.as_str(), quality)
            .or_throw(&env)
    }

    /// New health: `up` | `degraded` | `down`.
    #[napi]
    pub fn update_health(&mut self, env: Env, channel: String, health: String) -> Result<()> {
        let h: Health = health.parse().or_throw(&env)?;
        self.inner.update_health(channel.as_str(), h).or_throw(&env)
    }

    /// Opens or closes a channel's circuit breaker.
    #[napi]
    pub fn set_breaker_open(&mut self, env: Env, channel: String, open: bool) -> Result<()> {
        self.inner
            .set_breaker_open(channel.as_str(), open)
            .or_throw(&env)
    }

    /// Copies every channel's availability in `slot` from a ledger; returns
    /// how many channels had an account there.
    #[napi]
    pub fn sync_headroom(&mut self, ledger: &Ledger, slot: u32) -> u32 {
        self.inner
            .sync_headroom(ledger.core(), uoom::ledger::SlotId(slot)) as u32
    }

    /// A channel's current signals and their ages.
    #[napi]
    pub fn signals(&self, env: Env, channel: String) -> Result<Signals> {
        let s = self.inner.signals(channel.as_str()).or_throw(&env)?;
        Ok(Signals {
            available: s.available,
            capacity: s.capacity,
            quality: s.quality,
            health: s.health.as_str().to_owned(),
            breaker_open: s.breaker_open,
            headroom_at: ms(s.headroom_at),
            quality_at: ms(s.quality_at),
            health_at: ms(s.health_at),
        })
    }

    /// The clock's now, ms.
    #[napi]
    pub fn now_ms(&self) -> f64 {
        self.clock.now_ms()
    }

    /// Advances a manual clock (signals age); `UOOM_CONFLICT` on the system clock.
    #[napi]
    pub fn advance_ms(&self, env: Env, ms: f64) -> Result<f64> {
        self.clock.advance_ms(ms).or_throw(&env)
    }
}

fn prefix(e: uoom::Error, path: &str) -> uoom::Error {
    match e {
        uoom::Error::Validation(mut v) => {
            for f in &mut v {
                f.field = if f.field.is_empty() {
                    path.to_owned()
                } else {
                    format!("{path}.{}", f.field)
                };
            }
            uoom::Error::Validation(v)
        }
        other => other,
    }
}
