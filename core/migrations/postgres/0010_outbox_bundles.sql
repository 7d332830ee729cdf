-- One outbox row per aggregate and unit of work, not per event.
--
-- A routed order commits six events: four of its own and two of its
-- channel's. At 5,000 orders/s that was 30,000 outbox rows inserted, read by
-- the relay and deleted every second; per row, PostgreSQL routes it to its
-- slot, computes `part`, fills two index entries, writes a WAL record for
-- each, and the relay reads and deletes it. In a 60 s run at 5,000 orders/s
-- (pg_stat_statements, docs/benchmarks.md) the outbox's insert took 22.6 s
-- and the relay's read 10.4 s of PostgreSQL's time, against 12.5 s for the
-- orders themselves.
--
-- Now a row holds a unit's events of one aggregate, in order: its own
-- columns the first event (the head), `tail` the others as a JSON array of
-- {"id", "type", "schemaVersion", "occurredAt" (Unix milliseconds),
-- "payload"}. Two rows per routed order instead of six. Single events keep
-- `tail` NULL, so rows written before this migration read as they did.
--
-- What does not change: per-aggregate order (a row's events follow its
-- `seq`, in array order), the relay's claim and slots, one Kafka message per
-- event. A row is the unit the relay deletes; when one of its events fails,
-- the relay keeps the delivered ones out of the retry: the undelivered rest
-- becomes a row of its own with the same `seq`, and a parked event a dead row
-- of its own (its `tail` NULL), so the DLQ view still lists one event a row.
ALTER TABLE outbox_events ADD COLUMN tail json
    CHECK (json_typeof(tail) = 'array');
-- Where the row's head stands among the events written under its `seq`: 0,
-- but for the rest of a cut row, which keeps the seq and starts further on.
-- (seq, first_pos + place in the row) orders every event as it was written.
ALTER TABLE outbox_events ADD COLUMN first_pos smallint NOT NULL DEFAULT 0
    CHECK (first_pos >= 0);

-- outbox_pending (0008) needs no change: it returns `outbox_events`' rows,
-- and a SQL function's `e.*` is expanded when it runs, so `tail` and
-- `first_pos` come with them.

-- Every event, one line each, for operators and for readers that go event
-- by event, in (seq, pos) order: a row's head and its tail. A tail event
-- shares its row's delivery state; its attempts count from 0 (a failed tail
-- event moves to a row of its own, which counts them).
CREATE VIEW outbox_event_list AS
SELECT o.id, o.seq, o.first_pos::integer AS pos, o.aggregate_type, o.aggregate_id, o.event_type,
       o.schema_version, o.payload, o.occurred_at, o.attempts, o.next_attempt_at,
       o.last_error, o.published_at, o.dead, o.created_at, o.slot
FROM outbox_events o
UNION ALL
SELECT (t.e ->> 'id')::uuid, o.seq, o.first_pos + t.n::integer, o.aggregate_type, o.aggregate_id,
       t.e ->> 'type', (t.e ->> 'schemaVersion')::integer, t.e -> 'payload',
       timestamptz 'epoch' + (t.e ->> 'occurredAt')::bigint * interval '1 millisecond',
       0, o.next_attempt_at, NULL, o.published_at, o.dead, o.created_at, o.slot
FROM outbox_events o
CROSS JOIN LATERAL json_array_elements(o.tail) WITH ORDINALITY AS t(e, n)
WHERE o.tail IS NOT NULL;

COMMENT ON VIEW outbox_event_list IS
    'One line per outbox event (each row''s head and its tail events); (seq, pos) is the order of delivery.';
