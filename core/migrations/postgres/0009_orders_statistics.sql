-- No planner statistics for the JSON documents no query filters, joins or
-- sorts on: an order's items, hints and placement, and a stored outcome.
--
-- ANALYZE samples 30,000 rows of a table whatever its size, and autovacuum
-- re-analyzes `orders` every time a tenth of it is new. Most of that CPU went
-- into these columns: sorting 30,000 JSON documents to find their most common
-- values and histogram bounds, statistics nothing reads. On the development
-- machine, ANALYZE of a 60,000-order table took 449-491 ms before and
-- 170-198 ms after (five runs each), and the one analyze that fell inside a
-- 60 s run at 5,000 orders/s lined up with that run's worst windows
-- (docs/benchmarks.md). The columns queries do use (id, customer_id,
-- restaurant_id, status, created_at and the rest) keep their statistics.
-- `SET STATISTICS -1` brings a column's back.
ALTER TABLE orders
    ALTER COLUMN items SET STATISTICS 0,
    ALTER COLUMN hints SET STATISTICS 0,
    ALTER COLUMN placement SET STATISTICS 0;
ALTER TABLE idempotency_keys
    ALTER COLUMN outcome SET STATISTICS 0;
