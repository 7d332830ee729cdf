//! The relay's view of `outbox_events`: partitions claimed with
//! `outbox_claim_partitions` (`FOR UPDATE SKIP LOCKED`, held for the batch's
//! transaction), their pending events from `outbox_pending`, the outcome
//! recorded in the same transaction, and `LISTEN uoom_outbox` wake-ups;
//! in the background, `outbox_recycle()` truncates the outbox's drained
//! slots (`0008_outbox_slots.sql`).

use super::bundle::{self, TailEvent};
use super::rows::{at, millis};
use super::{connect_client, io};
use crate::adapters::outbox::{BatchOutcome, ClaimedEvent, OutboxStore};
use crate::adapters::{AdapterRuntime, EventRecord};
use crate::{EventId, Millis, Result};
use futures_util::StreamExt;
use serde_json::value::RawValue;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, SystemTime};
use tokio::sync::Notify;
use tokio_postgres::types::Json;
use tokio_postgres::{AsyncMessage, Client, Statement};
use uuid::Uuid;

/// The outbox's partitions (`0006_outbox_partitions.sql`).
pub const OUTBOX_PARTITIONS: usize = 16;

/// The outbox's slots, `outbox_events_s0`..`s7` (`0008_outbox_slots.sql`).
///
/// ```
/// // A ring of eight two-second slots: 16 s before an insert's slot comes round again.
/// assert_eq!(uoom::adapters::postgres::OUTBOX_SLOTS * 2, 16);
/// ```
pub const OUTBOX_SLOTS: usize = 8;

/// How often the store asks PostgreSQL to truncate drained outbox slots
/// (`outbox_recycle()`, one slot a call): an eighth of a slot's two seconds.
///
/// ```
/// use uoom::adapters::postgres::RECYCLE_INTERVAL;
/// assert_eq!(RECYCLE_INTERVAL * 8, std::time::Duration::from_secs(2));
/// ```
pub const RECYCLE_INTERVAL: Duration = Duration::from_millis(250);

/// What the relay does with a delivered event's row.
///
/// ```
/// use uoom::adapters::postgres::Delivered;
/// assert_eq!(Delivered::default(), Delivered::Delete);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Delivered {
    /// Deletes it: the broker is the log of what was published, and the
    /// outbox stays as small as its backlog (and a delete costs PostgreSQL
    /// less than marking; docs/adapters.md).
    #[default]
    Delete,
    /// Keeps it with `published_at` set, for audits; prune it yourself.
    Mark,
}

/// PostgreSQL as an [`OutboxStore`]: a connection per concurrent claim
/// (opened on first use, kept for the next), each claim one transaction
/// holding its partitions until [`OutboxStore::complete`] commits it; one
/// more connection listens on `uoom_outbox` (reconnected in the background
/// if it drops; polling covers the gap), and one calls `outbox_recycle()`
/// every [`RECYCLE_INTERVAL`], which truncates the outbox slots that hold
/// only delivered (deleted) events, so the outbox never needs vacuuming
/// (its connection closes once the store is dropped).
///
/// ```no_run
/// use uoom::adapters::AdapterRuntime;
/// use uoom::adapters::postgres::{Delivered, PgOutboxStore};
/// let rt = AdapterRuntime::new(1).unwrap();
/// let store = PgOutboxStore::connect("postgres://uoom:uoom@127.0.0.1:25432/uoom", rt)
///     .unwrap()
///     .with_delivered(Delivered::Mark);
/// # let _ = store;
/// ```
pub struct PgOutboxStore {
    rt: AdapterRuntime,
    url: String,
    idle: Mutex<Vec<Conn>>,
    wake: Arc<Notify>,
    delivered: Delivered,
    /// The recycler runs while this lives.
    _alive: Arc<()>,
}

/// A claim connection and its statements, prepared once.
struct Conn {
    client: Client,
    claim: Statement,
    pending: Statement,
    /// Per slot: its partition's delete (or mark) of delivered events, so
    /// only that partition's index is searched.
    delivered: Vec<Statement>,
    retry: Statement,
    dead: Statement,
    /// Under [`Delivered::Mark`]: a row's delivered events kept as published.
    keep_prefix: Statement,
    /// The rows a failure in a multi-event row leaves (`super::bundle`).
    insert_rest: Statement,
}

/// A claim in progress: an open transaction holding its partitions. Dropped
/// without [`OutboxStore::complete`], its connection closes, which rolls the
/// transaction back and frees the partitions.
pub struct PgClaim {
    conn: Conn,
    /// The partitions it holds.
    pub partitions: Vec<i16>,
    /// The slot of each of its rows (by row id: its first event's).
    slot_of: HashMap<Uuid, i16>,
    /// Its rows that hold more than one event.
    bundles: HashMap<Uuid, Bundle>,
    /// For each event after the first of a row: its row and its place in it.
    row_of: HashMap<Uuid, (Uuid, usize)>,
}

/// A claimed row of several events (`0010_outbox_bundles.sql`): what
/// [`OutboxStore::complete`] needs to cut it when one of them fails.
struct Bundle {
    seq: i64,
    /// Its head's place among its seq's events (`first_pos`).
    first_pos: i16,
    aggregate_type: String,
    aggregate_id: String,
    /// Its events, the head's first.
    len: usize,
    /// Its `tail` as stored.
    tail: Box<RawValue>,
    due_at: Millis,
    stored_at: Millis,
}

/// A row to insert for what a failure leaves of a multi-event row.
struct RestRow {
    id: Uuid,
    event_type: String,
    version: i32,
    payload: String,
    occurred_at: Millis,
    tail: Option<String>,
    attempts: i32,
    next_attempt_at: Millis,
    last_error: Option<String>,
    dead: bool,
    seq: i64,
    first_pos: i16,
    aggregate_type: String,
    aggregate_id: String,
    created_at: Millis,
}

impl Bundle {
    /// Events `from..to` of the row (`from` ≥ 1: the head is never cut
    /// off on its own) as a row of their own.
    fn rest(
        &self,
        elements: &[Box<RawValue>],
        from: usize,
        to: usize,
    ) -> std::result::Result<RestRow, String> {
        let head = elements
            .get(from - 1)
            .ok_or_else(|| format!("row has no event {from}"))?;
        let head: TailEvent =
            serde_json::from_str(head.get()).map_err(|e| format!("bad tail element: {e}"))?;
        Ok(RestRow {
            id: head.id,
            event_type: head.event_type,
            version: i32::from(head.schema_version),
            payload: head.payload.get().to_owned(),
            occurred_at: Millis(head.occurred_at),
            tail: bundle::join(elements.get(from..to - 1).unwrap_or(&[])),
            attempts: 0,
            next_attempt_at: self.due_at,
            last_error: None,
            dead: false,
            seq: self.seq,
            first_pos: self
                .first_pos
                .saturating_add(i16::try_from(from).unwrap_or(i16::MAX)),
            aggregate_type: self.aggregate_type.clone(),
            aggregate_id: self.aggregate_id.clone(),
            created_at: self.stored_at,
        })
    }
}

impl RestRow {
    /// The row as its head's first failed attempt left it: due again at
    /// `retry_at`, or parked (`None`).
    fn failed(mut self, error: &str, retry_at: Option<Millis>) -> Self {
        self.attempts = 1;
        self.last_error = Some(error.to_owned());
        match retry_at {
            Some(at) => self.next_attempt_at = at,
            None => self.dead = true,
        }
        self
    }
}

/// What became of a multi-event row's events in a batch.
#[derive(Default)]
struct RowOutcome<'a> {
    /// Its events delivered (the relay delivers a row's events in order).
    published: usize,
    /// The event that failed: its place, the error, and its retry time
    /// (none when it was parked).
    failed: Option<(usize, &'a str, Option<Millis>)>,
}

impl PgOutboxStore {
    /// Connects the listener; claim connections open on first use.
    pub fn connect(url: &str, rt: AdapterRuntime) -> Result<Self> {
        let wake = Arc::new(Notify::new());
        let url_owned = url.to_owned();
        let listener_wake = wake.clone();
        let alive = Arc::new(());
        let recycler = Arc::downgrade(&alive);
        // Fail early on a bad URL or an unreachable server.
        let first = rt.block_on(async move {
            let client = connect_client(&url_owned).await?;
            tokio::spawn(listen_forever(url_owned.clone(), listener_wake));
            tokio::spawn(recycle_forever(url_owned, recycler));
            Ok::<_, crate::Error>(client)
        })??;
        drop(first);
        Ok(Self {
            rt,
            url: url.to_owned(),
            idle: Mutex::new(Vec::new()),
            wake,
            delivered: Delivered::default(),
            _alive: alive,
        })
    }

    /// Sets what happens to delivered rows (default [`Delivered::Delete`]).
    pub fn with_delivered(mut self, delivered: Delivered) -> Self {
        self.delivered = delivered;
        self
    }

    fn take_conn(&self) -> Result<Conn> {
        if let Some(c) = self
            .idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .pop()
        {
            return Ok(c);
        }
        let url = self.url.clone();
        let delivered = self.delivered;
        self.rt.block_on(async move {
            let client = connect_client(&url).await?;
            let e = io("outbox prepare");
            // Generic plans: a claim connection runs the same few statements
            // all its life. Under the default, each call of outbox_pending
            // was planned afresh with its values (the SQL function inlined
            // every time): psql, 1,000 events, 5.0 ms a call against 3.0 ms
            // with the plan kept.
            //
            // No sequential scans: every statement here finds its rows
            // through an index, but the outbox's slots swing between empty
            // (just truncated) and tens of thousands of rows within seconds,
            // and a generic plan made while a slot was empty seq-scanned it
            // once it had filled: the relay's DELETE went from microseconds
            // to milliseconds an event and the relay fell seconds behind.
            // No JIT: with sequential scans priced out, the claim's scan of
            // outbox_partitions (16 rows, no index to use) cost enough to be
            // JIT-compiled, 48 ms a claim.
            client
                .batch_execute(
                    "SET plan_cache_mode = force_generic_plan; SET enable_seqscan = off; SET jit = off",
                )
                .await
                .map_err(&e)?;
            let p = |sql: &'static str| client.prepare(sql);
            let claim = p(CLAIM).await.map_err(&e)?;
            let pending = p(PENDING).await.map_err(&e)?;
            let mut per_slot = Vec::with_capacity(OUTBOX_SLOTS);
            for slot in 0..OUTBOX_SLOTS {
                let sql = match delivered {
                    Delivered::Delete => {
                        format!("DELETE FROM outbox_events_s{slot} WHERE id = ANY($1)")
                    }
                    Delivered::Mark => format!(
                        "UPDATE outbox_events_s{slot} SET published_at = now() WHERE id = ANY($1)"
                    ),
                };
                per_slot.push(client.prepare(&sql).await.map_err(&e)?);
            }
            let retry = p(RETRY).await.map_err(&e)?;
            let dead = p(DEAD).await.map_err(&e)?;
            let keep_prefix = p(KEEP_PREFIX).await.map_err(&e)?;
            let insert_rest = p(INSERT_REST).await.map_err(&e)?;
            Ok(Conn {
                client,
                claim,
                pending,
                delivered: per_slot,
                retry,
                dead,
                keep_prefix,
                insert_rest,
            })
        })?
    }
}

const CLAIM: &str = "SELECT outbox_claim_partitions($1)";
const PENDING: &str = "SELECT id, seq, aggregate_type, aggregate_id, event_type, schema_version, payload, \
     occurred_at, attempts, next_attempt_at, created_at, slot, tail, first_pos \
     FROM outbox_pending($1, $2)";
// Each names the claim's slots (last parameter), so only their partitions
// of outbox_events are searched.
const RETRY: &str = "UPDATE outbox_events o SET attempts = o.attempts + 1, last_error = u.err, \
     next_attempt_at = u.at \
     FROM unnest($1::uuid[], $2::text[], $3::timestamptz[]) AS u(id, err, at) \
     WHERE o.slot = ANY($4) AND o.id = u.id";
// A parked row keeps only its head: the failed event. The rest of its tail
// goes on in a row of its own (INSERT_REST).
const DEAD: &str = "UPDATE outbox_events o SET dead = true, attempts = o.attempts + 1, \
     last_error = u.err, tail = NULL \
     FROM unnest($1::uuid[], $2::text[]) AS u(id, err) WHERE o.slot = ANY($3) AND o.id = u.id";
const KEEP_PREFIX: &str = "UPDATE outbox_events o SET published_at = now(), tail = u.tail::json \
     FROM unnest($1::uuid[], $2::text[]) AS u(id, tail) WHERE o.slot = ANY($3) AND o.id = u.id";
// Into the current slot, with the cut row's seq: the rest keeps its place
// in its aggregate's order.
const INSERT_REST: &str = "INSERT INTO outbox_events (id, seq, aggregate_type, aggregate_id, \
     event_type, schema_version, payload, occurred_at, tail, created_at, attempts, \
     next_attempt_at, last_error, dead, first_pos) \
     SELECT u.id, u.seq, u.ty, u.ag, u.ev, u.sv, u.pa::json, u.oc, u.tl::json, u.cr, u.na, u.nx, \
            u.er, u.dd, u.fp \
     FROM unnest($1::uuid[], $2::int8[], $3::text[], $4::text[], $5::text[], $6::int4[], \
                 $7::text[], $8::timestamptz[], $9::text[], $10::timestamptz[], $11::int4[], \
                 $12::timestamptz[], $13::text[], $14::bool[], $15::int2[]) \
          AS u(id, seq, ty, ag, ev, sv, pa, oc, tl, cr, na, nx, er, dd, fp)";
const RECYCLE: &str = "SELECT count(*) FROM outbox_recycle()";

/// Calls `outbox_recycle()` every [`RECYCLE_INTERVAL`] on a connection of
/// its own (reconnecting after a failure) until the store is dropped.
async fn recycle_forever(url: String, alive: Weak<()>) {
    let mut client = None;
    let mut tick = tokio::time::interval(RECYCLE_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if alive.strong_count() == 0 {
            return;
        }
        if client.is_none() {
            match connect_client(&url).await {
                Ok(c) => client = Some(c),
                Err(e) => {
                    tracing::warn!(error = %crate::error::Chain::of(&e), "outbox recycler cannot connect");
                    continue;
                }
            }
        }
        let Some(c) = client.as_ref() else { continue };
        match c.query_one(RECYCLE, &[]).await {
            Ok(row) => {
                let n: i64 = row.try_get(0).unwrap_or(0);
                if n > 0 {
                    tracing::trace!(slots = n, "outbox slots truncated");
                }
            }
            Err(e) => {
                tracing::warn!(error = %crate::error::Chain::of(&e), "outbox_recycle() failed");
                client = None;
            }
        }
    }
}

/// Keeps a `LISTEN uoom_outbox` session open, waking waiters on each notification.
async fn listen_forever(url: String, wake: Arc<Notify>) {
    loop {
        match super::tls::connect(&url).await {
            Ok((client, mut conn)) => {
                let mut messages = futures_util::stream::poll_fn(move |cx| conn.poll_message(cx));
                let listen = client.batch_execute("LISTEN uoom_outbox");
                // The LISTEN only completes while the connection is polled.
                let mut listen = std::pin::pin!(listen);
                let mut listening = false;
                loop {
                    tokio::select! {
                        r = &mut listen, if !listening => {
                            if let Err(e) = r {
                                tracing::warn!(error = %crate::error::Chain::of(&e), "LISTEN uoom_outbox failed");
                                break;
                            }
                            listening = true;
                            // Anything inserted before LISTEN took effect is found by the next claim.
                            wake.notify_waiters();
                            wake.notify_one();
                        }
                        m = messages.next() => match m {
                            // One worker per notification, not all of them: a
                            // busy outbox notifies on every commit, and waking
                            // every idle worker each time made them claim
                            // (and lock partitions) for a handful of events.
                            Some(Ok(AsyncMessage::Notification(_))) => wake.notify_one(),
                            Some(Ok(_)) => {}
                            Some(Err(e)) => {
                                tracing::warn!(error = %crate::error::Chain::of(&e), "outbox listener connection failed");
                                break;
                            }
                            None => break,
                        }
                    }
                }
            }
            Err(e) => {
                tracing::warn!(error = %crate::error::Chain::of(&e), "outbox listener cannot connect")
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

type Param<'a> = dyn tokio_postgres::types::ToSql + Sync + 'a;

/// Runs `statement` unless there is nothing for it to do (`skip`).
async fn execute_unless(
    skip: bool,
    client: &Client,
    statement: &Statement,
    params: &[&Param<'_>],
) -> std::result::Result<(), tokio_postgres::Error> {
    if !skip {
        client.execute(statement, params).await?;
    }
    Ok(())
}

fn ms(r: &tokio_postgres::Row, i: usize) -> std::result::Result<Millis, tokio_postgres::Error> {
    Ok(millis(r.try_get(i)?))
}

fn event_of(r: &tokio_postgres::Row) -> std::result::Result<ClaimedEvent, tokio_postgres::Error> {
    let version: i32 = r.try_get(5)?;
    let attempts: i32 = r.try_get(8)?;
    Ok(ClaimedEvent {
        record: EventRecord {
            id: EventId(r.try_get(0)?),
            aggregate_type: r.try_get(2)?,
            aggregate_id: r.try_get(3)?,
            event_type: r.try_get(4)?,
            schema_version: u16::try_from(version).unwrap_or(u16::MAX),
            payload: r.try_get::<_, Json<Box<RawValue>>>(6)?.0,
            occurred_at: ms(r, 7)?,
        },
        seq: r.try_get(1)?,
        attempts: attempts.max(0) as u32,
        due_at: ms(r, 9)?,
        stored_at: ms(r, 10)?,
    })
}

impl OutboxStore for PgOutboxStore {
    type Claim = PgClaim;

    fn partitions(&self) -> usize {
        OUTBOX_PARTITIONS
    }

    fn claim(
        &self,
        max: usize,
        partitions: usize,
        _now: Millis,
    ) -> Result<(PgClaim, Vec<ClaimedEvent>)> {
        let conn = self.take_conn()?;
        let count = i32::try_from(partitions.max(1)).unwrap_or(i32::MAX);
        // The partitions first, then (a new statement, so a new snapshot that
        // sees the previous holder's commit) their events.
        let parts: Vec<i16> = self.rt.block_on(async {
            let params: [&(dyn tokio_postgres::types::ToSql + Sync); 1] = [&count];
            let begin = conn.client.batch_execute("BEGIN");
            let claim = conn.client.query(&conn.claim, &params);
            let (b, rows) = futures_util::future::join(begin, claim).await;
            b.map_err(io("outbox claim"))?;
            rows.map_err(io("outbox claim"))?
                .iter()
                .map(|r| r.try_get::<_, i16>(0).map_err(io("outbox claim")))
                .collect::<Result<Vec<i16>>>()
        })??;
        if parts.is_empty() {
            return Ok((
                PgClaim {
                    conn,
                    partitions: parts,
                    slot_of: HashMap::new(),
                    bundles: HashMap::new(),
                    row_of: HashMap::new(),
                },
                Vec::new(),
            ));
        }
        let max = max.max(1);
        let per_part = i32::try_from(max.div_ceil(parts.len())).unwrap_or(i32::MAX);
        let rows = self
            .rt
            .block_on(conn.client.query(&conn.pending, &[&parts, &per_part]))?
            .map_err(io("outbox pending"))?;
        let mut events = Vec::with_capacity(rows.len().min(max));
        let mut slot_of = HashMap::with_capacity(events.capacity());
        let mut bundles = HashMap::new();
        let mut row_of = HashMap::new();
        // Whole rows, until `max` events.
        for r in &rows {
            if events.len() >= max {
                break;
            }
            let e = io("outbox pending");
            let head = event_of(r).map_err(&e)?;
            let slot: i16 = r.try_get(11).map_err(&e)?;
            let tail: Option<Json<Box<RawValue>>> = r.try_get(12).map_err(&e)?;
            let row = head.record.id.0;
            slot_of.insert(row, slot);
            let Some(Json(tail)) = tail else {
                events.push(head);
                continue;
            };
            let more = bundle::parse(tail.get()).map_err(|err| {
                crate::Error::io_with(format!("outbox pending: row {row} has a bad tail"), err)
            })?;
            let b = Bundle {
                seq: head.seq,
                first_pos: r.try_get(13).map_err(&e)?,
                aggregate_type: head.record.aggregate_type.clone(),
                aggregate_id: head.record.aggregate_id.clone(),
                len: 1 + more.len(),
                tail,
                due_at: head.due_at,
                stored_at: head.stored_at,
            };
            let (due_at, stored_at, seq) = (head.due_at, head.stored_at, head.seq);
            events.push(head);
            for (i, t) in more.into_iter().enumerate() {
                row_of.insert(t.id, (row, i + 1));
                events.push(ClaimedEvent {
                    record: EventRecord {
                        id: EventId(t.id),
                        aggregate_type: b.aggregate_type.clone(),
                        aggregate_id: b.aggregate_id.clone(),
                        event_type: t.event_type,
                        schema_version: t.schema_version,
                        payload: t.payload,
                        occurred_at: Millis(t.occurred_at),
                    },
                    seq,
                    attempts: 0,
                    due_at,
                    stored_at,
                });
            }
            bundles.insert(row, b);
        }
        Ok((
            PgClaim {
                conn,
                partitions: parts,
                slot_of,
                bundles,
                row_of,
            },
            events,
        ))
    }

    fn complete(&self, claim: PgClaim, outcome: &BatchOutcome) -> Result<()> {
        let PgClaim {
            conn,
            slot_of,
            bundles,
            row_of,
            ..
        } = claim;
        let c = &conn.client;
        let foreign = |id: &EventId| {
            crate::Error::io(format!(
                "outbox complete: event {} is not one of the claim's",
                id.0
            ))
        };
        // The row an event is in, and its place there.
        let place = |id: &EventId| -> Option<(Uuid, usize)> {
            row_of
                .get(&id.0)
                .copied()
                .or_else(|| slot_of.contains_key(&id.0).then_some((id.0, 0)))
        };
        let mut published: Vec<Vec<Uuid>> = vec![Vec::new(); OUTBOX_SLOTS];
        let mut cut: HashMap<Uuid, RowOutcome<'_>> = HashMap::new();
        for id in &outcome.published {
            let (row, _) = place(id).ok_or_else(|| foreign(id))?;
            if bundles.contains_key(&row) {
                cut.entry(row).or_default().published += 1;
            } else {
                let slot = slot_of.get(&row).copied().unwrap_or_default();
                published
                    .get_mut(slot as usize)
                    .ok_or_else(|| foreign(id))?
                    .push(row);
            }
        }
        let mut retries: Vec<(Uuid, &str, Millis)> = Vec::new();
        let mut parked: Vec<(Uuid, &str)> = Vec::new();
        let failures = outcome
            .retries
            .iter()
            .map(|(id, err, at)| (id, err.as_str(), Some(*at)))
            .chain(
                outcome
                    .dead
                    .iter()
                    .map(|(id, err)| (id, err.as_str(), None)),
            );
        for (id, err, at) in failures {
            let (row, pos) = place(id).ok_or_else(|| foreign(id))?;
            if bundles.contains_key(&row) {
                cut.entry(row).or_default().failed = Some((pos, err, at));
            } else {
                match at {
                    Some(at) => retries.push((row, err, at)),
                    None => parked.push((row, err)),
                }
            }
        }
        // Multi-event rows: delivered whole, or cut where an event failed.
        let mut prefixes: Vec<(Uuid, Option<String>)> = Vec::new();
        let mut rest: Vec<RestRow> = Vec::new();
        for (row, o) in &cut {
            let Some(b) = bundles.get(row) else { continue };
            let p = o.published;
            if let Some((pos, ..)) = o.failed
                && pos != p
            {
                return Err(crate::Error::io(format!(
                    "outbox complete: row {row} failed at event {pos} after {p} delivered"
                )));
            }
            let slot = slot_of.get(row).copied().unwrap_or_default() as usize;
            if p >= b.len {
                published[slot].push(*row);
                continue;
            }
            let elements = bundle::elements(b.tail.get()).map_err(|e| {
                crate::Error::io_with(format!("outbox complete: row {row} has a bad tail"), e)
            })?;
            let io_err = |e: String| crate::Error::io(format!("outbox complete: row {row}: {e}"));
            // Where the rest of the row starts, once what went out and the
            // failed event are recorded.
            let after = match (p, o.failed) {
                // Nothing went out: the row stays, its head's failure on it
                // (a retry keeps the tail; a parked head drops it).
                (0, Some((_, err, Some(at)))) => {
                    retries.push((*row, err, at));
                    continue;
                }
                (0, Some((_, err, None))) => {
                    parked.push((*row, err));
                    1
                }
                (0, None) => continue,
                // Its first p events went out: the row is delivered as far
                // as that, the failed event goes on as a row of its own.
                (_, failed) => {
                    match self.delivered {
                        Delivered::Delete => published[slot].push(*row),
                        Delivered::Mark => prefixes.push((*row, bundle::join(&elements[..p - 1]))),
                    }
                    match failed {
                        None => p,
                        Some((_, err, Some(at))) => {
                            let r = b.rest(&elements, p, b.len).map_err(io_err)?;
                            rest.push(r.failed(err, Some(at)));
                            b.len
                        }
                        Some((_, err, None)) => {
                            let r = b.rest(&elements, p, p + 1).map_err(io_err)?;
                            rest.push(r.failed(err, None));
                            p + 1
                        }
                    }
                }
            };
            if after < b.len {
                rest.push(b.rest(&elements, after, b.len).map_err(io_err)?);
            }
        }
        let done: Vec<(usize, [&Param<'_>; 1])> = published
            .iter()
            .enumerate()
            .filter(|(_, ids)| !ids.is_empty())
            .map(|(slot, ids)| (slot, [ids as &Param<'_>]))
            .collect();
        let retry_ids: Vec<Uuid> = retries.iter().map(|r| r.0).collect();
        let retry_errs: Vec<&str> = retries.iter().map(|r| r.1).collect();
        let retry_at: Vec<SystemTime> = retries.iter().map(|r| at(r.2)).collect();
        let dead_ids: Vec<Uuid> = parked.iter().map(|d| d.0).collect();
        let dead_errs: Vec<&str> = parked.iter().map(|d| d.1).collect();
        let prefix_ids: Vec<Uuid> = prefixes.iter().map(|p| p.0).collect();
        let prefix_tails: Vec<Option<&str>> = prefixes.iter().map(|p| p.1.as_deref()).collect();
        let r = RestColumns::of(&rest);
        // The claim's slots, for the rare retries, parkings and cuts.
        let slots: Vec<i16> =
            if retry_ids.is_empty() && dead_ids.is_empty() && prefix_ids.is_empty() {
                Vec::new()
            } else {
                let distinct: std::collections::BTreeSet<i16> = slot_of.values().copied().collect();
                distinct.into_iter().collect()
            };
        let retried: [&Param<'_>; 4] = [&retry_ids, &retry_errs, &retry_at, &slots];
        let dead: [&Param<'_>; 3] = [&dead_ids, &dead_errs, &slots];
        let kept: [&Param<'_>; 3] = [&prefix_ids, &prefix_tails, &slots];
        let inserted: [&Param<'_>; 15] = [
            &r.ids,
            &r.seqs,
            &r.types,
            &r.aggs,
            &r.names,
            &r.versions,
            &r.payloads,
            &r.occurred,
            &r.tails,
            &r.created,
            &r.attempts,
            &r.next,
            &r.errors,
            &r.dead,
            &r.first,
        ];
        let result = self.rt.block_on(async {
            // Pipelined: one round trip; a failure aborts the transaction and
            // the COMMIT then rolls it back.
            let deletes = done
                .iter()
                .map(|(slot, params)| c.execute(&conn.delivered[*slot], params));
            let (d, (r, p), (k, i), m) = futures_util::future::join4(
                futures_util::future::join_all(deletes),
                futures_util::future::join(
                    execute_unless(retry_ids.is_empty(), c, &conn.retry, &retried),
                    execute_unless(dead_ids.is_empty(), c, &conn.dead, &dead),
                ),
                futures_util::future::join(
                    execute_unless(prefix_ids.is_empty(), c, &conn.keep_prefix, &kept),
                    execute_unless(rest.is_empty(), c, &conn.insert_rest, &inserted),
                ),
                c.batch_execute("COMMIT"),
            )
            .await;
            let e = io("outbox complete");
            for d in d {
                d.map_err(&e)?;
            }
            r.map_err(&e)?;
            p.map_err(&e)?;
            k.map_err(&e)?;
            i.map_err(&e)?;
            m.map_err(&e)
        })?;
        if result.is_ok() {
            self.idle
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(conn);
        }
        result
    }

    fn wait_for_events(&self, timeout: Duration) -> bool {
        let wake = self.wake.clone();
        self.rt
            .block_on(async move { tokio::time::timeout(timeout, wake.notified()).await.is_ok() })
            .unwrap_or(false)
    }
}

/// [`RestRow`]s as `INSERT_REST`'s arrays.
struct RestColumns<'a> {
    ids: Vec<Uuid>,
    seqs: Vec<i64>,
    types: Vec<&'a str>,
    aggs: Vec<&'a str>,
    names: Vec<&'a str>,
    versions: Vec<i32>,
    payloads: Vec<&'a str>,
    occurred: Vec<SystemTime>,
    tails: Vec<Option<&'a str>>,
    created: Vec<SystemTime>,
    attempts: Vec<i32>,
    next: Vec<SystemTime>,
    errors: Vec<Option<&'a str>>,
    dead: Vec<bool>,
    first: Vec<i16>,
}

impl<'a> RestColumns<'a> {
    fn of(rows: &'a [RestRow]) -> Self {
        Self {
            ids: rows.iter().map(|r| r.id).collect(),
            seqs: rows.iter().map(|r| r.seq).collect(),
            types: rows.iter().map(|r| r.aggregate_type.as_str()).collect(),
            aggs: rows.iter().map(|r| r.aggregate_id.as_str()).collect(),
            names: rows.iter().map(|r| r.event_type.as_str()).collect(),
            versions: rows.iter().map(|r| r.version).collect(),
            payloads: rows.iter().map(|r| r.payload.as_str()).collect(),
            occurred: rows.iter().map(|r| at(r.occurred_at)).collect(),
            tails: rows.iter().map(|r| r.tail.as_deref()).collect(),
            created: rows.iter().map(|r| at(r.created_at)).collect(),
            attempts: rows.iter().map(|r| r.attempts).collect(),
            next: rows.iter().map(|r| at(r.next_attempt_at)).collect(),
            errors: rows.iter().map(|r| r.last_error.as_deref()).collect(),
            dead: rows.iter().map(|r| r.dead).collect(),
            first: rows.iter().map(|r| r.first_pos).collect(),
        }
    }
}
