-- What the Rust adapters need on top of 0001/0002.
--
-- 1. orders.hints: the order's routing hints (vehicle, deadline, priority), so
--    the write model gives back exactly the order it was handed.
-- 2. idempotency_keys: the outcome stored under a caller's idempotency key, in
--    the same transaction as the order write.
-- 3. outbox_claim_at: outbox_claim with the relay's notion of "now" passed in
--    instead of clock_timestamp(), so retry due times and leases follow the
--    relay's injected clock (a manual clock in tests). outbox_claim stays for
--    relays that trust the database clock.
-- 4. Both claim functions plan their query afresh on every call
--    (plan_cache_mode = force_custom_plan). PL/pgSQL caches a generic plan
--    after five calls; one made while the table was small filters the
--    per-aggregate anti-joins instead of using them as index conditions, which
--    turned a 100 ms claim into 15-60 s once 25,000 events were pending.

ALTER TABLE orders ADD COLUMN hints jsonb NOT NULL DEFAULT '{}'::jsonb
    CHECK (jsonb_typeof(hints) = 'object');

CREATE TABLE idempotency_keys (
    key         text        PRIMARY KEY CHECK (key <> ''),
    outcome     jsonb       NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- The write model's stale-write check inside its pipelined transaction: the
-- order upsert counts the rows it changed and this raises (serialization
-- failure) when one was stale, so the rest of the transaction rolls back
-- without a round trip to the client.
CREATE FUNCTION uoom_expect_rows(actual bigint, expected bigint) RETURNS bigint
LANGUAGE plpgsql AS $$
BEGIN
    IF actual IS DISTINCT FROM expected THEN
        RAISE EXCEPTION 'stale order write: % of % orders changed', actual, expected
            USING ERRCODE = 'serialization_failure';
    END IF;
    RETURN actual;
END;
$$;

CREATE FUNCTION outbox_claim_at(p_relay text, p_batch integer, p_lease interval, p_now timestamptz)
RETURNS SETOF outbox_events
LANGUAGE plpgsql AS $$
DECLARE
    v_now timestamptz := p_now;
BEGIN
    IF p_batch IS NULL OR p_batch <= 0 THEN
        RAISE EXCEPTION 'outbox_claim_at: batch must be positive, got %', p_batch
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_lease IS NULL OR p_lease <= interval '0' THEN
        RAISE EXCEPTION 'outbox_claim_at: lease must be positive, got %', p_lease
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_now IS NULL THEN
        RAISE EXCEPTION 'outbox_claim_at: now must be given'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    RETURN QUERY
    WITH heads AS (
        SELECT h.id, h.aggregate_type, h.aggregate_id, h.seq
        FROM outbox_events h
        WHERE h.published_at IS NULL AND NOT h.dead
          AND h.next_attempt_at <= v_now
          AND (h.claimed_until IS NULL OR h.claimed_until < v_now)
          AND NOT EXISTS (
              SELECT 1 FROM outbox_events p
              WHERE p.aggregate_type = h.aggregate_type
                AND p.aggregate_id = h.aggregate_id
                AND p.seq < h.seq
                AND p.published_at IS NULL AND NOT p.dead)
        ORDER BY h.seq
        LIMIT p_batch
        FOR UPDATE SKIP LOCKED
    ),
    batch AS (
        SELECT e.id
        FROM heads h
        JOIN outbox_events e
          ON e.aggregate_type = h.aggregate_type
         AND e.aggregate_id = h.aggregate_id
         AND e.seq >= h.seq
        WHERE e.published_at IS NULL AND NOT e.dead
          AND e.next_attempt_at <= v_now
          AND (e.claimed_until IS NULL OR e.claimed_until < v_now)
          AND NOT EXISTS (
              SELECT 1 FROM outbox_events b
              WHERE b.aggregate_type = e.aggregate_type
                AND b.aggregate_id = e.aggregate_id
                AND b.seq > h.seq AND b.seq < e.seq
                AND b.published_at IS NULL AND NOT b.dead
                AND (b.next_attempt_at > v_now
                     OR (b.claimed_until IS NOT NULL AND b.claimed_until >= v_now)))
        ORDER BY e.seq
        LIMIT p_batch
    ),
    leased AS (
        UPDATE outbox_events o
        SET claimed_by = p_relay,
            claimed_until = v_now + p_lease
        FROM batch
        WHERE o.id = batch.id
        RETURNING o.*
    )
    SELECT * FROM leased ORDER BY leased.seq;
END;
$$;

ALTER FUNCTION outbox_claim_at(text, integer, interval, timestamptz)
    SET plan_cache_mode = force_custom_plan;
ALTER FUNCTION outbox_claim(text, integer, interval)
    SET plan_cache_mode = force_custom_plan;

COMMENT ON FUNCTION outbox_claim_at(text, integer, interval, timestamptz) IS
    'outbox_claim with the relay''s clock: leases up to p_batch pending events due at p_now.';
