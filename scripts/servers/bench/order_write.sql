-- pgbench script: one order write as the `postgres` adapter will do it: the order
-- row and its three events in one transaction (4 round trips).
-- Run by scripts/servers/bench/pg-order-write.sh.
\set r random(1, 9223372036854775807)
BEGIN;
INSERT INTO orders (id, customer_id, restaurant_id, items, delivery_street, delivery_city,
                    delivery_postal_code, delivery_latitude, delivery_longitude,
                    total_minor, currency, status)
VALUES (md5(:r::text)::uuid, md5((:r + 1)::text)::uuid, md5((:r + 2)::text)::uuid,
        '[{"itemId":"item1","name":"Pizza","quantity":1,"unitPrice":1599}]',
        '123 Main St', 'New York', '10001', 40.7128, -74.0060, 1599, 'USD', 'PENDING');
INSERT INTO outbox_events (id, aggregate_type, aggregate_id, event_type, payload, occurred_at)
VALUES (gen_random_uuid(), 'order', md5(:r::text), 'OrderCreated', '{"status":"PENDING"}', now()),
       (gen_random_uuid(), 'order', md5(:r::text), 'OrderValidated', '{"status":"VALIDATED"}', now()),
       (gen_random_uuid(), 'order', md5(:r::text), 'ChannelAssigned', '{"channel":"c1"}', now());
COMMIT;
