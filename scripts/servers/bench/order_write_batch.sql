-- pgbench script: :batch orders (pgbench -D batch=N) and their three events each,
-- written in one transaction with two multi-row INSERTs: what a batching
-- writer (group commit) costs per order. Run by pg-order-write.sh --batch N.
\set r random(1, 1000000000000)
BEGIN;
INSERT INTO orders (id, customer_id, restaurant_id, items, delivery_street, delivery_city,
                    delivery_postal_code, delivery_latitude, delivery_longitude,
                    total_minor, currency, status)
SELECT md5((:r * 10000 + g)::text)::uuid, gen_random_uuid(), gen_random_uuid(),
       '[{"itemId":"item1","name":"Pizza","quantity":1,"unitPrice":1599}]',
       '123 Main St', 'New York', '10001', 40.7128, -74.0060, 1599, 'USD', 'PENDING'
FROM generate_series(1, :batch) g;
INSERT INTO outbox_events (id, aggregate_type, aggregate_id, event_type, payload, occurred_at)
SELECT gen_random_uuid(), 'order', md5((:r * 10000 + g)::text), t, '{}', now()
FROM generate_series(1, :batch) g,
     unnest(ARRAY['OrderCreated', 'OrderValidated', 'ChannelAssigned']) t
ORDER BY g;
COMMIT;
