-- Checks of core/migrations/postgres against a real server, run by
-- scripts/servers/test-postgres.sh in a fresh database after the migrations.
-- Each DO block fails the run (ON_ERROR_STOP) when an ASSERT does not hold.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;

-- A function to write one event; seq follows call order.
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

\echo check: the pending scan of a partition uses the partial pending index
DO $$
DECLARE plan text := '';
DECLARE line text;
BEGIN
    -- A little data so that the planner has statistics; seqscan off shows index usability.
    PERFORM pg_temp.ev('idx-' || g) FROM generate_series(1, 200) g;
    ANALYZE outbox_events;
    SET LOCAL enable_seqscan = off;
    FOR line IN EXPLAIN SELECT * FROM outbox_pending(ARRAY[3::smallint], 10)
    LOOP plan := plan || line || E'\n'; END LOOP;
    -- Each slot's copy of outbox_pending_part_idx (outbox_events_sN_part_seq_idx).
    ASSERT plan LIKE '%_part_seq_idx%' AND plan NOT LIKE '%Seq Scan%',
        'pending scan does not use outbox_pending_part_idx: ' || plan;
    DELETE FROM outbox_events WHERE aggregate_id LIKE 'idx-%';
END $$;

\echo check: the events of an aggregate share one partition, and all 16 partitions exist
DO $$
BEGIN
    PERFORM pg_temp.ev('A'); PERFORM pg_temp.ev('B'); PERFORM pg_temp.ev('A'); PERFORM pg_temp.ev('A');
    ASSERT (SELECT count(DISTINCT part) FROM outbox_events WHERE aggregate_id = 'A') = 1;
    ASSERT (SELECT count(*) FROM outbox_events WHERE part NOT BETWEEN 0 AND 15) = 0;
    ASSERT (SELECT array_agg(part ORDER BY part) FROM outbox_partitions)
         = (SELECT array_agg(g::smallint ORDER BY g) FROM generate_series(0, 15) g);
    DELETE FROM outbox_events WHERE aggregate_id IN ('A', 'B');
END $$;

\echo check: outbox_pending gives the oldest events of the claimed partitions in seq order, bounded per partition
DO $$
DECLARE pa smallint; pc smallint; got text[];
BEGIN
    PERFORM pg_temp.ev('A'); PERFORM pg_temp.ev('C'); PERFORM pg_temp.ev('A');
    PERFORM pg_temp.ev('C'); PERFORM pg_temp.ev('A');
    SELECT part INTO pa FROM outbox_events WHERE aggregate_id = 'A' LIMIT 1;
    SELECT part INTO pc FROM outbox_events WHERE aggregate_id = 'C' LIMIT 1;
    ASSERT pa <> pc, 'test aggregates A and C share a partition';
    SELECT array_agg(aggregate_id ORDER BY seq) INTO got FROM outbox_pending(ARRAY[pa, pc], 100);
    ASSERT got = ARRAY['A','C','A','C','A'], 'pending ' || got::text;
    SELECT array_agg(aggregate_id ORDER BY seq) INTO got FROM outbox_pending(ARRAY[pa, pc], 2);
    ASSERT got = ARRAY['A','C','A','C'], 'two per partition gave ' || got::text;
    SELECT array_agg(aggregate_id ORDER BY seq) INTO got FROM outbox_pending(ARRAY[pc], 100);
    ASSERT got = ARRAY['C','C'], 'partition of C gave ' || got::text;
    DELETE FROM outbox_events WHERE aggregate_id IN ('A', 'C');
END $$;

\echo check: events waiting for a retry stay in the scan; published and parked ones leave it
DO $$
DECLARE poison uuid; pp smallint; got text[];
BEGIN
    poison := pg_temp.ev('P', 'Poison'); PERFORM pg_temp.ev('P');
    SELECT part INTO pp FROM outbox_events WHERE id = poison;
    UPDATE outbox_events SET attempts = attempts + 1, next_attempt_at = now() + interval '1 hour',
                             last_error = 'broker said no'
    WHERE id = poison;
    -- Due or not, the head comes back: the relay holds its aggregate back on seeing it.
    SELECT array_agg(event_type ORDER BY seq) INTO got FROM outbox_pending(ARRAY[pp], 10);
    ASSERT got = ARRAY['Poison','OrderCreated'], 'with the head waiting got ' || got::text;
    -- Parked (DLQ): the follower is the head now.
    UPDATE outbox_events SET dead = true WHERE id = poison;
    SELECT array_agg(event_type ORDER BY seq) INTO got FROM outbox_pending(ARRAY[pp], 10);
    ASSERT got = ARRAY['OrderCreated'], 'after parking got ' || got::text;
    -- Kept as published (Delivered::Mark): gone from the scan too.
    UPDATE outbox_events SET published_at = now() WHERE aggregate_id = 'P' AND NOT dead;
    ASSERT NOT EXISTS (SELECT 1 FROM outbox_pending(ARRAY[pp], 10)), 'a published event is still pending';
    ASSERT (SELECT count(*) FROM outbox_events WHERE dead) = 1;
END $$;

\echo check: a claim takes the longest-unserved free partitions and stamps them
DO $$
DECLARE first smallint[]; second smallint[];
BEGIN
    SELECT array_agg(p ORDER BY p) INTO first FROM outbox_claim_partitions(4) p;
    ASSERT cardinality(first) = 4, 'claimed ' || first::text;
    -- The same transaction holds them; the next claim rotates to others.
    SELECT array_agg(p ORDER BY p) INTO second FROM outbox_claim_partitions(4) p;
    ASSERT cardinality(second) = 4 AND NOT (first && second), first::text || ' then ' || second::text;
    ASSERT (SELECT count(*) FROM outbox_claim_partitions(100)) = 16, 'not every partition claimable';
END $$;

\echo check: bad claim arguments are refused
DO $$
DECLARE ok boolean;
BEGIN
    BEGIN PERFORM outbox_claim_partitions(0); ok := false;
    EXCEPTION WHEN invalid_parameter_value THEN ok := true; END;
    ASSERT ok, 'count 0 accepted';
    BEGIN
        UPDATE outbox_events SET dead = true, published_at = now() WHERE aggregate_id = 'P';
        ok := false;
    EXCEPTION WHEN check_violation THEN ok := true; END;
    ASSERT ok, 'an event both published and dead was accepted';
END $$;

\echo check: outbox_recycle truncates a slot of delivered rows, moves its parked events, keeps pending and published slots
DO $$
DECLARE
    v_now smallint := outbox_slot_at(clock_timestamp());
    -- Three, four and five slots after now (so five, four and three before it
    -- in the ring): candidates, and still candidates if the clock moves on
    -- a slot while this runs.
    v_drained   smallint := (v_now + 3) % 8;
    v_pending   smallint := (v_now + 4) % 8;
    v_published smallint := (v_now + 5) % 8;
    v_rel regclass := format('outbox_events_s%s', (v_now + 3) % 8)::regclass;
    v_got smallint[];
BEGIN
    INSERT INTO outbox_events (id, aggregate_type, aggregate_id, event_type, payload, occurred_at, slot)
    SELECT gen_random_uuid(), 'order', 'R' || g, 'OrderCreated', '{}', now(), v_drained
    FROM generate_series(1, 500) g;
    INSERT INTO outbox_events (id, aggregate_type, aggregate_id, event_type, payload, occurred_at, slot, dead)
    VALUES (gen_random_uuid(), 'order', 'R-parked', 'OrderCreated', '{}', now(), v_drained, true);
    INSERT INTO outbox_events (id, aggregate_type, aggregate_id, event_type, payload, occurred_at, slot)
    VALUES (gen_random_uuid(), 'order', 'R-pending', 'OrderCreated', '{}', now(), v_pending);
    INSERT INTO outbox_events (id, aggregate_type, aggregate_id, event_type, payload, occurred_at, slot, published_at)
    VALUES (gen_random_uuid(), 'order', 'R-published', 'OrderCreated', '{}', now(), v_published, now());
    -- Not yet delivered: nothing to truncate.
    ASSERT (SELECT count(*) FROM outbox_recycle()) = 0, 'truncated a slot with pending events';
    ASSERT (SELECT count(*) FROM outbox_events WHERE slot = v_drained) = 501;
    -- The relay deletes what it delivered.
    DELETE FROM outbox_events WHERE aggregate_id LIKE 'R_%' AND slot = v_drained AND NOT dead;
    SELECT array_agg(s) INTO v_got FROM outbox_recycle() s;
    ASSERT v_got = ARRAY[v_drained], 'truncated ' || coalesce(v_got::text, 'nothing');
    ASSERT pg_relation_size(v_rel) = 0, 'the drained slot kept its pages';
    ASSERT (SELECT slot FROM outbox_events WHERE aggregate_id = 'R-parked') <> v_drained,
        'the parked event stayed in the truncated slot';
    ASSERT (SELECT dead FROM outbox_events WHERE aggregate_id = 'R-parked'), 'the parked event was lost';
    ASSERT (SELECT slot FROM outbox_events WHERE aggregate_id = 'R-pending') = v_pending;
    ASSERT (SELECT slot FROM outbox_events WHERE aggregate_id = 'R-published') = v_published;
    -- The pending and the published slot are left alone.
    ASSERT (SELECT count(*) FROM outbox_recycle()) = 0, 'truncated a pending or a published slot';
    ASSERT (SELECT count(*) FROM outbox_events WHERE aggregate_id IN ('R-pending', 'R-published')) = 2;
    DELETE FROM outbox_events WHERE aggregate_id LIKE 'R-%';
END $$;

\echo check: the slot of an event is the two-second window of its insert, in a ring of eight
DO $$
BEGIN
    ASSERT outbox_slot_at('1970-01-01 00:00:00+00') = 0;
    ASSERT outbox_slot_at('1970-01-01 00:00:01.999+00') = 0;
    ASSERT outbox_slot_at('1970-01-01 00:00:02+00') = 1;
    ASSERT outbox_slot_at('1970-01-01 00:00:15.9+00') = 7;
    ASSERT outbox_slot_at('1970-01-01 00:00:16+00') = 0;
    BEGIN
        INSERT INTO outbox_events (id, aggregate_type, aggregate_id, event_type, payload, occurred_at, slot)
        VALUES (gen_random_uuid(), 'order', 'S', 'OrderCreated', '{}', now(), 8);
        ASSERT false, 'slot 8 accepted';
    EXCEPTION WHEN check_violation THEN
        NULL;
    END;
END $$;

\echo check: ANALYZE keeps statistics for the columns of orders that queries use, none for its JSON documents
INSERT INTO orders (id, customer_id, restaurant_id, items, delivery_street, delivery_city,
                    delivery_postal_code, delivery_latitude, delivery_longitude,
                    total_minor, currency, status, hints, placement)
SELECT gen_random_uuid(), gen_random_uuid(), gen_random_uuid(),
       jsonb_build_array(jsonb_build_object('itemId', 'i' || n, 'quantity', n)),
       n || ' Main St', 'New York', '10001', 40.7, -74.0, 100 * n, 'USD', 'ROUTED',
       jsonb_build_object('priority', n % 3), jsonb_build_object('channel', 'c' || n % 5)
FROM generate_series(1, 100) AS n;
ANALYZE orders;
DO $$
DECLARE analyzed text[];
BEGIN
    SELECT array_agg(attname::text ORDER BY attname) INTO analyzed
    FROM pg_stats WHERE schemaname = current_schema() AND tablename = 'orders';
    ASSERT analyzed @> ARRAY['id', 'customer_id', 'restaurant_id', 'status', 'created_at'],
        format('queried columns without statistics: %s', analyzed);
    ASSERT NOT analyzed && ARRAY['items', 'hints', 'placement'],
        format('JSON documents with statistics: %s', analyzed);
END $$;

\echo check: a row of several events lists them in order, a cut row's rest after them, and a tail must be an array
DO $$
DECLARE
    a uuid := gen_random_uuid();
    b uuid := gen_random_uuid();
    c uuid := gen_random_uuid();
    s bigint;
    got text;
BEGIN
    INSERT INTO outbox_events (id, aggregate_type, aggregate_id, event_type, payload, occurred_at, tail)
    VALUES (a, 'order', 'T', 'OrderCreated', '{"n":0}', now(),
            json_build_array(json_build_object('id', b, 'type', 'OrderValidated', 'schemaVersion', 2,
                                               'occurredAt', 1795400000123, 'payload', json_build_object('n', 1))))
    RETURNING seq INTO s;
    -- What a relay leaves when the second event fails: the first kept as
    -- published, the rest (with one more event) a row of its own with the same seq.
    UPDATE outbox_events SET published_at = now(), tail = NULL WHERE id = a;
    INSERT INTO outbox_events (id, seq, first_pos, aggregate_type, aggregate_id, event_type,
                               schema_version, payload, occurred_at, tail)
    VALUES (b, s, 1, 'order', 'T', 'OrderValidated', 2, '{"n":1}', now(),
            json_build_array(json_build_object('id', c, 'type', 'ChannelAssigned', 'schemaVersion', 1,
                                               'occurredAt', 1795400000124, 'payload', '{"n":2}'::json)));
    SELECT string_agg(format('%s:%s:%s', pos, event_type, payload ->> 'n'), ' ' ORDER BY seq, pos) INTO got
    FROM outbox_event_list WHERE aggregate_id = 'T';
    ASSERT got = '0:OrderCreated:0 1:OrderValidated:1 2:ChannelAssigned:2', got;
    ASSERT (SELECT occurred_at FROM outbox_event_list WHERE id = c) = '2026-11-23 02:13:20.124+00',
        'a tail event''s time is not its milliseconds';
    ASSERT (SELECT count(*) FROM outbox_event_list WHERE aggregate_id = 'T' AND published_at IS NULL) = 2;
    BEGIN
        INSERT INTO outbox_events (id, aggregate_type, aggregate_id, event_type, payload, occurred_at, tail)
        VALUES (gen_random_uuid(), 'order', 'T', 'OrderCreated', '{}', now(), '{"not":"an array"}');
        ASSERT false, 'a tail that is not an array was accepted';
    EXCEPTION WHEN check_violation THEN
        NULL;
    END;
    DELETE FROM outbox_events WHERE aggregate_id = 'T';
END $$;

\echo schema checks: done
