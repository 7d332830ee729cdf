-- outbox_claim: hands one relay a batch of events that no other relay holds,
-- keeping per-aggregate order across any number of relays.
--
-- Rule: a relay claims an aggregate by claiming its *head* (the oldest pending
-- event: not published, not dead) and then takes the head's due followers with
-- it. A later event of an aggregate is never a head while an earlier one is
-- pending, so no second relay can overtake the first. A head waiting for its
-- retry (next_attempt_at in the future) blocks its own aggregate only; once it
-- is parked (dead = true) the aggregate's next event becomes the head.
--
-- Claims are leases (claimed_by, claimed_until): the claiming transaction is
-- short and commits at once, the relay publishes outside it, then marks events
-- published (or failed) with its relay id. If a relay dies, its lease runs out
-- and another relay delivers the events again: at least once.
--
-- `FOR UPDATE SKIP LOCKED` on the heads makes concurrent claimers skip each
-- other's candidates instead of waiting or double-claiming.
--
-- The relay must finish a batch well within the lease; rows come back in seq order.
-- Writers must update the order row before inserting its events, so that the
-- order row's lock makes seq follow commit order within one aggregate.
--
-- usage: SELECT * FROM outbox_claim('relay-1', 500, interval '30 seconds');
CREATE FUNCTION outbox_claim(p_relay text, p_batch integer, p_lease interval)
RETURNS SETOF outbox_events
LANGUAGE plpgsql AS $$
DECLARE
    v_now timestamptz := clock_timestamp();
BEGIN
    IF p_batch IS NULL OR p_batch <= 0 THEN
        RAISE EXCEPTION 'outbox_claim: batch must be positive, got %', p_batch
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_lease IS NULL OR p_lease <= interval '0' THEN
        RAISE EXCEPTION 'outbox_claim: lease must be positive, got %', p_lease
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
        -- The heads and their followers, oldest first, at most p_batch events
        -- in all. A follower comes only with every event between it and its head,
        -- so each aggregate's share is an unbroken run from its head.
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

COMMENT ON FUNCTION outbox_claim(text, integer, interval) IS
    'Leases up to p_batch pending events to relay p_relay, heads of aggregates first; safe with many relays.';
