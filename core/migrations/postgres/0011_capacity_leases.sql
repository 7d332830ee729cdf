-- Capacity leases with PostgreSQL as the authority (feature `postgres`,
-- `uoom::adapters::postgres::PgLeaseAuthority`; docs/ledger.md, "Leases
-- across replicas").
--
-- A slot is named by its start (`slot_start`): the authority maps a `SlotId`
-- to `slot × slot length` since the epoch, so the durable key is a time, the
-- same one an order row carries.
--
-- Every statement of the authority locks the account row first (the account
-- is the mutex of its lease rows) and judges expiry on this server's clock
-- (`clock_timestamp()`), never a replica's.
--
-- Both tables are small and their rows are updated in place by every commit:
-- half-empty pages keep those updates HOT (no index entry, no page split).

-- Fencing tokens: every grant takes the next value, so epochs increase
-- strictly across all grants.
CREATE SEQUENCE capacity_lease_epochs AS bigint;

-- One row per channel and slot. `granted` counts the units of the lease rows
-- not yet released (live leases, and expired ones the next statement on the
-- account will release); `committed` units are never taken back.
CREATE TABLE capacity_accounts (
    channel_id  text        NOT NULL CHECK (channel_id <> ''),
    slot_start  timestamptz NOT NULL,
    capacity    bigint      NOT NULL CHECK (capacity BETWEEN 0 AND 4294967295),
    granted     bigint      NOT NULL DEFAULT 0 CHECK (granted >= 0),
    committed   bigint      NOT NULL DEFAULT 0 CHECK (committed >= 0),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (channel_id, slot_start),
    -- The invariant. Only a capacity cut below `committed` itself may leave
    -- committed > capacity (reported as overcommitted), and then nothing is
    -- granted until the capacity is raised again.
    CHECK (granted = 0 OR committed + granted <= capacity)
) WITH (fillfactor = 50);

-- One row per replica, channel and slot, reused by every grant on that
-- account: each grant is a new incarnation with a new epoch.
CREATE TABLE capacity_leases (
    id          bigserial   PRIMARY KEY,
    replica_id  text        NOT NULL CHECK (replica_id <> ''),
    channel_id  text        NOT NULL,
    slot_start  timestamptz NOT NULL,
    epoch       bigint      NOT NULL,
    -- Granted and not yet committed or returned.
    units       bigint      NOT NULL CHECK (units >= 0),
    -- Committed through this incarnation.
    committed   bigint      NOT NULL DEFAULT 0 CHECK (committed >= 0),
    granted_at  timestamptz NOT NULL,
    -- Live while clock_timestamp() < expires_at (and not revoked).
    expires_at  timestamptz NOT NULL,
    -- Taken back by a capacity cut before its expiry.
    revoked     boolean     NOT NULL DEFAULT false,
    -- Its units no longer count in the account's `granted` (it expired or
    -- was revoked); a new grant on the row clears it.
    released    boolean     NOT NULL DEFAULT false,
    UNIQUE (replica_id, channel_id, slot_start),
    FOREIGN KEY (channel_id, slot_start) REFERENCES capacity_accounts (channel_id, slot_start),
    CHECK (NOT revoked OR released)
) WITH (fillfactor = 50);
-- The rows whose units an account still counts: what a statement scans to
-- release expired leases or pick the ones a capacity cut revokes.
CREATE INDEX capacity_leases_unreleased_idx ON capacity_leases (channel_id, slot_start)
    WHERE NOT released;

-- What an order took: the channel, the slot and the units its confirmation
-- committed. Written by whoever writes the confirmed order, in the same
-- transaction as the fenced commit; NULL for orders whose capacity was not
-- leased (one process with the in-memory ledger). The check is NOT VALID:
-- rows written before this file hold NULLs, which pass it, so there is no
-- need to scan the table under its lock; every row written after is checked.
ALTER TABLE orders
    ADD COLUMN channel_id text,
    ADD COLUMN slot_start timestamptz,
    ADD COLUMN units integer,
    ADD CONSTRAINT orders_capacity_columns CHECK (
        (channel_id IS NULL) = (slot_start IS NULL)
        AND (channel_id IS NULL) = (units IS NULL)
        AND (units IS NULL OR units > 0)) NOT VALID;

-- The independent audit: per channel and slot, the units of the orders that
-- are CONFIRMED or later, from the orders table alone; the accounts give only
-- the capacity (0 for an account the authority never heard of, so an order
-- sold on one shows up). After any run,
--   SELECT count(*) FROM capacity_audit WHERE committed_units > capacity
-- is 0. Cancelled orders drop out, so committed_units can be below the
-- authority's `committed` (a committed unit is never handed back).
CREATE VIEW capacity_audit AS
WITH sold AS (
    SELECT channel_id, slot_start, sum(units)::bigint AS committed_units
    FROM orders
    WHERE channel_id IS NOT NULL
      AND status IN ('CONFIRMED', 'PREPARING', 'OUT_FOR_DELIVERY', 'DELIVERED')
    GROUP BY channel_id, slot_start
)
SELECT coalesce(s.channel_id, a.channel_id) AS channel_id,
       coalesce(s.slot_start, a.slot_start) AS slot_start,
       coalesce(a.capacity, 0)              AS capacity,
       coalesce(s.committed_units, 0)       AS committed_units
FROM sold s
FULL JOIN capacity_accounts a
    ON a.channel_id = s.channel_id AND a.slot_start = s.slot_start;
