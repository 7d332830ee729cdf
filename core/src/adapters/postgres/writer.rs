//! Group commit: writer tasks gather concurrent units of work into one
//! transaction.
//!
//! One transaction per order is bound by the commit's WAL flush; grouping
//! 50-100 orders per transaction multiplies the rate (pgbench figures:
//! docs/benchmarks.md). Each writer takes the units queued while the previous
//! commit ran (up to `group_max`, waiting at most `group_wait` for more), writes
//! them with one multi-row statement per table, commits once and answers every
//! caller. If the group fails (one stale order, say), each unit is retried in
//! its own transaction, so a caller only ever sees its own unit's outcome.

use super::bundle::{self, MAX_EVENTS_PER_ROW};
use super::rows::{ItemRow, at};
use crate::adapters::EventRecord;
use crate::events::DomainEvent;
use crate::ledger::lease::{Epoch, LeaseId};
use crate::{Error, Millis, Order, Result};
use serde::Serialize;
use serde_json::Value;
use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};
use tokio::sync::{Mutex, mpsc, oneshot};
use tokio_postgres::{Client, Statement};
use uuid::Uuid;

/// An owned unit of work: an order's new state (or none, for events that belong
/// to no order write), its events, an idempotency record — already in the
/// shape of their rows, JSON columns as text, encoded by the caller's thread
/// so the writer task only batches and sends.
pub(crate) struct Unit {
    pub order: Option<OrderRow>,
    /// Outbox rows: the unit's events, one row per aggregate ([`bundle`]).
    pub events: Vec<EventRow>,
    pub idempotency: Option<(String, Value)>,
    /// The capacity a confirmed order took, and its fenced lease commit.
    pub capacity: Option<CapacityRow>,
}

/// What a confirmed order took: written to its `orders` row
/// (`channel_id`, `slot_start`, `units`), with the fenced commit of the
/// lease it was held on run in the same transaction, if any.
pub(crate) struct CapacityRow {
    pub order: Uuid,
    pub channel: String,
    pub slot_start: SystemTime,
    pub units: i32,
    pub lease: Option<(LeaseId, Epoch, u32)>,
}

impl Unit {
    /// A unit whose events are bundled into outbox rows. Its event ids must
    /// be distinct and its event types not empty: a bundled event has no
    /// column of its own for PostgreSQL's constraints to check.
    pub(crate) fn new(
        order: Option<OrderRow>,
        events: Vec<EventRow>,
        idempotency: Option<(String, Value)>,
    ) -> Result<Self> {
        let mut ids = HashSet::with_capacity(events.len());
        for e in &events {
            if !ids.insert(e.id) {
                return Err(Error::invalid(
                    "events",
                    "duplicate_event_id",
                    format!("event {} appears twice in one unit of work", e.id),
                ));
            }
            if e.event_type.is_empty() {
                return Err(Error::invalid(
                    "events",
                    "empty_event_type",
                    format!("event {} has no type", e.id),
                ));
            }
        }
        Ok(Self {
            order,
            events: bundle(events),
            idempotency,
            capacity: None,
        })
    }

    /// The unit with the capacity its confirmed order took.
    pub(crate) fn with_capacity(mut self, capacity: Option<CapacityRow>) -> Self {
        self.capacity = capacity;
        self
    }

    /// The events it holds (not its outbox rows).
    fn event_count(&self) -> usize {
        self.events.iter().map(|e| e.count).sum()
    }
}

/// An `orders` row.
pub(crate) struct OrderRow {
    id: Uuid,
    customer: Uuid,
    restaurant: Option<Uuid>,
    items: String,
    street: String,
    city: String,
    postal: String,
    lat: f64,
    lon: f64,
    total: i64,
    currency: String,
    status: &'static str,
    hints: String,
    created: SystemTime,
    updated: SystemTime,
    placement: Option<String>,
}

fn json<T: Serialize + ?Sized>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| Error::io_with("to JSON", e))
}

impl OrderRow {
    pub(crate) fn of(o: &Order) -> Result<Self> {
        Ok(Self {
            id: o.id.0,
            customer: o.customer_id.0,
            restaurant: o.restaurant_id.map(|r| r.0),
            items: json(&ItemRow::of(o))?,
            street: o.delivery.street.clone(),
            city: o.delivery.city.clone(),
            postal: o.delivery.postal_code.clone(),
            lat: o.delivery.location.lat,
            lon: o.delivery.location.lon,
            total: o.total.minor(),
            currency: o.total.currency().as_str().to_owned(),
            status: o.status.as_str(),
            hints: json(&o.hints)?,
            created: at(o.created_at),
            updated: at(o.updated_at),
            placement: o.placement.as_ref().map(json).transpose()?,
        })
    }
}

/// An `outbox_events` row: one event, or (after [`bundle`]) an aggregate's
/// events of one unit, the first in the row's columns, the rest in `tail`.
pub(crate) struct EventRow {
    id: Uuid,
    aggregate_type: Cow<'static, str>,
    aggregate_id: String,
    event_type: Cow<'static, str>,
    version: i32,
    payload: String,
    occurred_at: Millis,
    /// The further events, a JSON array (`super::bundle`).
    tail: Option<String>,
    /// Events in the row.
    count: usize,
}

impl EventRow {
    pub(crate) fn of_record(e: &EventRecord) -> Result<Self> {
        Ok(Self {
            id: e.id.0,
            aggregate_type: Cow::Owned(e.aggregate_type.clone()),
            aggregate_id: e.aggregate_id.clone(),
            event_type: Cow::Owned(e.event_type.clone()),
            version: i32::from(e.schema_version),
            payload: e.payload.get().to_owned(),
            occurred_at: e.occurred_at,
            tail: None,
            count: 1,
        })
    }

    /// Straight from the engine's typed event: its payload serialized once,
    /// without a JSON tree in between.
    pub(crate) fn of_event(e: &DomainEvent) -> Result<Self> {
        Ok(Self {
            id: e.id.0,
            aggregate_type: Cow::Borrowed(e.aggregate.kind()),
            aggregate_id: e.key(),
            event_type: Cow::Borrowed(e.event_type().as_str()),
            version: i32::from(e.schema_version),
            payload: json(&e.payload)?,
            occurred_at: e.at,
            tail: None,
            count: 1,
        })
    }

    fn same_aggregate(&self, other: &EventRow) -> bool {
        self.aggregate_id == other.aggregate_id && self.aggregate_type == other.aggregate_type
    }
}

/// One outbox row per aggregate (at most [`MAX_EVENTS_PER_ROW`] events a
/// row): each aggregate's first event heads its row, its later ones follow
/// in the row's tail in the order given. Rows come in the order of their
/// first events.
pub(crate) fn bundle(events: Vec<EventRow>) -> Vec<EventRow> {
    if events.len() < 2 {
        return events;
    }
    // Heads and the tails being built beside them.
    let mut rows: Vec<(EventRow, String)> = Vec::new();
    for e in events {
        match rows
            .iter_mut()
            .rev()
            .find(|(head, _)| head.same_aggregate(&e) && head.count < MAX_EVENTS_PER_ROW)
        {
            Some((head, tail)) => {
                bundle::push_element(
                    tail,
                    e.id,
                    &e.event_type,
                    e.version,
                    e.occurred_at,
                    &e.payload,
                );
                head.count += 1;
            }
            None => rows.push((e, String::new())),
        }
    }
    rows.into_iter()
        .map(|(mut head, tail)| {
            head.tail = bundle::finish(tail);
            head
        })
        .collect()
}

pub(crate) struct Job {
    pub unit: Unit,
    pub reply: oneshot::Sender<Result<()>>,
}

pub(crate) type Queue = Arc<Mutex<mpsc::Receiver<Job>>>;

/// The writer's statements, prepared once per connection.
pub(crate) struct Statements {
    upsert: Statement,
    events: Statement,
    keys: Statement,
    capacity: Statement,
}

pub(crate) async fn prepare(client: &Client) -> Result<Statements> {
    Ok(Statements {
        upsert: client
            .prepare(UPSERT_ORDERS)
            .await
            .map_err(|e| db_err("prepare", e))?,
        events: client
            .prepare(INSERT_EVENTS)
            .await
            .map_err(|e| db_err("prepare", e))?,
        keys: client
            .prepare(INSERT_KEYS)
            .await
            .map_err(|e| db_err("prepare", e))?,
        capacity: client
            .prepare(SET_CAPACITY_COLUMNS)
            .await
            .map_err(|e| db_err("prepare", e))?,
    })
}

/// Gathers jobs from the shared queue and commits them, until the queue closes.
///
/// Statements are prepared at the first group, not at connect time, so a
/// store can connect before [`super::PgStore::migrate`] creates the tables.
pub(crate) async fn run_writer(
    client: Client,
    queue: Queue,
    group_max: usize,
    group_wait: Duration,
    written: Arc<AtomicU64>,
) {
    let mut statements: Option<Statements> = None;
    loop {
        let jobs = {
            let mut rx = queue.lock().await;
            let Some(first) = rx.recv().await else { return };
            let mut jobs = vec![first];
            let deadline = tokio::time::Instant::now() + group_wait;
            while jobs.len() < group_max {
                match rx.try_recv() {
                    Ok(job) => jobs.push(job),
                    Err(mpsc::error::TryRecvError::Disconnected) => break,
                    Err(mpsc::error::TryRecvError::Empty) => {
                        if group_wait.is_zero() {
                            break;
                        }
                        match tokio::time::timeout_at(deadline, rx.recv()).await {
                            Ok(Some(job)) => jobs.push(job),
                            _ => break,
                        }
                    }
                }
            }
            jobs
        };
        if statements.is_none() {
            match prepare(&client).await {
                Ok(st) => statements = Some(st),
                Err(e) => {
                    for job in jobs {
                        let _ = job.reply.send(Err(e.clone()));
                    }
                    continue;
                }
            }
        }
        if let Some(st) = &statements {
            commit_group(&client, st, jobs, &written).await;
        }
    }
}

/// Counts the events of units that committed.
fn count(written: &AtomicU64, unit: &Unit, result: &Result<()>) {
    if result.is_ok() {
        written.fetch_add(unit.event_count() as u64, Ordering::Relaxed);
    }
}

async fn commit_group(client: &Client, st: &Statements, jobs: Vec<Job>, written: &AtomicU64) {
    let units: Vec<&Unit> = jobs.iter().map(|j| &j.unit).collect();
    let result = if units.len() == 1 {
        write_tx(client, st, &units).await
    } else {
        match write_tx(client, st, &units).await {
            Ok(()) => Ok(()),
            Err(e) => {
                tracing::debug!(error = %crate::error::Chain::of(&e), units = units.len(), "group commit failed; retrying unit by unit");
                for job in jobs {
                    let r = write_tx(client, st, &[&job.unit]).await;
                    count(written, &job.unit, &r);
                    let _ = job.reply.send(r);
                }
                return;
            }
        }
    };
    for job in jobs {
        count(written, &job.unit, &result);
        let _ = job.reply.send(result.clone());
    }
}

fn db_err(context: &str, e: tokio_postgres::Error) -> Error {
    if let Some(db) = e.as_db_error()
        && db.message().starts_with("stale order write")
    {
        return Error::conflict(format!(
            "{}: the stored order changed later than this write",
            db.message()
        ));
    }
    super::pg_error(context, e)
}

const UPSERT_ORDERS: &str = "WITH up AS (INSERT INTO orders (id, customer_id, restaurant_id, items, \
     delivery_street, delivery_city, delivery_postal_code, delivery_latitude, delivery_longitude, \
     total_minor, currency, status, hints, created_at, updated_at, placement) \
     SELECT u.id, u.cu, u.re, u.it::jsonb, u.st, u.ci, u.po, u.la, u.lo, u.tm, u.cy, u.ss, \
            u.hi::jsonb, u.cr, u.up, u.pl::jsonb \
     FROM UNNEST($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[], \
                 $7::text[], $8::float8[], $9::float8[], $10::int8[], $11::text[], $12::text[], \
                 $13::text[], $14::timestamptz[], $15::timestamptz[], $16::text[]) \
          AS u(id, cu, re, it, st, ci, po, la, lo, tm, cy, ss, hi, cr, up, pl) \
     ON CONFLICT (id) DO UPDATE SET \
        restaurant_id = EXCLUDED.restaurant_id, items = EXCLUDED.items, \
        delivery_street = EXCLUDED.delivery_street, delivery_city = EXCLUDED.delivery_city, \
        delivery_postal_code = EXCLUDED.delivery_postal_code, \
        delivery_latitude = EXCLUDED.delivery_latitude, \
        delivery_longitude = EXCLUDED.delivery_longitude, total_minor = EXCLUDED.total_minor, \
        currency = EXCLUDED.currency, status = EXCLUDED.status, hints = EXCLUDED.hints, \
        updated_at = EXCLUDED.updated_at, placement = EXCLUDED.placement, \
        version = orders.version + 1 \
     WHERE orders.updated_at <= EXCLUDED.updated_at \
     RETURNING 1) \
     SELECT uoom_expect_rows((SELECT count(*) FROM up), $17)";

const INSERT_EVENTS: &str = "INSERT INTO outbox_events (id, aggregate_type, aggregate_id, \
     event_type, schema_version, payload, occurred_at, tail) \
     SELECT u.id, u.ty, u.ag, u.ev, u.sv, u.pa::json, u.oc, u.tl::json \
     FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::text[], $5::int4[], $6::text[], \
                 $7::timestamptz[], $8::text[]) \
          WITH ORDINALITY AS u(id, ty, ag, ev, sv, pa, oc, tl, n) \
     ORDER BY u.n";

/// The capacity columns of confirmed orders (their rows written just before,
/// in the same transaction).
const SET_CAPACITY_COLUMNS: &str = "UPDATE orders SET channel_id = u.ch, slot_start = u.ss, \
     units = u.un \
     FROM UNNEST($1::uuid[], $2::text[], $3::timestamptz[], $4::int4[]) AS u(id, ch, ss, un) \
     WHERE orders.id = u.id";

/// A key already present keeps its outcome unless the new one is of the same
/// order (its final outcome after its pending one): another order's write
/// under the same key never takes it over.
const INSERT_KEYS: &str = "INSERT INTO idempotency_keys (key, outcome) \
     SELECT * FROM UNNEST($1::text[], $2::jsonb[]) \
     ON CONFLICT (key) DO UPDATE SET outcome = EXCLUDED.outcome \
     WHERE idempotency_keys.outcome->>'order_id' = EXCLUDED.outcome->>'order_id'";

/// Writes `units` in one transaction: orders first (their row locks order
/// `seq` within an aggregate), then the events, then the idempotency records.
/// All statements go out pipelined, BEGIN to COMMIT, in one round trip; a
/// failing statement aborts the transaction, so the COMMIT rolls it back.
pub(crate) async fn write_tx(client: &Client, st: &Statements, units: &[&Unit]) -> Result<()> {
    let orders: Vec<&OrderRow> = units.iter().filter_map(|u| u.order.as_ref()).collect();
    let distinct: HashSet<Uuid> = orders.iter().map(|o| o.id).collect();
    if distinct.len() != orders.len() {
        return Err(Error::conflict(
            "the same order twice in one group; written one by one",
        ));
    }
    let o = OrderColumns::of(&orders);
    let events: Vec<&EventRow> = units.iter().flat_map(|u| u.events.iter()).collect();
    let e = EventColumns::of(&events);
    let keys: Vec<(&str, &Value)> = units
        .iter()
        .filter_map(|u| u.idempotency.as_ref().map(|(k, v)| (k.as_str(), v)))
        .collect();
    let key_names: Vec<&str> = keys.iter().map(|k| k.0).collect();
    let key_values: Vec<&Value> = keys.iter().map(|k| k.1).collect();
    let expected = orders.len() as i64;
    let placed: Vec<&CapacityRow> = units.iter().filter_map(|u| u.capacity.as_ref()).collect();
    let fenced = fenced_of(&placed);

    let begin = client.batch_execute("BEGIN");
    // A refused commit raises: the transaction is aborted, nothing of the
    // group is written, and the group is then written unit by unit.
    let commits = futures_util::future::join_all(
        fenced
            .iter()
            .map(|&(l, e, n)| super::lease::commit_fenced_on(client, l, e, n)),
    );
    let upsert = async {
        if orders.is_empty() {
            return Ok(());
        }
        client
            .query(
                &st.upsert,
                &[
                    &o.ids,
                    &o.customers,
                    &o.restaurants,
                    &o.items,
                    &o.streets,
                    &o.cities,
                    &o.postals,
                    &o.lats,
                    &o.lons,
                    &o.totals,
                    &o.currencies,
                    &o.statuses,
                    &o.hints,
                    &o.created,
                    &o.updated,
                    &o.placements,
                    &expected,
                ],
            )
            .await
            .map(|_| ())
            .map_err(|e| db_err("order write", e))
    };
    let insert = async {
        if events.is_empty() {
            return Ok(());
        }
        client
            .execute(
                &st.events,
                &[
                    &e.ids,
                    &e.types,
                    &e.aggs,
                    &e.names,
                    &e.versions,
                    &e.payloads,
                    &e.at,
                    &e.tails,
                ],
            )
            .await
            .map(|_| ())
            .map_err(|e| db_err("outbox write", e))
    };
    let idem = async {
        if keys.is_empty() {
            return Ok(());
        }
        client
            .execute(&st.keys, &[&key_names, &key_values])
            .await
            .map(|_| ())
            .map_err(|e| db_err("idempotency write", e))
    };
    let capacity = async {
        if placed.is_empty() {
            return Ok(());
        }
        let ids: Vec<Uuid> = placed.iter().map(|c| c.order).collect();
        let channels: Vec<&str> = placed.iter().map(|c| c.channel.as_str()).collect();
        let starts: Vec<SystemTime> = placed.iter().map(|c| c.slot_start).collect();
        let n: Vec<i32> = placed.iter().map(|c| c.units).collect();
        client
            .execute(&st.capacity, &[&ids, &channels, &starts, &n])
            .await
            .map(|_| ())
            .map_err(|e| db_err("order capacity write", e))
    };
    let commit = client.batch_execute("COMMIT");
    let head = futures_util::future::join(begin, commits);
    let tail = futures_util::future::join(idem, commit);
    let ((b, fenced_answers), u, cap, i, (k, c)) =
        futures_util::future::join5(head, upsert, capacity, insert, tail).await;
    b.map_err(|e| db_err("begin", e))?;
    for (&(l, e, n), answer) in fenced.iter().zip(fenced_answers) {
        match answer {
            Ok(()) => {}
            Err(err) if super::lease::is_fence_refusal(&err) => {
                return Err(super::lease::refusal_on(client, l, e, n).await.into());
            }
            Err(err) => return Err(db_err("fenced lease commit", err)),
        }
    }
    u?;
    cap?;
    i?;
    k?;
    c.map_err(|e| db_err("commit", e))
}

/// The fenced lease commits of `placed`, accounts in key order (as the
/// authority locks them), to run right after `BEGIN`, ahead of the rows.
fn fenced_of(placed: &[&CapacityRow]) -> Vec<(LeaseId, Epoch, u32)> {
    let mut fenced: Vec<(&str, SystemTime, LeaseId, Epoch, u32)> = placed
        .iter()
        .filter_map(|c| {
            c.lease
                .map(|(l, e, n)| (c.channel.as_str(), c.slot_start, l, e, n))
        })
        .collect();
    fenced.sort_by(|a, b| (a.0, a.1, a.2).cmp(&(b.0, b.1, b.2)));
    fenced
        .into_iter()
        .map(|(_, _, l, e, n)| (l, e, n))
        .collect()
}

struct OrderColumns<'a> {
    ids: Vec<Uuid>,
    customers: Vec<Uuid>,
    restaurants: Vec<Option<Uuid>>,
    items: Vec<&'a str>,
    streets: Vec<&'a str>,
    cities: Vec<&'a str>,
    postals: Vec<&'a str>,
    lats: Vec<f64>,
    lons: Vec<f64>,
    totals: Vec<i64>,
    currencies: Vec<&'a str>,
    statuses: Vec<&'static str>,
    hints: Vec<&'a str>,
    created: Vec<SystemTime>,
    updated: Vec<SystemTime>,
    placements: Vec<Option<&'a str>>,
}

impl<'a> OrderColumns<'a> {
    fn of(orders: &[&'a OrderRow]) -> Self {
        Self {
            ids: orders.iter().map(|o| o.id).collect(),
            customers: orders.iter().map(|o| o.customer).collect(),
            restaurants: orders.iter().map(|o| o.restaurant).collect(),
            items: orders.iter().map(|o| o.items.as_str()).collect(),
            streets: orders.iter().map(|o| o.street.as_str()).collect(),
            cities: orders.iter().map(|o| o.city.as_str()).collect(),
            postals: orders.iter().map(|o| o.postal.as_str()).collect(),
            lats: orders.iter().map(|o| o.lat).collect(),
            lons: orders.iter().map(|o| o.lon).collect(),
            totals: orders.iter().map(|o| o.total).collect(),
            currencies: orders.iter().map(|o| o.currency.as_str()).collect(),
            statuses: orders.iter().map(|o| o.status).collect(),
            hints: orders.iter().map(|o| o.hints.as_str()).collect(),
            created: orders.iter().map(|o| o.created).collect(),
            updated: orders.iter().map(|o| o.updated).collect(),
            placements: orders.iter().map(|o| o.placement.as_deref()).collect(),
        }
    }
}

struct EventColumns<'a> {
    ids: Vec<Uuid>,
    types: Vec<&'a str>,
    aggs: Vec<&'a str>,
    names: Vec<&'a str>,
    versions: Vec<i32>,
    payloads: Vec<&'a str>,
    at: Vec<SystemTime>,
    tails: Vec<Option<&'a str>>,
}

impl<'a> EventColumns<'a> {
    fn of(events: &[&'a EventRow]) -> Self {
        Self {
            ids: events.iter().map(|e| e.id).collect(),
            types: events.iter().map(|e| e.aggregate_type.as_ref()).collect(),
            aggs: events.iter().map(|e| e.aggregate_id.as_str()).collect(),
            names: events.iter().map(|e| e.event_type.as_ref()).collect(),
            versions: events.iter().map(|e| e.version).collect(),
            payloads: events.iter().map(|e| e.payload.as_str()).collect(),
            at: events.iter().map(|e| at(e.occurred_at)).collect(),
            tails: events.iter().map(|e| e.tail.as_deref()).collect(),
        }
    }
}
