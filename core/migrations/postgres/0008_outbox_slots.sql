-- The outbox as a ring of slots that are truncated instead of vacuumed.
--
-- Why: every event row is inserted, deleted by the relay milliseconds later,
-- and its space is dead until vacuum reclaims it. Measured in a 60 s run of
-- `uoom simulate` at 5,000 orders/s (30,000 events/s): the outbox's heap grew
-- to 476 MB against 147 MB for orders, backends wrote 1.3 GB of evicted
-- dirty pages (mostly the outbox's), and one autovacuum of the outbox read
-- 585 MB and dirtied 545 MB. Those writes compete with the WAL flushes every
-- commit waits for.
--
-- Now outbox_events is partitioned by `slot`: which two-second window of a
-- ring of eight (16 s) the row was inserted in, by the inserting server's
-- clock. outbox_recycle() truncates a slot once it holds nothing but deleted
-- rows: its pages are dropped from memory and never written back or
-- vacuumed. Inserts only ever go to the current slot, so the slots being
-- truncated are ones no insert touches. (PgQ rotates its event tables for
-- the same reason.)
--
-- What does not change: the relay's partitions (`part`), its claim and
-- pending functions, per-aggregate order, `seq`, the notify trigger. A slot
-- with a pending event (the relay is behind, or an event waits for its
-- retry) is left alone until it drains; parked (dead) events are moved to the
-- current slot before their slot is truncated; a slot with events kept as
-- published (Delivered::Mark) is never truncated. Autovacuum still covers
-- any slot that is not truncated (with thresholds set for that, below).
--
-- The primary key becomes (id, slot): a partitioned table's unique keys must
-- hold its partition key. Event ids are UUIDv7 made by the engine.

DROP FUNCTION outbox_pending(smallint[], integer);
ALTER TABLE outbox_events RENAME TO outbox_events_0007;
ALTER INDEX outbox_events_pkey RENAME TO outbox_events_0007_pkey;
ALTER INDEX outbox_pending_part_idx RENAME TO outbox_events_0007_pending_idx;
ALTER INDEX outbox_dead_idx RENAME TO outbox_events_0007_dead_idx;
DROP TRIGGER outbox_events_notify ON outbox_events_0007;

-- The slot of an instant: its two-second window in a ring of eight.
CREATE FUNCTION outbox_slot_at(p_at timestamptz) RETURNS smallint
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT (floor(extract(epoch FROM p_at) / 2)::bigint % 8)::smallint
$$;

CREATE TABLE outbox_events (
    id               uuid        NOT NULL,
    seq              bigint      NOT NULL DEFAULT nextval('outbox_events_seq_seq'),
    aggregate_type   text        NOT NULL CHECK (aggregate_type <> ''),
    aggregate_id     text        NOT NULL CHECK (aggregate_id <> ''),
    event_type       text        NOT NULL CHECK (event_type <> ''),
    schema_version   integer     NOT NULL DEFAULT 1 CHECK (schema_version > 0),
    payload          json        NOT NULL,
    occurred_at      timestamptz NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    attempts         integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    last_error       text,
    published_at     timestamptz,
    dead             boolean     NOT NULL DEFAULT false,
    part             smallint    NOT NULL
        GENERATED ALWAYS AS ((hashtext(aggregate_type || ':' || aggregate_id) & 15)::smallint) STORED,
    -- Evaluated at the insert itself (clock_timestamp), not at the start of
    -- its transaction: a long transaction still writes to the current slot.
    slot             smallint    NOT NULL DEFAULT outbox_slot_at(clock_timestamp())
        CHECK (slot BETWEEN 0 AND 7),
    CHECK (NOT (dead AND published_at IS NOT NULL)),
    CONSTRAINT outbox_events_pkey PRIMARY KEY (id, slot)
) PARTITION BY LIST (slot);

-- Autovacuum only as the fallback: a slot is truncated within seconds of
-- its window, so vacuuming or analyzing it before then is wasted I/O, and a
-- vacuum in progress holds off the truncation (seen at 5,000 orders/s: the
-- default thresholds vacuumed one slot after another, 5 s apart). 200,000
-- rows is more than a slot takes in at 5,000 orders/s (~60,000 events), so
-- autovacuum steps in only for a slot that missed its truncation (the relay
-- down for longer than the ring, or events kept under Delivered::Mark).
DO $$
BEGIN
    FOR s IN 0..7 LOOP
        EXECUTE format(
            'CREATE TABLE outbox_events_s%s PARTITION OF outbox_events FOR VALUES IN (%s) WITH ('
            'autovacuum_vacuum_threshold = 200000, autovacuum_vacuum_scale_factor = 0, '
            'autovacuum_vacuum_insert_threshold = 200000, autovacuum_vacuum_insert_scale_factor = 0, '
            'autovacuum_analyze_threshold = 200000, autovacuum_analyze_scale_factor = 0)', s, s);
    END LOOP;
END;
$$;

-- The relay's scan (as in 0006).
CREATE INDEX outbox_pending_part_idx ON outbox_events (part, seq)
    WHERE published_at IS NULL AND NOT dead;
-- The DLQ view for operators (as in 0001).
CREATE INDEX outbox_dead_idx ON outbox_events (created_at) WHERE dead;
-- Events kept as published (Delivered::Mark): lets outbox_recycle see at
-- once that a slot still holds some. No row enters it when the relay deletes.
CREATE INDEX outbox_published_idx ON outbox_events (seq) WHERE published_at IS NOT NULL;

CREATE TRIGGER outbox_events_notify
    AFTER INSERT ON outbox_events
    FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();

INSERT INTO outbox_events (id, seq, aggregate_type, aggregate_id, event_type, schema_version,
                           payload, occurred_at, created_at, attempts, next_attempt_at,
                           last_error, published_at, dead)
SELECT id, seq, aggregate_type, aggregate_id, event_type, schema_version,
       payload, occurred_at, created_at, attempts, next_attempt_at,
       last_error, published_at, dead
FROM outbox_events_0007 ORDER BY seq;

ALTER SEQUENCE outbox_events_seq_seq OWNED BY outbox_events.seq;
DROP TABLE outbox_events_0007;

-- As in 0006, over the partitioned table.
CREATE FUNCTION outbox_pending(p_parts smallint[], p_per_part integer)
RETURNS SETOF outbox_events
LANGUAGE sql STABLE AS $$
    SELECT e.*
    FROM unnest(p_parts) AS p(part)
    CROSS JOIN LATERAL (
        SELECT * FROM outbox_events o
        WHERE o.part = p.part AND o.published_at IS NULL AND NOT o.dead
        ORDER BY o.seq
        LIMIT p_per_part
    ) e
    ORDER BY e.seq
$$;

COMMENT ON FUNCTION outbox_pending(smallint[], integer) IS
    'The oldest pending events of the given partitions, due or not, in seq order.';

-- Truncates the oldest slot that holds nothing but deleted rows, other than
-- the current slot and its two neighbours, and returns it (no row when there
-- was none to truncate). One slot per call, and one lock wait at most: the
-- caller's transaction ends right after, so no slot stays locked while
-- another is waited for. Callers call it every fraction of a slot's two
-- seconds (the relay's store: every 250 ms).
--
-- A slot with a pending event, or with an event kept as published, is left
-- as it is. Parked (dead) events move to the current slot first. A slot is
-- checked twice: before its lock (through the partial indexes, which this
-- first look also rids of the deleted rows' entries, so the second is
-- quick) and under an ACCESS EXCLUSIVE
-- lock, which waits for the transactions still using the slot and so sees
-- everything committed in it. The wait is bounded by lock_timeout (set
-- below); a slot it could not lock is tried on the next call. Relays'
-- statements queue behind that wait; inserts do not, since they only touch
-- the current slot.
CREATE FUNCTION outbox_recycle() RETURNS SETOF smallint
LANGUAGE plpgsql AS $$
DECLARE
    v_now  smallint := outbox_slot_at(clock_timestamp());
    v_slot smallint;
    v_rel  regclass;
BEGIN
    -- Oldest first: (v_now + 2) % 8 is the slot written longest ago.
    FOR v_slot IN
        SELECT ((v_now + k) % 8)::smallint FROM generate_series(2, 6) AS k ORDER BY k
    LOOP
        v_rel := format('outbox_events_s%s', v_slot)::regclass;
        -- Truncated already, and nothing written since.
        CONTINUE WHEN pg_relation_size(v_rel) = 0;
        CONTINUE WHEN EXISTS (SELECT 1 FROM outbox_events
                              WHERE slot = v_slot AND published_at IS NULL AND NOT dead)
                   OR EXISTS (SELECT 1 FROM outbox_events
                              WHERE slot = v_slot AND published_at IS NOT NULL);
        BEGIN
            EXECUTE format('LOCK TABLE %s IN ACCESS EXCLUSIVE MODE', v_rel);
            IF EXISTS (SELECT 1 FROM outbox_events
                       WHERE slot = v_slot AND published_at IS NULL AND NOT dead)
               OR EXISTS (SELECT 1 FROM outbox_events
                          WHERE slot = v_slot AND published_at IS NOT NULL) THEN
                -- Rolls the block back, which gives the lock up.
                RAISE EXCEPTION 'slot % is in use', v_slot USING ERRCODE = 'object_in_use';
            END IF;
            UPDATE outbox_events SET slot = v_now WHERE slot = v_slot AND dead;
            EXECUTE format('TRUNCATE %s', v_rel);
            RETURN NEXT v_slot;
        EXCEPTION WHEN lock_not_available OR object_in_use THEN
            NULL;
        END;
        RETURN;
    END LOOP;
END;
$$;

-- 50 ms: the longest a relay's next statement waits behind the lock.
-- Index scans for the checks: a slot's heap is mostly deleted rows.
ALTER FUNCTION outbox_recycle() SET lock_timeout = '50ms';
ALTER FUNCTION outbox_recycle() SET enable_seqscan = off;
ALTER FUNCTION outbox_recycle() SET jit = off;

COMMENT ON FUNCTION outbox_recycle() IS
    'Truncates the oldest outbox slot that holds only deleted rows (parked events move to the current slot); returns it.';
