-- uoom's write model in PostgreSQL (feature `postgres`, relay in feature `outbox`).
--
-- Plain DDL with no BEGIN/COMMIT: a migration runner (sqlx, refinery, psql
-- --single-transaction) wraps each file in its own transaction. Files apply in
-- name order; never edit an applied file, add the next number instead.

-- Orders: one row per order, updated in place. `version` is the optimistic
-- concurrency token: an update says `WHERE id = $1 AND version = $2` and bumps it,
-- so two writers of the same order cannot both win.
CREATE TABLE orders (
    id                    uuid        PRIMARY KEY,
    customer_id           uuid        NOT NULL,
    -- The create-order request may leave the restaurant out.
    restaurant_id         uuid,
    -- [{"itemId", "name", "quantity", "unitPrice"}] as the request gave them, prices in minor units.
    items                 jsonb       NOT NULL CHECK (jsonb_typeof(items) = 'array'),
    delivery_street       text        NOT NULL,
    delivery_city         text        NOT NULL,
    delivery_postal_code  text        NOT NULL,
    delivery_latitude     double precision NOT NULL CHECK (delivery_latitude BETWEEN -90 AND 90),
    delivery_longitude    double precision NOT NULL CHECK (delivery_longitude BETWEEN -180 AND 180),
    -- Money is exact: an integer count of the currency's minor unit (cents).
    total_minor           bigint      NOT NULL CHECK (total_minor >= 0),
    currency              char(3)     NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    status                text        NOT NULL CHECK (status IN (
                              'PENDING', 'VALIDATED', 'ROUTED', 'CONFIRMED', 'PREPARING',
                              'OUT_FOR_DELIVERY', 'DELIVERED', 'CANCELLED', 'FAILED')),
    version               bigint      NOT NULL DEFAULT 0 CHECK (version >= 0),
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now()
);

-- The status fallback repository answers the read model's two queries when
-- DynamoDB misses: a customer's / a restaurant's orders in a given status
-- (the same keys as CustomerStatusIndex and RestaurantStatusIndex).
CREATE INDEX orders_customer_status_idx ON orders (customer_id, status, created_at);
CREATE INDEX orders_restaurant_status_idx ON orders (restaurant_id, status, created_at)
    WHERE restaurant_id IS NOT NULL;

-- Saga state: where each order's reserve → book → confirm saga stands, so a
-- restarted engine can resume or compensate. One row per order, updated in place.
-- `step` is the engine's own vocabulary (no CHECK here, so the engine can grow it).
CREATE TABLE saga_state (
    order_id             uuid        PRIMARY KEY REFERENCES orders (id) ON DELETE CASCADE,
    step                 text        NOT NULL CHECK (step <> ''),
    channel_id           text,
    reservation_id       text,
    booking_ref          text,
    compensation_reason  text,
    updated_at           timestamptz NOT NULL DEFAULT now()
);
-- Recovery scans sagas by step, oldest first.
CREATE INDEX saga_state_step_idx ON saga_state (step, updated_at);

-- Transactional outbox: domain events written in the same transaction as the
-- order change, delivered to Kafka by the relay at least once, or parked (dead)
-- after the last retry, visibly.
CREATE TABLE outbox_events (
    id               uuid        PRIMARY KEY,
    -- Insertion order; per aggregate it is the order events must reach Kafka in.
    seq              bigserial   NOT NULL UNIQUE,
    aggregate_type   text        NOT NULL CHECK (aggregate_type <> ''),
    -- Text, not uuid: an order's id, but also a channel's id (CapacityUpdated).
    -- It is the Kafka message key.
    aggregate_id     text        NOT NULL CHECK (aggregate_id <> ''),
    event_type       text        NOT NULL CHECK (event_type <> ''),
    schema_version   integer     NOT NULL DEFAULT 1 CHECK (schema_version > 0),
    payload          jsonb       NOT NULL,
    occurred_at      timestamptz NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    -- Delivery bookkeeping, written by the relay only.
    attempts         integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    last_error       text,
    published_at     timestamptz,
    dead             boolean     NOT NULL DEFAULT false,
    -- A relay's lease on the event (see outbox_claim in 0002): a relay that dies
    -- mid-batch loses its lease and another relay delivers the events again.
    claimed_by       text,
    claimed_until    timestamptz,
    CHECK (NOT (dead AND published_at IS NOT NULL))
);

-- The claimer's scan: pending events (not published, not dead) in seq order.
-- Partial, so published history does not slow it down as it grows.
CREATE INDEX outbox_pending_seq_idx ON outbox_events (seq)
    WHERE published_at IS NULL AND NOT dead;
-- Due-time scan for a relay that sleeps until the next retry is due.
CREATE INDEX outbox_pending_due_idx ON outbox_events (next_attempt_at, seq)
    WHERE published_at IS NULL AND NOT dead;
-- "Is this the oldest pending event of its aggregate?": the check that keeps
-- per-aggregate order and lets a poison event hold back only its own aggregate.
CREATE INDEX outbox_pending_aggregate_idx ON outbox_events (aggregate_type, aggregate_id, seq)
    WHERE published_at IS NULL AND NOT dead;
-- The DLQ view for operators.
CREATE INDEX outbox_dead_idx ON outbox_events (created_at) WHERE dead;

-- Wake the relays when events arrive (LISTEN uoom_outbox); polling stays as the
-- fallback. One notification per INSERT statement, with an empty payload, so
-- Postgres folds a transaction's notifications into one.
CREATE FUNCTION outbox_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('uoom_outbox', '');
    RETURN NULL;
END;
$$;

CREATE TRIGGER outbox_events_notify
    AFTER INSERT ON outbox_events
    FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();
