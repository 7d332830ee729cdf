//! The relay loop: claim, publish in per-aggregate rounds, record.

use super::{BatchOutcome, ClaimedEvent, OutboxStore, Publisher, RelayMetrics};
use crate::{Clock, Result, SystemClock};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// How a relay claims, waits and retries.
///
/// ```
/// use std::time::Duration;
/// use uoom::adapters::outbox::RelayConfig;
/// let c = RelayConfig::new("relay-a").with_batch(200).with_workers(2);
/// assert_eq!(c.backoff, vec![Duration::from_secs(1), Duration::from_secs(2), Duration::from_secs(4)]);
/// assert_eq!(c.batch, 200);
/// ```
#[derive(Debug, Clone)]
pub struct RelayConfig {
    /// This relay's name, in its logs and thread names.
    pub relay_id: String,
    /// Most events per claim (default 500).
    pub batch: usize,
    /// Partitions per claim (default: the store's partitions shared evenly
    /// among the workers).
    pub partitions_per_claim: Option<usize>,
    /// Longest sleep without a notification before polling again (default 1 s).
    pub poll_interval: Duration,
    /// After a batch that was not full, how long a worker waits before its
    /// next claim (default 10 ms), so that claims find more events: each
    /// claim is a transaction that locks its partitions, and at a few events
    /// a claim that overhead cost PostgreSQL more than the events did.
    pub linger: Duration,
    /// Delay before each retry; after the last one the event goes to the DLQ
    /// (default 1 s, 2 s, 4 s).
    pub backoff: Vec<Duration>,
    /// Worker threads, each claiming its own batches (default 1).
    pub workers: usize,
}

impl RelayConfig {
    /// Defaults under the name `relay_id`.
    pub fn new(relay_id: impl Into<String>) -> Self {
        Self {
            relay_id: relay_id.into(),
            batch: 500,
            partitions_per_claim: None,
            poll_interval: Duration::from_secs(1),
            linger: Duration::from_millis(10),
            backoff: vec![
                Duration::from_secs(1),
                Duration::from_secs(2),
                Duration::from_secs(4),
            ],
            workers: 1,
        }
    }

    /// Sets the claim size (at least 1).
    pub fn with_batch(mut self, n: usize) -> Self {
        self.batch = n.max(1);
        self
    }

    /// Sets how many partitions each claim takes (at least 1).
    pub fn with_partitions_per_claim(mut self, n: usize) -> Self {
        self.partitions_per_claim = Some(n.max(1));
        self
    }

    /// Sets the polling fallback interval.
    pub fn with_poll_interval(mut self, d: Duration) -> Self {
        self.poll_interval = d;
        self
    }

    /// Sets the wait after a batch that was not full.
    pub fn with_linger(mut self, d: Duration) -> Self {
        self.linger = d;
        self
    }

    /// Sets the retry delays (empty: the first failure goes to the DLQ).
    pub fn with_backoff(mut self, delays: Vec<Duration>) -> Self {
        self.backoff = delays;
        self
    }

    /// Sets the number of worker threads (at least 1).
    pub fn with_workers(mut self, n: usize) -> Self {
        self.workers = n.max(1);
        self
    }
}

/// What one claim-publish-record cycle did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BatchReport {
    /// Events claimed.
    pub claimed: usize,
    /// Events acknowledged by the broker.
    pub published: usize,
    /// Failures scheduled for a retry.
    pub retried: usize,
    /// Events parked in the DLQ.
    pub dead: usize,
    /// Claimed but not attempted: behind a failure or a retry not yet due.
    pub held_back: usize,
}

/// An outbox relay over a store, a publisher and a clock.
///
/// ```
/// use std::sync::Mutex;
/// use std::time::Duration;
/// use uoom::adapters::EventRecord;
/// use uoom::adapters::outbox::*;
/// use uoom::{EventId, ManualClock, Millis, Result};
///
/// // A one-event store and a publisher that always fails: the schedule is
/// // attempt, +1 s, +2 s, +4 s, then the DLQ.
/// struct One(Mutex<(Option<ClaimedEvent>, bool)>);
/// impl OutboxStore for One {
///     type Claim = ();
///     fn claim(&self, _: usize, _: usize, _: Millis) -> Result<((), Vec<ClaimedEvent>)> {
///         let g = self.0.lock().unwrap();
///         Ok(((), g.0.clone().filter(|_| !g.1).into_iter().collect()))
///     }
///     fn complete(&self, _: (), o: &BatchOutcome) -> Result<()> {
///         let mut g = self.0.lock().unwrap();
///         if let (Some(e), Some((_, _, at))) = (g.0.as_mut(), o.retries.first()) {
///             e.attempts += 1;
///             e.due_at = *at;
///         }
///         g.1 |= !o.dead.is_empty();
///         Ok(())
///     }
/// }
/// struct Down;
/// impl Publisher for Down {
///     fn publish(&self, e: &[&EventRecord]) -> Vec<Result<()>> {
///         e.iter().map(|_| Err(uoom::Error::io("broker down"))).collect()
///     }
///     fn publish_dead_letter(&self, _: &EventRecord, _: &str, _: u32) -> Result<()> { Ok(()) }
/// }
/// let ev = EventRecord::new(EventId::from_u128(1), "order", "o1", "OrderCreated", serde_json::json!({}), Millis(0));
/// let claimed = ClaimedEvent { record: ev, seq: 1, attempts: 0, due_at: Millis(0), stored_at: Millis(0) };
/// let store = One(Mutex::new((Some(claimed), false)));
/// let clock = std::sync::Arc::new(ManualClock::new(Millis(0)));
/// let relay = Relay::new(RelayConfig::new("r"), store, Down, clock.clone());
/// let mut dead_at = None;
/// for ms in 0..=8_000u64 {
///     clock.set(Millis(ms));
///     if relay.run_once().unwrap().dead == 1 { dead_at = Some(ms) }
/// }
/// assert_eq!(dead_at, Some(7_000)); // failures at 0, 1000, 3000, 7000
/// assert_eq!(relay.metrics().snapshot().retries, 3);
/// ```
pub struct Relay<S, P, C> {
    config: RelayConfig,
    store: S,
    publisher: P,
    clock: C,
    metrics: Arc<RelayMetrics>,
}

/// A running relay's threads; dropping it does not stop them, [`RelayHandle::stop`] does.
pub struct RelayHandle {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
    metrics: Arc<RelayMetrics>,
}

impl RelayHandle {
    /// The relay's counters.
    pub fn metrics(&self) -> &RelayMetrics {
        &self.metrics
    }

    /// Asks the workers to stop and waits for them (each finishes its batch
    /// and its current wait, at most one poll interval).
    pub fn stop(self) {
        self.stop.store(true, Ordering::SeqCst);
        for t in self.threads {
            let _ = t.join();
        }
    }
}

impl<S: OutboxStore, P: Publisher, C: Clock> Relay<S, P, C> {
    /// A relay; nothing runs until [`Relay::run_once`] or [`Relay::spawn`].
    pub fn new(config: RelayConfig, store: S, publisher: P, clock: C) -> Self {
        Self {
            config,
            store,
            publisher,
            clock,
            metrics: Arc::new(RelayMetrics::default()),
        }
    }

    /// The relay's counters.
    pub fn metrics(&self) -> &RelayMetrics {
        &self.metrics
    }

    /// The publisher it drives.
    pub fn publisher(&self) -> &P {
        &self.publisher
    }

    /// The store it drives.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The configuration.
    pub fn config(&self) -> &RelayConfig {
        &self.config
    }

    /// One cycle: claim a batch, publish it, record the outcome.
    pub fn run_once(&self) -> Result<BatchReport> {
        self.cycle(&self.config.relay_id)
    }

    /// How many partitions one claim takes.
    fn share(&self) -> usize {
        self.config.partitions_per_claim.unwrap_or_else(|| {
            self.store
                .partitions()
                .div_ceil(self.config.workers.max(1))
                .max(1)
        })
    }

    /// One cycle under the name `me` (each worker thread has its own).
    fn cycle(&self, me: &str) -> Result<BatchReport> {
        let now = self.clock.now();
        let (claim, claimed) = self.store.claim(self.config.batch, self.share(), now)?;
        let mut report = BatchReport {
            claimed: claimed.len(),
            ..BatchReport::default()
        };
        if claimed.is_empty() {
            self.store.complete(claim, &BatchOutcome::default())?;
            return Ok(report);
        }
        self.metrics.add_batch(claimed.len());

        // Each aggregate's run, in seq order (claims come back in seq order).
        // An aggregate whose oldest pending event is not due yet is held
        // back whole: nothing of it goes out before that event does.
        let mut runs: Vec<Vec<&ClaimedEvent>> = Vec::new();
        let mut index: HashMap<(&str, &str), Option<usize>> = HashMap::new();
        for ev in &claimed {
            let key = (
                ev.record.aggregate_type.as_str(),
                ev.record.aggregate_id.as_str(),
            );
            let slot = index.entry(key).or_insert_with(|| {
                (ev.due_at <= now).then(|| {
                    runs.push(Vec::new());
                    runs.len() - 1
                })
            });
            match slot {
                Some(i) if ev.due_at <= now => runs[*i].push(ev),
                Some(_) => {
                    // A later event waiting for its own retry: the run stops here.
                    *slot = None;
                    report.held_back += 1;
                }
                None => report.held_back += 1,
            }
        }

        let mut outcome = BatchOutcome::default();
        let mut alive: Vec<usize> = (0..runs.len()).collect();
        let mut round = 0;
        while !alive.is_empty() {
            let events: Vec<&ClaimedEvent> = alive.iter().map(|&r| runs[r][round]).collect();
            let records: Vec<_> = events.iter().map(|e| &e.record).collect();
            let results = self.publisher.publish(&records);
            // Lag is wall time, whatever clock drives the retries.
            let wall = SystemClock.now();
            let mut next_alive = Vec::with_capacity(alive.len());
            for ((&r, ev), res) in alive.iter().zip(&events).zip(results) {
                match res {
                    Ok(()) => {
                        outcome.published.push(ev.record.id);
                        self.metrics.record_lag(wall.since(ev.stored_at));
                        if round + 1 < runs[r].len() {
                            next_alive.push(r);
                        }
                    }
                    Err(error) => {
                        let error = error.chain().to_string();
                        self.fail(me, ev, &error, &mut outcome);
                        report.held_back += runs[r].len() - round - 1;
                    }
                }
            }
            alive = next_alive;
            round += 1;
        }
        report.published = outcome.published.len();
        report.retried = outcome.retries.len();
        report.dead = outcome.dead.len();
        self.store.complete(claim, &outcome)?;
        self.metrics.add_retries(report.retried as u64);
        self.metrics.add_dead_letters(report.dead as u64);
        Ok(report)
    }

    /// A failed attempt: schedule the next one, or park the event once the
    /// retries are used up and its dead-letter record is written.
    fn fail(&self, me: &str, ev: &ClaimedEvent, error: &str, outcome: &mut BatchOutcome) {
        let cfg = &self.config;
        let failures = ev.attempts as usize + 1;
        let now = self.clock.now();
        let retry_in = if failures > cfg.backoff.len() {
            match self
                .publisher
                .publish_dead_letter(&ev.record, error, failures as u32)
            {
                Ok(()) => {
                    tracing::warn!(relay = me, event = %ev.record.id, aggregate = %ev.record.aggregate_id, error, "event parked in the DLQ");
                    outcome.dead.push((ev.record.id, error.to_owned()));
                    return;
                }
                Err(dlq) => {
                    let delay = cfg.backoff.last().copied().unwrap_or(cfg.poll_interval);
                    let msg = format!("{error}; dead-letter write failed: {}", dlq.chain());
                    outcome.retries.push((
                        ev.record.id,
                        msg,
                        now.plus_ms(delay.as_millis() as u64),
                    ));
                    return;
                }
            }
        } else {
            cfg.backoff[failures - 1]
        };
        tracing::debug!(relay = me, event = %ev.record.id, failures, error, "publish failed; retry scheduled");
        outcome.retries.push((
            ev.record.id,
            error.to_owned(),
            now.plus_ms(retry_in.as_millis() as u64),
        ));
    }

    /// Runs cycles until `stop` is set: a cycle that delivered or recorded
    /// anything is followed at once by the next claim; once a whole rotation
    /// of claims (every partition) found nothing to do, the worker waits for
    /// a notification or the poll interval; a store error is logged and
    /// retried after the poll interval.
    pub fn run(&self, stop: &AtomicBool) {
        self.run_as(&self.config.relay_id, stop)
    }

    fn run_as(&self, me: &str, stop: &AtomicBool) {
        let rotation = self.store.partitions().div_ceil(self.share()).max(1);
        let mut idle = 0;
        while !stop.load(Ordering::SeqCst) {
            match self.cycle(me) {
                Ok(r) if r.published + r.retried + r.dead > 0 => {
                    idle = 0;
                    if r.claimed < self.config.batch && !self.config.linger.is_zero() {
                        std::thread::sleep(self.config.linger);
                    }
                }
                Ok(_) => {
                    idle += 1;
                    if idle >= rotation {
                        self.store.wait_for_events(self.config.poll_interval);
                        idle = 0;
                    }
                }
                Err(e) => {
                    self.metrics.add_error();
                    tracing::warn!(error = %e.chain(), relay = me, "relay cycle failed");
                    std::thread::sleep(self.config.poll_interval);
                }
            }
        }
    }
}

impl<S, P, C> Relay<S, P, C>
where
    S: OutboxStore + 'static,
    P: Publisher + 'static,
    C: Clock + 'static,
{
    /// Starts `config.workers` threads running [`Relay::run`], worker `i`
    /// claiming as `relay_id#i`.
    pub fn spawn(self) -> Result<RelayHandle> {
        let stop = Arc::new(AtomicBool::new(false));
        let metrics = self.metrics.clone();
        let workers = self.config.workers;
        let relay = Arc::new(self);
        let mut threads = Vec::with_capacity(workers);
        for i in 0..workers {
            let relay = relay.clone();
            let flag = stop.clone();
            let me = format!("{}#{i}", relay.config.relay_id);
            let spawned = std::thread::Builder::new()
                .name(format!("uoom-relay-{i}"))
                .spawn(move || relay.run_as(&me, &flag));
            match spawned {
                Ok(t) => threads.push(t),
                Err(e) => {
                    RelayHandle {
                        stop,
                        threads,
                        metrics,
                    }
                    .stop();
                    return Err(crate::Error::io_with("cannot start a relay thread", e));
                }
            }
        }
        Ok(RelayHandle {
            stop,
            threads,
            metrics,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::EventRecord;
    use crate::adapters::outbox::{ClaimedEvent, OutboxStore, Publisher};
    use crate::{EventId, ManualClock, Millis};
    use std::sync::Mutex;

    #[derive(Clone)]
    struct Row {
        ev: ClaimedEvent,
        published: bool,
        dead: bool,
    }

    /// The PostgreSQL store's rule over a vector: one partition, its oldest
    /// `max` pending events (neither published nor parked), due or not.
    #[derive(Default)]
    struct MemStore(Mutex<Vec<Row>>);

    impl OutboxStore for MemStore {
        type Claim = ();
        fn claim(&self, max: usize, _: usize, _: Millis) -> Result<((), Vec<ClaimedEvent>)> {
            let rows = self.0.lock().unwrap();
            let pending = rows.iter().filter(|r| !r.published && !r.dead);
            Ok(((), pending.take(max).map(|r| r.ev.clone()).collect()))
        }
        fn complete(&self, (): (), o: &BatchOutcome) -> Result<()> {
            for r in self.0.lock().unwrap().iter_mut() {
                let id = r.ev.record.id;
                if o.published.contains(&id) {
                    r.published = true;
                }
                if let Some((_, _, at)) = o.retries.iter().find(|x| x.0 == id) {
                    r.ev.due_at = *at;
                    r.ev.attempts += 1;
                }
                if o.dead.iter().any(|x| x.0 == id) {
                    r.dead = true;
                }
            }
            Ok(())
        }
    }

    /// Records what it was asked to publish; fails each id in `fail` once.
    #[derive(Default)]
    struct Log {
        sent: Mutex<Vec<(String, u128)>>,
        fail: Mutex<Vec<EventId>>,
        dlq: Mutex<Vec<EventId>>,
    }

    impl Publisher for Log {
        fn publish(&self, events: &[&EventRecord]) -> Vec<crate::Result<()>> {
            let keys: std::collections::HashSet<&str> = events.iter().map(|e| e.key()).collect();
            assert_eq!(
                keys.len(),
                events.len(),
                "one event per aggregate per round"
            );
            events
                .iter()
                .map(|e| {
                    let mut fail = self.fail.lock().unwrap();
                    if let Some(i) = fail.iter().position(|f| *f == e.id) {
                        fail.remove(i);
                        return Err(crate::Error::io("transient"));
                    }
                    self.sent
                        .lock()
                        .unwrap()
                        .push((e.aggregate_id.clone(), e.id.0.as_u128()));
                    Ok(())
                })
                .collect()
        }
        fn publish_dead_letter(&self, e: &EventRecord, _: &str, _: u32) -> crate::Result<()> {
            self.dlq.lock().unwrap().push(e.id);
            Ok(())
        }
    }

    fn store(aggregates: u128, per: u128) -> MemStore {
        let mut rows = Vec::new();
        for i in 0..per {
            for a in 0..aggregates {
                let id = a * 100 + i;
                rows.push(Row {
                    ev: ClaimedEvent {
                        record: EventRecord::new(
                            EventId::from_u128(id),
                            "order",
                            format!("a{a}"),
                            "E",
                            serde_json::json!({}),
                            Millis(0),
                        ),
                        seq: rows.len() as i64,
                        attempts: 0,
                        due_at: Millis(0),
                        stored_at: Millis(0),
                    },
                    published: false,
                    dead: false,
                });
            }
        }
        MemStore(Mutex::new(rows))
    }

    #[test]
    fn a_failure_holds_back_only_its_aggregate_and_order_is_kept() {
        let clock = Arc::new(ManualClock::new(Millis(0)));
        let log = Log::default();
        // a1's second event fails once.
        log.fail.lock().unwrap().push(EventId::from_u128(101));
        let relay = Relay::new(
            RelayConfig::new("t").with_batch(4),
            store(3, 3),
            log,
            clock.clone(),
        );
        let mut cycles = 0;
        while relay.store().0.lock().unwrap().iter().any(|r| !r.published) {
            relay.run_once().unwrap();
            clock.advance_ms(500);
            cycles += 1;
            assert!(cycles < 50, "did not drain");
        }
        let sent = relay.publisher().sent.lock().unwrap().clone();
        assert_eq!(sent.len(), 9, "each event exactly once: {sent:?}");
        for a in 0..3u128 {
            let ids: Vec<u128> = sent
                .iter()
                .filter(|(k, _)| *k == format!("a{a}"))
                .map(|s| s.1)
                .collect();
            assert_eq!(ids, vec![a * 100, a * 100 + 1, a * 100 + 2]);
        }
        // a0 and a2 were done before a1's retry came due (1 s later).
        let last_of = |k: &str| sent.iter().rposition(|(key, _)| key == k).unwrap();
        assert!(last_of("a0") < last_of("a1") && last_of("a2") < last_of("a1"));
        let m = relay.metrics().snapshot();
        assert_eq!((m.retries, m.dead_letters, m.published), (1, 0, 9));
    }

    #[test]
    fn without_retries_the_first_failure_goes_to_the_dlq() {
        let clock = Arc::new(ManualClock::new(Millis(0)));
        let log = Log::default();
        log.fail.lock().unwrap().push(EventId::from_u128(0));
        let relay = Relay::new(
            RelayConfig::new("t").with_backoff(Vec::new()),
            store(1, 2),
            log,
            clock,
        );
        let r = relay.run_once().unwrap();
        assert_eq!((r.claimed, r.dead, r.held_back), (2, 1, 1));
        assert_eq!(
            *relay.publisher().dlq.lock().unwrap(),
            vec![EventId::from_u128(0)]
        );
        assert_eq!(relay.run_once().unwrap().published, 1);
    }
}
