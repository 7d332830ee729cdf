-- Where a confirmed order was placed: {"channel", "booking", "reservation"}
-- (uoom's `Placement`), so that cancelling it after a restart still cancels
-- the partner booking and refunds the channel's capacity. NULL until the
-- order is confirmed.
ALTER TABLE orders ADD COLUMN placement jsonb
    CHECK (placement IS NULL OR jsonb_typeof(placement) = 'object');
