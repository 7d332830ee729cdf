//! The PostgreSQL lease authority against the real server (`make
//! test-adapters`; `UOOM_TEST_POSTGRES_URL`), each test in a schema of its
//! own:
//!
//! - the same scenarios run against `MemoryAuthority` (manual clock) and
//!   `PgLeaseAuthority` (the database's clock, real sleeps) and must give the
//!   same replies, lease ids and epochs compared by order of appearance;
//! - replicas on threads, each with its own connections, race for a scarce
//!   channel, committing in the order's transaction, one of them stalling
//!   past its lease: never more committed than the capacity, and the
//!   `capacity_audit` view over the orders agrees with the authority;
//! - a lease that expires cannot commit and its units go back to the pool;
//! - a new authority object (new connections) reads everything committed;
//! - the fenced commit and the order row are written or rolled back together.
#![cfg(feature = "postgres")]

mod adapters_common;

use adapters_common::*;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio_postgres::NoTls;
use uoom::adapters::postgres::{AsyncPgLeaseAuthority, PgLeaseAuthority, PgLeaseConfig};
use uoom::ledger::lease::{
    AccountState, Epoch, FenceReason, Lease, LeaseAuthority, LeaseError, LeaseReply, LeaseRequest,
    LeaseSettings, LeasedLedger, MAX_LEASE_TTL_MS, MemoryAuthority, ReplicaId, StaleLease,
};
use uoom::ledger::{ReservationId, SlotId};
use uoom::{ChannelId, Clock, ErrorKind, ManualClock, Millis, SystemClock};

/// A TTL no scenario outlives.
const LONG: u64 = 60_000;
/// A TTL a scenario waits out.
const SHORT: u64 = 1_000;
/// How long "waiting it out" is.
const PAST_SHORT: u64 = 1_500;

/// A migrated schema of its own and the authority over it.
fn pg() -> (String, Arc<PgLeaseAuthority>) {
    let url = fresh_schema();
    let auth = PgLeaseAuthority::connect(PgLeaseConfig::new(&url)).unwrap();
    auth.migrate().unwrap();
    (url, Arc::new(auth))
}

fn r(name: &str) -> ReplicaId {
    ReplicaId::from(name)
}

fn ch(name: &str) -> ChannelId {
    ChannelId::from(name)
}

/// What a scenario drives: the port, the clock replicas read, and a way to
/// let time pass (the manual clock, or a real sleep for the database's).
struct Subject {
    auth: Arc<dyn LeaseAuthority>,
    clock: Arc<dyn Clock>,
    wait: Box<dyn Fn(u64)>,
}

/// Replies in a form both authorities must agree on: lease ids and epochs
/// renamed by first appearance, times left out (checked, not printed).
#[derive(Default)]
struct Transcript {
    lines: Vec<String>,
    ids: HashMap<u64, usize>,
    epochs: HashMap<u64, usize>,
    last_grant: u64,
}

impl Transcript {
    fn id(&mut self, raw: u64) -> usize {
        let n = self.ids.len();
        *self.ids.entry(raw).or_insert(n)
    }

    fn epoch(&mut self, raw: Epoch) -> usize {
        let n = self.epochs.len();
        *self.epochs.entry(raw.0).or_insert(n)
    }

    fn lease(&mut self, l: &Lease) -> String {
        assert!(l.expires_at > l.granted_at, "{l:?}");
        format!(
            "lease{} e{} {} {}@{} units={} committed={} ended={}",
            self.id(l.id.0),
            self.epoch(l.epoch),
            l.replica,
            l.channel,
            l.slot,
            l.units,
            l.committed,
            l.ended
        )
    }

    fn error(&mut self, e: &LeaseError) -> String {
        match e {
            LeaseError::Stale(StaleLease {
                lease,
                epoch,
                reason,
            }) => {
                let (lease, epoch) = (self.id(lease.0), self.epoch(*epoch));
                let reason = match reason {
                    FenceReason::Expired { expires_at, now } => {
                        assert!(now >= expires_at, "{reason:?}");
                        "expired".to_owned()
                    }
                    FenceReason::Superseded { current } => {
                        format!("superseded by e{}", self.epoch(*current))
                    }
                    FenceReason::Revoked => "revoked".to_owned(),
                };
                format!("stale lease{lease} e{epoch} {reason}")
            }
            LeaseError::Other(e) => format!("error {:?}", e.kind()),
        }
    }

    fn account(a: &AccountState) -> String {
        format!(
            "{}@{} capacity={} granted={} committed={}",
            a.channel, a.slot, a.capacity, a.granted, a.committed
        )
    }

    /// Records a reply; returns its lease when it succeeded.
    fn reply(&mut self, step: &str, answer: Result<LeaseReply, LeaseError>) -> Option<Lease> {
        let line = match &answer {
            Ok(r) => format!("{} | {}", self.lease(&r.lease), Self::account(&r.account)),
            Err(e) => self.error(e),
        };
        self.lines.push(format!("{step}: {line}"));
        answer.ok().map(|r| r.lease)
    }

    /// Records a grant: a new epoch, above every earlier one.
    fn grant(&mut self, step: &str, answer: Result<LeaseReply, LeaseError>) -> Option<Lease> {
        if let Ok(r) = &answer {
            assert!(r.lease.epoch.0 > self.last_grant, "epochs increase");
            self.last_grant = r.lease.epoch.0;
        }
        self.reply(step, answer)
    }

    fn state(&mut self, step: &str, answer: Result<AccountState, LeaseError>) {
        let line = match &answer {
            Ok(a) => Self::account(a),
            Err(e) => self.error(e),
        };
        self.lines.push(format!("{step}: {line}"));
    }

    fn leases(&mut self, step: &str, answer: Result<Vec<Lease>, LeaseError>) {
        let line = match &answer {
            Ok(rows) => rows
                .iter()
                .map(|l| self.lease(l))
                .collect::<Vec<_>>()
                .join("; "),
            Err(e) => self.error(e),
        };
        self.lines.push(format!("{step}: {line}"));
    }

    fn note(&mut self, step: &str, what: impl std::fmt::Debug) {
        self.lines.push(format!("{step}: {what:?}"));
    }
}

type Scenario = fn(&Subject, &mut Transcript);

/// Grants never exceed the free pool; commits move units for good.
fn pool(s: &Subject, t: &mut Transcript) {
    let (a, c) = (&*s.auth, ch("c"));
    t.state("set", a.set_capacity(&c, SlotId(0), 10));
    let la = t
        .grant("a", a.grant(&r("a"), &c, SlotId(0), 6, LONG))
        .unwrap();
    let lb = t
        .grant("b", a.grant(&r("b"), &c, SlotId(0), 6, LONG))
        .unwrap();
    t.grant("z", a.grant(&r("z"), &c, SlotId(0), 1, LONG));
    t.reply("commit a", a.commit(la.id, la.epoch, 6));
    t.reply("commit b too many", a.commit(lb.id, lb.epoch, 5));
    t.reply("commit b", a.commit(lb.id, lb.epoch, 4));
    t.reply("commit b empty", a.commit(lb.id, lb.epoch, 1));
    t.state("after", a.state(&c, SlotId(0)));
    t.grant("late", a.grant(&r("late"), &c, SlotId(0), 3, LONG));
}

/// A new grant on the same row supersedes the previous incarnation.
fn regrant(s: &Subject, t: &mut Transcript) {
    let (a, c) = (&*s.auth, ch("c"));
    a.set_capacity(&c, SlotId(0), 10).unwrap();
    let first = t
        .grant("first", a.grant(&r("a"), &c, SlotId(0), 8, LONG))
        .unwrap();
    let second = t
        .grant("second", a.grant(&r("a"), &c, SlotId(0), 9, LONG))
        .unwrap();
    t.reply("old commit", a.commit(first.id, first.epoch, 1));
    t.reply("old renew", a.renew(first.id, first.epoch, LONG));
    t.leases("rows", a.leases_of(&r("a")));
    t.reply("commit", a.commit(second.id, second.epoch, 9));
    t.grant("third", a.grant(&r("a"), &c, SlotId(0), 9, LONG));
    t.leases("rows", a.leases_of(&r("a")));
    t.state("after", a.state(&c, SlotId(0)));
}

/// Expiry on the authority's clock: the commit is refused, the units go back.
fn expiry(s: &Subject, t: &mut Transcript) {
    let (a, c) = (&*s.auth, ch("c"));
    a.set_capacity(&c, SlotId(0), 10).unwrap();
    let l = t
        .grant("a", a.grant(&r("a"), &c, SlotId(0), 5, SHORT))
        .unwrap();
    t.reply("commit in time", a.commit(l.id, l.epoch, 2));
    (s.wait)(PAST_SHORT);
    t.reply("commit late", a.commit(l.id, l.epoch, 1));
    t.reply("renew late", a.renew(l.id, l.epoch, LONG));
    t.reply("resize late", a.resize(l.id, l.epoch, 1, LONG));
    t.reply("return late", a.return_units(l.id, l.epoch, 1));
    t.state("after", a.state(&c, SlotId(0)));
    t.grant(
        "b takes the pool",
        a.grant(&r("b"), &c, SlotId(0), 10, LONG),
    );
    t.leases("a's row", a.leases_of(&r("a")));
}

/// Resize grows within the pool and gives surplus back; returns.
fn resize(s: &Subject, t: &mut Transcript) {
    let (a, c) = (&*s.auth, ch("c"));
    a.set_capacity(&c, SlotId(0), 10).unwrap();
    let la = t
        .grant("a", a.grant(&r("a"), &c, SlotId(0), 3, LONG))
        .unwrap();
    t.grant("b", a.grant(&r("b"), &c, SlotId(0), 5, LONG));
    t.reply("grow", a.resize(la.id, la.epoch, 20, LONG));
    t.reply("shrink", a.resize(la.id, la.epoch, 1, LONG));
    t.reply("return", a.return_units(la.id, la.epoch, 1));
    t.reply("return too many", a.return_units(la.id, la.epoch, 1));
    t.reply("return nothing", a.return_units(la.id, la.epoch, 0));
    t.reply("renew", a.renew(la.id, la.epoch, LONG));
    t.reply("grow again", a.resize(la.id, la.epoch, 2, LONG));
    t.state("after", a.state(&c, SlotId(0)));
}

/// A capacity cut revokes the largest leases (ties: the oldest row) and
/// keeps every commit.
fn cut(s: &Subject, t: &mut Transcript) {
    let (a, c) = (&*s.auth, ch("c"));
    a.set_capacity(&c, SlotId(0), 10).unwrap();
    let la = t
        .grant("a", a.grant(&r("a"), &c, SlotId(0), 6, LONG))
        .unwrap();
    let lb = t
        .grant("b", a.grant(&r("b"), &c, SlotId(0), 4, LONG))
        .unwrap();
    t.reply("commit b", a.commit(lb.id, lb.epoch, 2));
    t.state("cut to 5", a.set_capacity(&c, SlotId(0), 5));
    t.reply("revoked a", a.commit(la.id, la.epoch, 1));
    t.reply("b still", a.commit(lb.id, lb.epoch, 2));
    t.state("cut to 1", a.set_capacity(&c, SlotId(0), 1));
    t.grant("nothing left", a.grant(&r("c"), &c, SlotId(0), 1, LONG));
    t.leases("a's row", a.leases_of(&r("a")));
    t.state("raise to 20", a.set_capacity(&c, SlotId(0), 20));
    t.grant("a again", a.grant(&r("a"), &c, SlotId(0), 5, LONG));
    // Ties: three leases of 4 units, a cut of 4 revokes the oldest row.
    let d = ch("d");
    a.set_capacity(&d, SlotId(3), 12).unwrap();
    for name in ["x", "y", "z"] {
        t.grant(name, a.grant(&r(name), &d, SlotId(3), 4, LONG));
    }
    t.state("cut ties", a.set_capacity(&d, SlotId(3), 8));
    for name in ["x", "y", "z"] {
        t.leases(name, a.leases_of(&r(name)));
    }
}

/// Bad input is a typed error, never a panic.
fn bad_input(s: &Subject, t: &mut Transcript) {
    let (a, c) = (&*s.auth, ch("c"));
    a.set_capacity(&c, SlotId(0), 10).unwrap();
    t.grant("want 0", a.grant(&r("a"), &c, SlotId(0), 0, 100));
    t.grant("ttl 0", a.grant(&r("a"), &c, SlotId(0), 1, 0));
    t.grant(
        "ttl long",
        a.grant(&r("a"), &c, SlotId(0), 1, MAX_LEASE_TTL_MS + 1),
    );
    t.grant("no account", a.grant(&r("a"), &c, SlotId(9), 1, 100));
    t.state("no account", a.state(&c, SlotId(9)));
    t.state("no channel", a.state(&ch("nope"), SlotId(0)));
    let l = t
        .grant("ok", a.grant(&r("a"), &c, SlotId(0), 2, LONG))
        .unwrap();
    t.reply("commit 0", a.commit(l.id, l.epoch, 0));
    t.reply("commit 3", a.commit(l.id, l.epoch, 3));
    t.reply("renew ttl 0", a.renew(l.id, l.epoch, 0));
    t.reply(
        "unknown lease",
        a.commit(uoom::ledger::lease::LeaseId(9_999), l.epoch, 1),
    );
    t.reply("future epoch", a.commit(l.id, Epoch(l.epoch.0 + 1), 1));
    t.reply(
        "unknown return",
        a.return_units(uoom::ledger::lease::LeaseId(9_999), l.epoch, 1),
    );
    t.leases("nobody", a.leases_of(&r("nobody")));
    t.state("after", a.state(&c, SlotId(0)));
}

/// Several requests in one call, each answered on its own, in order.
fn exchange(s: &Subject, t: &mut Transcript) {
    let a = &*s.auth;
    let (c, d) = (ch("c"), ch("d"));
    a.set_capacity(&c, SlotId(0), 6).unwrap();
    a.set_capacity(&d, SlotId(0), 4).unwrap();
    let lr = t
        .grant("r", a.grant(&r("r"), &c, SlotId(0), 2, LONG))
        .unwrap();
    let old = t
        .grant("q", a.grant(&r("q"), &c, SlotId(0), 1, LONG))
        .unwrap();
    t.grant("q again", a.grant(&r("q"), &c, SlotId(0), 1, LONG));
    let answers = a.exchange(
        &r("r"),
        &[
            LeaseRequest::Resize {
                lease: lr.id,
                epoch: lr.epoch,
                target: 9,
                ttl_ms: LONG,
            },
            LeaseRequest::Grant {
                channel: c.clone(),
                slot: SlotId(7),
                want: 1,
                ttl_ms: LONG,
            },
            LeaseRequest::Grant {
                channel: d.clone(),
                slot: SlotId(0),
                want: 9,
                ttl_ms: LONG,
            },
            LeaseRequest::Resize {
                lease: old.id,
                epoch: old.epoch,
                target: 1,
                ttl_ms: LONG,
            },
            LeaseRequest::Grant {
                channel: d.clone(),
                slot: SlotId(0),
                want: 0,
                ttl_ms: LONG,
            },
            LeaseRequest::Grant {
                channel: d.clone(),
                slot: SlotId(0),
                want: 1,
                ttl_ms: LONG,
            },
        ],
    );
    t.note("answers", answers.len());
    for (i, answer) in answers.into_iter().enumerate() {
        t.reply(&format!("answer {i}"), answer);
    }
    t.note("empty", a.exchange(&r("r"), &[]).len());
    t.state("c", a.state(&c, SlotId(0)));
    t.state("d", a.state(&d, SlotId(0)));
}

/// Replicas over the authority: local quotas, fenced commits, a restart
/// that takes the lease over and fences the old process.
fn replicas(s: &Subject, t: &mut Transcript) {
    let (a, k) = (&s.auth, ch("kitchen"));
    a.set_capacity(&k, SlotId(0), 10).unwrap();
    let settings = LeaseSettings::default()
        .with_lease_ttl_ms(LONG)
        .with_margin_ms(1_000);
    let ledger =
        |name: &str| LeasedLedger::new(name, a.clone(), s.clock.clone(), settings).unwrap();
    let ra = ledger("a");
    let rb = ledger("b");
    let hold = |t: &mut Transcript, step: &str, l: &LeasedLedger, id: u128, units: u32| {
        let answer = l.reserve(ReservationId(id), &k, SlotId(0), units, LONG);
        t.note(step, answer.map(|h| h.units).map_err(|e| e.kind()));
    };
    hold(t, "a 6", &ra, 1, 6);
    hold(t, "b 4", &rb, 2, 4);
    hold(t, "b 1 more", &rb, 3, 1);
    let done = ra.commit(ReservationId(1), None).map(|c| c.reply);
    t.reply("a commits", done);
    hold(t, "a 1 more", &ra, 4, 1);
    let call = rb.prepare_commit(ReservationId(2), None).unwrap();
    // b is replaced before its commit is sent; the new process recovers.
    let rb2 = ledger("b");
    t.note("recovered", rb2.recover().map_err(|e| e.kind()));
    t.reply("old b commits", rb.complete_commit(call).map(|c| c.reply));
    hold(t, "new b 4", &rb2, 5, 4);
    t.note("new b local", rb2.stats().local);
    t.reply(
        "new b commits",
        rb2.commit(ReservationId(5), Some(3)).map(|c| c.reply),
    );
    t.state("after", a.state(&k, SlotId(0)));
    t.note(
        "quotas",
        rb2.quotas()
            .iter()
            .map(|q| (q.units, q.held))
            .collect::<Vec<_>>(),
    );
}

const SCENARIOS: &[(&str, Scenario)] = &[
    ("pool", pool),
    ("regrant", regrant),
    ("expiry", expiry),
    ("resize", resize),
    ("cut", cut),
    ("bad_input", bad_input),
    ("exchange", exchange),
    ("replicas", replicas),
];

fn on_memory(scenario: Scenario) -> Vec<String> {
    let clock = Arc::new(ManualClock::new(Millis(1_700_000_000_000)));
    let auth = Arc::new(MemoryAuthority::new(clock.clone()));
    let tick = clock.clone();
    let subject = Subject {
        auth,
        clock,
        wait: Box::new(move |ms| tick.advance_ms(ms)),
    };
    let mut t = Transcript::default();
    scenario(&subject, &mut t);
    t.lines
}

fn on_postgres(scenario: Scenario) -> Vec<String> {
    let (_, auth) = pg();
    let subject = Subject {
        auth,
        clock: Arc::new(SystemClock),
        wait: Box::new(|ms| std::thread::sleep(Duration::from_millis(ms))),
    };
    let mut t = Transcript::default();
    scenario(&subject, &mut t);
    t.lines
}

#[test]
fn postgres_answers_every_scenario_as_the_memory_authority_does() {
    let handles: Vec<_> = SCENARIOS
        .iter()
        .map(|(name, scenario)| {
            let scenario = *scenario;
            (*name, std::thread::spawn(move || on_postgres(scenario)))
        })
        .collect();
    for ((name, scenario), (_, pg)) in SCENARIOS.iter().zip(handles) {
        let memory = on_memory(*scenario);
        let pg = pg.join().unwrap();
        assert!(memory.len() > 3, "{name}: {memory:#?}");
        assert_eq!(
            memory, pg,
            "scenario {name}: memory (left) and PostgreSQL (right) differ"
        );
    }
}

// ---------------------------------------------------------------------------
// Orders written with their commit.

/// Writes a CONFIRMED order taking `units` of `(channel, slot_start)`.
async fn insert_order(
    c: &impl tokio_postgres::GenericClient,
    id: u128,
    channel: &str,
    slot_start: SystemTime,
    units: i32,
) -> Result<u64, tokio_postgres::Error> {
    c.execute(
        "INSERT INTO orders (id, customer_id, items, delivery_street, delivery_city, \
            delivery_postal_code, delivery_latitude, delivery_longitude, total_minor, currency, \
            status, channel_id, slot_start, units) \
         VALUES ($1, $2, '[]', '1 Main St', 'New York', '10001', 40.7, -74.0, 1599, 'USD', \
            'CONFIRMED', $3, $4, $5)",
        &[
            &uuid::Uuid::from_u128(id),
            &uuid::Uuid::from_u128(7),
            &channel,
            &slot_start,
            &units,
        ],
    )
    .await
}

async fn connect(url: &str) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(url, NoTls).await.unwrap();
    tokio::spawn(conn);
    client
}

async fn order_exists(c: &tokio_postgres::Client, id: u128) -> bool {
    c.query_opt(
        "SELECT 1 FROM orders WHERE id = $1",
        &[&uuid::Uuid::from_u128(id)],
    )
    .await
    .unwrap()
    .is_some()
}

/// `(committed_units, capacity)` of one audit row, and the number of rows
/// whose orders exceed their capacity.
async fn audit(c: &tokio_postgres::Client, channel: &str, start: SystemTime) -> ((i64, i64), i64) {
    let row = c
        .query_one(
            "SELECT committed_units, capacity FROM capacity_audit \
             WHERE channel_id = $1 AND slot_start = $2",
            &[&channel, &start],
        )
        .await
        .unwrap();
    let over = c
        .query_one(
            "SELECT count(*) FROM capacity_audit WHERE committed_units > capacity",
            &[],
        )
        .await
        .unwrap();
    ((row.get(0), row.get(1)), over.get(0))
}

fn start_of(auth: &AsyncPgLeaseAuthority, slot: SlotId) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(auth.slot_start(slot).unwrap().0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_order_and_its_fenced_commit_are_written_together_or_not_at_all() {
    let url = std::thread::spawn(fresh_schema).join().unwrap();
    let auth = AsyncPgLeaseAuthority::connect(PgLeaseConfig::new(&url))
        .await
        .unwrap();
    auth.migrate().await.unwrap();
    let (k, slot) = (ch("k1"), SlotId(4));
    let start = start_of(&auth, slot);
    auth.set_capacity(&k, slot, 5).await.unwrap();
    let lease = auth
        .grant(&r("api-1"), &k, slot, 4, LONG)
        .await
        .unwrap()
        .lease;
    let mut client = connect(&url).await;

    // Both written, then the transaction rolls back: neither stays.
    let tx = client.transaction().await.unwrap();
    insert_order(&tx, 1, "k1", start, 2).await.unwrap();
    let reply = auth
        .commit_fenced(&tx, lease.id, lease.epoch, 2)
        .await
        .unwrap();
    assert_eq!((reply.account.committed, reply.lease.units), (2, 2));
    tx.rollback().await.unwrap();
    assert!(!order_exists(&client, 1).await);
    let s = auth.state(&k, slot).await.unwrap();
    assert_eq!((s.committed, s.granted), (0, 4));

    // Both written and committed.
    let tx = client.transaction().await.unwrap();
    insert_order(&tx, 1, "k1", start, 2).await.unwrap();
    auth.commit_fenced(&tx, lease.id, lease.epoch, 2)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert!(order_exists(&client, 1).await);
    let s = auth.state(&k, slot).await.unwrap();
    assert_eq!((s.committed, s.granted), (2, 2));
    assert_eq!(audit(&client, "k1", start).await, ((2, 5), 0));

    // The commit is written, then the order write fails: neither stays.
    let tx = client.transaction().await.unwrap();
    auth.commit_fenced(&tx, lease.id, lease.epoch, 1)
        .await
        .unwrap();
    assert!(
        insert_order(&tx, 1, "k1", start, 1).await.is_err(),
        "order 1 exists"
    );
    // PostgreSQL answers the COMMIT of an aborted transaction with a ROLLBACK.
    tx.commit().await.unwrap();
    assert!(order_exists(&client, 1).await);
    let s = auth.state(&k, slot).await.unwrap();
    assert_eq!((s.committed, s.granted), (2, 2));

    // More units than the lease holds: refused, the order rolls back.
    let tx = client.transaction().await.unwrap();
    insert_order(&tx, 2, "k1", start, 3).await.unwrap();
    let err = auth
        .commit_fenced(&tx, lease.id, lease.epoch, 3)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Capacity);
    tx.rollback().await.unwrap();
    assert!(!order_exists(&client, 2).await);

    // A newer incarnation fences the old epoch: refused as superseded.
    let newer = auth
        .grant(&r("api-1"), &k, slot, 3, LONG)
        .await
        .unwrap()
        .lease;
    let tx = client.transaction().await.unwrap();
    insert_order(&tx, 3, "k1", start, 1).await.unwrap();
    let err = auth
        .commit_fenced(&tx, lease.id, lease.epoch, 1)
        .await
        .unwrap_err();
    assert_eq!(
        err,
        LeaseError::Stale(StaleLease {
            lease: lease.id,
            epoch: lease.epoch,
            reason: FenceReason::Superseded {
                current: newer.epoch
            }
        })
    );
    tx.rollback().await.unwrap();
    assert!(!order_exists(&client, 3).await);
    assert_eq!(audit(&client, "k1", start).await, ((2, 5), 0));
    let s = auth.state(&k, slot).await.unwrap();
    assert_eq!((s.committed, s.granted), (2, 3));

    // The audit reads the orders alone: an order sold around the authority
    // shows up as overbooking.
    insert_order(&client, 9, "k1", start, 4).await.unwrap();
    assert_eq!(audit(&client, "k1", start).await, ((6, 5), 1));
    client
        .execute(
            "UPDATE orders SET status = 'CANCELLED' WHERE id = $1",
            &[&uuid::Uuid::from_u128(9)],
        )
        .await
        .unwrap();
    assert_eq!(audit(&client, "k1", start).await, ((2, 5), 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_lease_cannot_commit_even_inside_the_order_transaction() {
    let url = std::thread::spawn(fresh_schema).join().unwrap();
    let auth = AsyncPgLeaseAuthority::connect(PgLeaseConfig::new(&url))
        .await
        .unwrap();
    auth.migrate().await.unwrap();
    let (k, slot) = (ch("k1"), SlotId(0));
    let start = start_of(&auth, slot);
    auth.set_capacity(&k, slot, 3).await.unwrap();
    let lease = auth
        .grant(&r("api-1"), &k, slot, 3, SHORT)
        .await
        .unwrap()
        .lease;
    let mut client = connect(&url).await;
    let tx = client.transaction().await.unwrap();
    insert_order(&tx, 1, "k1", start, 3).await.unwrap();
    // The replica stalls inside its transaction past the lease's expiry.
    tokio::time::sleep(Duration::from_millis(PAST_SHORT)).await;
    let err = auth
        .commit_fenced(&tx, lease.id, lease.epoch, 3)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            LeaseError::Stale(StaleLease {
                reason: FenceReason::Expired { .. },
                ..
            })
        ),
        "{err:?}"
    );
    tx.rollback().await.unwrap();
    assert!(!order_exists(&client, 1).await);
    // Its units are back: another replica takes all three.
    let other = auth.grant(&r("api-2"), &k, slot, 3, LONG).await.unwrap();
    assert_eq!(
        (
            other.lease.units,
            other.account.granted,
            other.account.committed
        ),
        (3, 3, 0)
    );
    assert_eq!(audit(&client, "k1", start).await, ((0, 3), 0));
}

// ---------------------------------------------------------------------------
// Replicas on threads.

/// One replica process: its own authority connections, ledger, runtime and
/// order connection. Commits go through the order's transaction.
struct Replica {
    ledger: LeasedLedger,
    auth: Arc<PgLeaseAuthority>,
    rt: tokio::runtime::Runtime,
    client: tokio_postgres::Client,
}

impl Replica {
    fn start(url: &str, name: &str, settings: LeaseSettings) -> Replica {
        let auth = Arc::new(PgLeaseAuthority::connect(PgLeaseConfig::new(url)).unwrap());
        let ledger =
            LeasedLedger::new(name, auth.clone(), Arc::new(SystemClock), settings).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let client = rt.block_on(connect(url));
        Replica {
            ledger,
            auth,
            rt,
            client,
        }
    }

    /// Commits hold `id` with an order row of `units`, stalling `pause`
    /// between the local check and the write.
    fn confirm(
        &mut self,
        id: u128,
        channel: &str,
        start: SystemTime,
        pause: Duration,
    ) -> Result<u32, LeaseError> {
        let call = self.ledger.prepare_commit(ReservationId(id), None)?;
        std::thread::sleep(pause);
        let auth = self.auth.as_async();
        let client = &mut self.client;
        let answer =
            self.rt.block_on(async {
                let tx = client.transaction().await.unwrap();
                insert_order(&tx, id, channel, start, call.units as i32)
                    .await
                    .unwrap();
                match auth
                    .commit_fenced(&tx, call.lease, call.epoch, call.units)
                    .await
                {
                    Ok(reply) => tx.commit().await.map(|()| reply).map_err(|e| {
                        LeaseError::from(uoom::Error::io(format!("commit failed: {e}")))
                    }),
                    Err(refused) => {
                        tx.rollback().await.unwrap();
                        Err(refused)
                    }
                }
            });
        self.ledger.settle_commit(call, answer).map(|c| c.units)
    }
}

#[test]
fn replicas_racing_for_a_scarce_channel_never_commit_more_than_its_capacity() {
    const CAPACITY: u32 = 60;
    const REPLICAS: usize = 4;
    const ORDERS: u128 = 40;
    let (url, auth) = pg();
    let (k, slot) = (ch("scarce"), SlotId(2));
    auth.set_capacity(&k, slot, CAPACITY).unwrap();
    let start = UNIX_EPOCH + Duration::from_millis(auth.slot_start(slot).unwrap().0);
    let settings = LeaseSettings::default()
        .with_lease_ttl_ms(1_500)
        .with_margin_ms(300);
    let committed = Arc::new(AtomicU64::new(0));
    let stale = Arc::new(AtomicU64::new(0));
    let threads: Vec<_> = (0..REPLICAS)
        .map(|n| {
            let (url, k) = (url.clone(), k.clone());
            let (committed, stale) = (committed.clone(), stale.clone());
            std::thread::spawn(move || {
                let mut rep = Replica::start(&url, &format!("r{n}"), settings);
                let mut refused = 0;
                let mut stalls = if n == 0 { 2 } else { 0 };
                for i in 0..ORDERS {
                    let id = ((n as u128) << 64) | i;
                    let units = 1 + (i % 2) as u32;
                    if i % 5 == 4 {
                        rep.ledger.refresh().unwrap();
                    }
                    if rep
                        .ledger
                        .reserve(ReservationId(id), &k, slot, units, 30_000)
                        .is_err()
                    {
                        refused += 1;
                        continue;
                    }
                    if i % 7 == 3 {
                        rep.ledger.release(ReservationId(id)).unwrap();
                        continue;
                    }
                    // Replica 0 stalls past its lease on its first two
                    // confirmations.
                    let pause = if stalls > 0 {
                        stalls -= 1;
                        Duration::from_secs(2)
                    } else {
                        Duration::ZERO
                    };
                    match rep.confirm(id, "scarce", start, pause) {
                        Ok(u) => {
                            committed.fetch_add(u64::from(u), Ordering::SeqCst);
                        }
                        Err(e) if e.is_stale() => {
                            stale.fetch_add(1, Ordering::SeqCst);
                        }
                        Err(e) => panic!("replica {n}, order {i}: {e}"),
                    }
                }
                (refused, rep.ledger.stats())
            })
        })
        .collect();
    let mut refused = 0;
    for t in threads {
        let (r, stats) = t.join().unwrap();
        refused += r;
        assert!(stats.lease_round_trips > 0);
    }
    let s = auth.state(&k, slot).unwrap();
    let committed = committed.load(Ordering::SeqCst);
    assert!(s.committed <= CAPACITY, "{s:?}");
    assert!(s.committed + s.granted <= CAPACITY, "{s:?}");
    assert_eq!(
        u64::from(s.committed),
        committed,
        "every accepted commit, and only those"
    );
    assert!(stale.load(Ordering::SeqCst) >= 2, "both stalls were fenced");
    assert!(refused > 0, "demand exceeded the capacity");
    assert!(s.committed >= CAPACITY / 2, "the capacity was sold: {s:?}");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let client = connect(&url).await;
        let ((units, capacity), over) = audit(&client, "scarce", start).await;
        assert_eq!(
            (units, capacity, over),
            (i64::from(s.committed), i64::from(CAPACITY), 0)
        );
    });
}

#[test]
fn a_lease_that_expires_cannot_commit_and_its_units_go_back_to_the_pool() {
    let (_, auth) = pg();
    let (k, slot) = (ch("k1"), SlotId(0));
    auth.set_capacity(&k, slot, 4).unwrap();
    let short = LeaseSettings::default()
        .with_lease_ttl_ms(SHORT)
        .with_margin_ms(100);
    let a = LeasedLedger::new("a", auth.clone(), Arc::new(SystemClock), short).unwrap();
    let b = LeasedLedger::new("b", auth.clone(), Arc::new(SystemClock), short).unwrap();
    a.reserve(ReservationId(1), &k, slot, 4, LONG).unwrap();
    assert_eq!(
        b.reserve(ReservationId(2), &k, slot, 1, LONG)
            .unwrap_err()
            .kind(),
        ErrorKind::Capacity
    );
    let call = a.prepare_commit(ReservationId(1), None).unwrap();
    std::thread::sleep(Duration::from_millis(PAST_SHORT)); // a stalls (GC, SIGSTOP)
    assert_eq!(
        auth.state(&k, slot).unwrap().granted,
        0,
        "the expired lease no longer counts"
    );
    b.reserve(ReservationId(3), &k, slot, 4, LONG).unwrap();
    let err = a.complete_commit(call).unwrap_err();
    assert!(
        matches!(
            err,
            LeaseError::Stale(StaleLease {
                reason: FenceReason::Expired { .. },
                ..
            })
        ),
        "{err:?}"
    );
    assert_eq!(a.stats().stale_commits_refused, 1);
    b.commit(ReservationId(3), None).unwrap();
    let s = auth.state(&k, slot).unwrap();
    assert_eq!((s.capacity, s.committed, s.granted), (4, 4, 0));
}

#[test]
fn a_new_authority_reads_the_durable_state_and_forgets_nothing_committed() {
    let (url, first) = pg();
    let (k, slot) = (ch("k1"), SlotId(1));
    first.set_capacity(&k, slot, 10).unwrap();
    let old = LeasedLedger::new(
        "api-1",
        first.clone(),
        Arc::new(SystemClock),
        LeaseSettings::default(),
    )
    .unwrap();
    old.reserve(ReservationId(1), &k, slot, 3, LONG).unwrap();
    old.commit(ReservationId(1), None).unwrap();
    old.reserve(ReservationId(2), &k, slot, 2, LONG).unwrap();
    let call = old.prepare_commit(ReservationId(2), None).unwrap();
    let before = first.state(&k, slot).unwrap();
    let rows = first.leases_of(&r("api-1")).unwrap();
    drop(old);
    drop(first); // the process and its connections are gone

    let second = Arc::new(PgLeaseAuthority::connect(PgLeaseConfig::new(&url)).unwrap());
    assert!(second.migrate().unwrap().is_empty());
    assert_eq!(second.state(&k, slot).unwrap(), before);
    assert_eq!(before.committed, 3);
    assert_eq!(second.leases_of(&r("api-1")).unwrap(), rows);
    let new = LeasedLedger::new(
        "api-1",
        second.clone(),
        Arc::new(SystemClock),
        LeaseSettings::default(),
    )
    .unwrap();
    assert_eq!(new.recover().unwrap(), 1);
    // Whatever the old process still sends is fenced by the new epoch.
    let err = second
        .commit(call.lease, call.epoch, call.units)
        .unwrap_err();
    assert!(
        matches!(
            err,
            LeaseError::Stale(StaleLease {
                reason: FenceReason::Superseded { .. },
                ..
            })
        ),
        "{err:?}"
    );
    new.reserve(ReservationId(3), &k, slot, 2, LONG).unwrap();
    new.commit(ReservationId(3), None).unwrap();
    let s = second.state(&k, slot).unwrap();
    assert_eq!(s.committed, 5);
    assert!(s.committed + s.granted <= s.capacity);
}
