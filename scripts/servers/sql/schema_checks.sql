-- Checks of core/migrations/postgres against a real server, run by
-- scripts/servers/test-postgres.sh in a fresh database after the migrations.
-- Each DO block fails the run (ON_ERROR_STOP) when an ASSERT does not hold.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;

-- A helper to write one event; seq follows call order.
CREATE TEMP TABLE _ids (n int PRIMARY KEY, id uuid NOT NULL);
CREATE FUNCTION pg_temp.ev(p_agg text, p_type text DEFAULT 'OrderCreated') RETURNS uuid
LANGUAGE sql AS $$
    INSERT INTO outbox_events (id, aggregate_type, aggregate_id, event_type, payload, occurred_at)
    VALUES (gen_random_uuid(), 'order', p_agg, p_type, '{}'::jsonb, now())
    RETURNING id
$$;

\echo check: orders accepts a valid row and rejects a bad status, a bad currency and negative money
DO $$
DECLARE ok boolean;
BEGIN
    INSERT INTO orders (id, customer_id, restaurant_id, items, delivery_street, delivery_city,
                        delivery_postal_code, delivery_latitude, delivery_longitude,
                        total_minor, currency, status)
    VALUES ('11111111-1111-1111-1111-111111111111', gen_random_uuid(), NULL,
            '[{"itemId":"item1","name":"Pizza","quantity":1,"unitPrice":1599}]',
            '123 Main St', 'New York', '10001', 40.7128, -74.0060, 1599, 'USD', 'PENDING');
    ASSERT (SELECT version FROM orders WHERE id = '11111111-1111-1111-1111-111111111111') = 0;
    BEGIN
        UPDATE orders SET status = 'TELEPORTED' WHERE id = '11111111-1111-1111-1111-111111111111';
        ok := false;
    EXCEPTION WHEN check_violation THEN ok := true;
    END;
    ASSERT ok, 'status outside the lifecycle was accepted';
    BEGIN
        UPDATE orders SET currency = 'usd' WHERE id = '11111111-1111-1111-1111-111111111111';
        ok := false;
    EXCEPTION WHEN check_violation THEN ok := true;
    END;
    ASSERT ok, 'lower-case currency was accepted';
    BEGIN
        UPDATE orders SET total_minor = -1 WHERE id = '11111111-1111-1111-1111-111111111111';
        ok := false;
    EXCEPTION WHEN check_violation THEN ok := true;
    END;
    ASSERT ok, 'negative total was accepted';
    -- Optimistic concurrency: a stale version updates nothing.
    UPDATE orders SET status = 'VALIDATED', version = version + 1
    WHERE id = '11111111-1111-1111-1111-111111111111' AND version = 0;
    UPDATE orders SET status = 'ROUTED', version = version + 1
    WHERE id = '11111111-1111-1111-1111-111111111111' AND version = 0;
    ASSERT (SELECT status FROM orders WHERE id = '11111111-1111-1111-1111-111111111111') = 'VALIDATED';
    -- saga_state follows its order.
    INSERT INTO saga_state (order_id, step, channel_id) VALUES ('11111111-1111-1111-1111-111111111111', 'RESERVED', 'ch-1');
    DELETE FROM orders WHERE id = '11111111-1111-1111-1111-111111111111';
    ASSERT NOT EXISTS (SELECT 1 FROM saga_state), 'saga_state outlived its order';
END $$;

\echo check: the claim queries use the partial pending indexes
DO $$
DECLARE plan text := '';
DECLARE line text;
BEGIN
    -- A little data so that the planner has statistics; seqscan off shows index usability.
    PERFORM pg_temp.ev('idx-' || g) FROM generate_series(1, 200) g;
    ANALYZE outbox_events;
    SET LOCAL enable_seqscan = off;
    FOR line IN EXPLAIN SELECT id FROM outbox_events
        WHERE published_at IS NULL AND NOT dead ORDER BY seq LIMIT 10 FOR UPDATE SKIP LOCKED
    LOOP plan := plan || line || E'\n'; END LOOP;
    ASSERT plan LIKE '%outbox_pending_seq_idx%', 'pending scan does not use outbox_pending_seq_idx: ' || plan;
    plan := '';
    FOR line IN EXPLAIN SELECT 1 FROM outbox_events
        WHERE aggregate_type = 'order' AND aggregate_id = 'idx-1' AND seq < 5
          AND published_at IS NULL AND NOT dead
    LOOP plan := plan || line || E'\n'; END LOOP;
    ASSERT plan LIKE '%outbox_pending_aggregate_idx%', 'head check does not use outbox_pending_aggregate_idx: ' || plan;
    UPDATE outbox_events SET published_at = now() WHERE aggregate_id LIKE 'idx-%';
END $$;

\echo check: one claimer gets each aggregate as an unbroken run in seq order
DO $$
DECLARE got text[];
BEGIN
    PERFORM pg_temp.ev('A'); PERFORM pg_temp.ev('B'); PERFORM pg_temp.ev('A');
    PERFORM pg_temp.ev('B'); PERFORM pg_temp.ev('A');
    SELECT array_agg(aggregate_id ORDER BY seq) INTO got FROM outbox_claim('r1', 100, interval '1 minute');
    ASSERT got = ARRAY['A','B','A','B','A'], 'claimed ' || got::text;
    -- Leased: a second claim finds nothing.
    ASSERT NOT EXISTS (SELECT 1 FROM outbox_claim('r2', 100, interval '1 minute')), 'leased events claimed twice';
    UPDATE outbox_events SET published_at = now(), claimed_by = NULL, claimed_until = NULL
    WHERE aggregate_id IN ('A', 'B');
END $$;

\echo check: the batch size bounds a claim and keeps each aggregate a prefix
DO $$
DECLARE got text[];
BEGIN
    PERFORM pg_temp.ev('C'); PERFORM pg_temp.ev('C'); PERFORM pg_temp.ev('D'); PERFORM pg_temp.ev('C');
    SELECT array_agg(aggregate_id ORDER BY seq) INTO got FROM outbox_claim('r1', 2, interval '1 minute');
    ASSERT got = ARRAY['C','C'], 'claimed ' || got::text;
    -- C's third event stays with C's owner; D is free.
    SELECT array_agg(aggregate_id ORDER BY seq) INTO got FROM outbox_claim('r2', 10, interval '1 minute');
    ASSERT got = ARRAY['D'], 'second claimer got ' || got::text;
    UPDATE outbox_events SET published_at = now(), claimed_by = NULL, claimed_until = NULL
    WHERE aggregate_id IN ('C', 'D') AND claimed_by IS NOT NULL;
    -- C's last event is now its head.
    SELECT array_agg(aggregate_id ORDER BY seq) INTO got FROM outbox_claim('r2', 10, interval '1 minute');
    ASSERT got = ARRAY['C'], 'after publishing got ' || got::text;
    UPDATE outbox_events SET published_at = now() WHERE aggregate_id IN ('C', 'D');
END $$;

\echo check: a poison event holds back only its own aggregate, until it is parked
DO $$
DECLARE poison uuid; got text[];
BEGIN
    poison := pg_temp.ev('P', 'Poison'); PERFORM pg_temp.ev('P'); PERFORM pg_temp.ev('Q');
    SELECT array_agg(aggregate_id ORDER BY seq) INTO got FROM outbox_claim('r1', 10, interval '1 minute');
    ASSERT got = ARRAY['P','P','Q'], 'claimed ' || got::text;
    -- Q is published; P's head fails and waits for its retry; the relay releases P's follower.
    UPDATE outbox_events SET published_at = now() WHERE aggregate_id = 'Q';
    UPDATE outbox_events SET attempts = attempts + 1, next_attempt_at = now() + interval '1 hour',
                             last_error = 'broker said no'
    WHERE id = poison;
    UPDATE outbox_events SET claimed_by = NULL, claimed_until = NULL WHERE aggregate_id = 'P';
    PERFORM pg_temp.ev('P'); PERFORM pg_temp.ev('R');
    SELECT array_agg(aggregate_id ORDER BY seq) INTO got FROM outbox_claim('r2', 10, interval '1 minute');
    ASSERT got = ARRAY['R'], 'with P waiting for its retry got ' || got::text;
    -- After the last retry the poison is parked (DLQ); P's later events flow again, in order.
    UPDATE outbox_events SET dead = true WHERE id = poison;
    SELECT array_agg(event_type || ':' || aggregate_id ORDER BY seq) INTO got
    FROM outbox_claim('r2', 10, interval '1 minute');
    ASSERT got = ARRAY['OrderCreated:P','OrderCreated:P'], 'after parking got ' || got::text;
    ASSERT (SELECT count(*) FROM outbox_events WHERE dead) = 1;
    UPDATE outbox_events SET published_at = now() WHERE aggregate_id IN ('P', 'R') AND NOT dead;
END $$;

\echo check: an expired lease lets another relay deliver again (at least once)
DO $$
DECLARE got text[];
BEGIN
    PERFORM pg_temp.ev('L');
    ASSERT (SELECT count(*) FROM outbox_claim('dying-relay', 10, interval '10 milliseconds')) = 1;
    PERFORM pg_sleep(0.05);
    SELECT array_agg(claimed_by) INTO got FROM outbox_claim('r2', 10, interval '1 minute');
    ASSERT got = ARRAY['r2'], 'after lease expiry got ' || coalesce(got::text, 'nothing');
    UPDATE outbox_events SET published_at = now() WHERE aggregate_id = 'L';
END $$;

\echo check: bad claim arguments are refused
DO $$
DECLARE ok boolean;
BEGIN
    BEGIN PERFORM outbox_claim('r', 0, interval '1 minute'); ok := false;
    EXCEPTION WHEN invalid_parameter_value THEN ok := true; END;
    ASSERT ok, 'batch 0 accepted';
    BEGIN PERFORM outbox_claim('r', 10, interval '0'); ok := false;
    EXCEPTION WHEN invalid_parameter_value THEN ok := true; END;
    ASSERT ok, 'zero lease accepted';
    BEGIN
        UPDATE outbox_events SET dead = true WHERE published_at IS NOT NULL AND aggregate_id = 'L';
        ok := false;
    EXCEPTION WHEN check_violation THEN ok := true; END;
    ASSERT ok, 'an event both published and dead was accepted';
END $$;

\echo schema checks: done
