"""Round trips against the test servers through real client libraries.

Kafka through confluent-kafka (librdkafka, as the Rust `kafka` feature will use):
an idempotent, acks=all producer writes keyed events and a DLQ record; a consumer
reads them back and the per-key order is checked. DynamoDB Local through boto3:
the read-model tables of core/migrations/dynamodb are created, TTL switched on,
items written, then read by key, by both status indexes and with BatchGetItem.

Run by scripts/servers/smoke.sh; prints "smoke clients: N passed, N failed".
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
import time
import traceback
import uuid

RESULTS: list[tuple[str, bool]] = []


def check(name):
    """Runs the decorated function as one named check and records its outcome."""

    def wrap(fn):
        def run(*args, **kwargs):
            try:
                detail = fn(*args, **kwargs)
                RESULTS.append((name, True))
                print(f"ok   {name}" + (f" ({detail})" if detail else ""), flush=True)
            except Exception:  # noqa: BLE001 - a failed check is reported, not raised
                RESULTS.append((name, False))
                print(f"FAIL {name}", flush=True)
                traceback.print_exc(limit=3)

        return run

    return wrap


@check("kafka: idempotent acks=all producer, keyed round trip, per-key order, DLQ topic")
def kafka_round_trip(bootstrap: str) -> str:
    from confluent_kafka import Consumer, Producer

    run = uuid.uuid4().hex[:8]
    topic, dlq = f"uoom.smoke.{run}", f"uoom.smoke.{run}.dlq"
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": 5,
            "message.timeout.ms": 20000,
        }
    )
    errors: list[str] = []
    delivered: list[tuple[str, int]] = []

    def on_delivery(err, msg):
        if err is not None:
            errors.append(str(err))
        else:
            delivered.append((msg.topic(), msg.offset()))

    keys = [str(uuid.uuid4()) for _ in range(50)]
    n = 1000
    for i in range(n):
        key = keys[i % len(keys)]
        value = json.dumps({"aggregateId": key, "n": i, "eventType": "OrderCreated"})
        producer.produce(topic, key=key, value=value, on_delivery=on_delivery)
        producer.poll(0)
    producer.produce(dlq, key=keys[0], value=b'{"poison":true}', on_delivery=on_delivery,
                     headers=[("x-uoom-error", b"smoke")])
    left = producer.flush(30)
    assert left == 0, f"{left} messages not delivered within 30 s"
    assert not errors, f"delivery errors: {errors[:3]}"
    assert len(delivered) == n + 1, f"{len(delivered)} delivery reports for {n + 1} messages"

    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"uoom-smoke-{run}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    try:
        consumer.subscribe([topic, dlq])
        seen: dict[str, list[int]] = {}
        dlq_seen = 0
        got = 0
        deadline = time.monotonic() + 60
        while (got < n or dlq_seen < 1) and time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            assert msg.error() is None, f"consumer error: {msg.error()}"
            if msg.topic() == dlq:
                dlq_seen += 1
                assert dict(msg.headers() or [])["x-uoom-error"] == b"smoke"
                continue
            body = json.loads(msg.value())
            assert msg.key().decode() == body["aggregateId"], "key and payload disagree"
            seen.setdefault(body["aggregateId"], []).append(body["n"])
            got += 1
    finally:
        consumer.close()
    assert got == n, f"consumed {got} of {n} within 60 s"
    assert dlq_seen == 1, f"consumed {dlq_seen} DLQ records"
    for key, ns in seen.items():
        assert ns == sorted(ns), f"key {key} out of order: {ns[:10]}"
    return f"{n} events over {len(seen)} keys + 1 DLQ record"


@check("dynamodb: tables from core/migrations/dynamodb, TTL, GetItem, both status indexes, BatchGetItem")
def dynamodb_round_trip(endpoint: str, tables_dir: pathlib.Path) -> str:
    import boto3

    client = boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    run = uuid.uuid4().hex[:8]
    created = []
    try:
        names = {}
        for path in sorted(tables_dir.glob("*.json")):
            spec = json.loads(path.read_text())
            base = spec["TableName"]
            spec["TableName"] = f"{base}_{run}"
            client.create_table(**spec)
            created.append(spec["TableName"])
            names[base] = spec["TableName"]
        for name in created:
            client.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
            client.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": "expiresAt"},
            )
            ttl = client.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
            assert ttl.get("AttributeName") == "expiresAt", ttl
        status, details = names["uoom_order_status"], names["uoom_order_details"]
        indexes = {i["IndexName"] for i in client.describe_table(TableName=status)["Table"]["GlobalSecondaryIndexes"]}
        assert indexes == {"CustomerStatusIndex", "RestaurantStatusIndex"}, indexes

        customer, restaurant = str(uuid.uuid4()), str(uuid.uuid4())
        orders = [str(uuid.uuid4()) for _ in range(30)]
        now_ms = int(time.time() * 1000)
        for i, order in enumerate(orders):
            item = {
                "orderId": {"S": order},
                "customerId": {"S": customer},
                "status": {"S": "CONFIRMED" if i % 3 else "DELIVERED"},
                "version": {"N": "1"},
                "updatedAt": {"N": str(now_ms)},
                "expiresAt": {"N": str(now_ms // 1000 + 86400)},
            }
            if i % 2 == 0:
                item["restaurantId"] = {"S": restaurant}
            client.put_item(TableName=status, Item=item)
            client.put_item(TableName=details, Item={"orderId": {"S": order}, "doc": {"S": json.dumps({"n": i})}})

        # Write-through is conditional on the version rising: a stale write is refused.
        client.update_item(
            TableName=status, Key={"orderId": {"S": orders[1]}},
            UpdateExpression="SET #s = :s, version = :v",
            ConditionExpression="attribute_not_exists(version) OR version < :v",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":s": {"S": "PREPARING"}, ":v": {"N": "2"}},
        )
        try:
            client.update_item(
                TableName=status, Key={"orderId": {"S": orders[1]}},
                UpdateExpression="SET #s = :s, version = :v",
                ConditionExpression="attribute_not_exists(version) OR version < :v",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":s": {"S": "CONFIRMED"}, ":v": {"N": "1"}},
            )
            raise AssertionError("a stale status write was accepted")
        except client.exceptions.ConditionalCheckFailedException:
            pass
        got = client.get_item(TableName=status, Key={"orderId": {"S": orders[1]}}, ConsistentRead=True)["Item"]
        assert got["status"]["S"] == "PREPARING", got

        def query(index, key, value, st):
            out = client.query(
                TableName=status, IndexName=index,
                KeyConditionExpression="#k = :k AND #s = :s",
                ExpressionAttributeNames={"#k": key, "#s": "status"},
                ExpressionAttributeValues={":k": {"S": value}, ":s": {"S": st}},
            )
            return {i["orderId"]["S"] for i in out["Items"]}

        expect_c = {o for i, o in enumerate(orders) if i % 3 == 0}
        assert query("CustomerStatusIndex", "customerId", customer, "DELIVERED") == expect_c
        expect_r = {o for i, o in enumerate(orders) if i % 2 == 0 and i % 3 and i != 1}
        assert query("RestaurantStatusIndex", "restaurantId", restaurant, "CONFIRMED") == expect_r

        # BatchGetItem over both tables, with unprocessed keys retried (bounded).
        missing = str(uuid.uuid4())
        want = orders[:20] + [missing]
        request = {
            status: {"Keys": [{"orderId": {"S": o}} for o in want]},
            details: {"Keys": [{"orderId": {"S": o}} for o in orders[:5]]},
        }
        found: dict[str, set] = {status: set(), details: set()}
        for _ in range(10):
            out = client.batch_get_item(RequestItems=request)
            for table, items in out["Responses"].items():
                found[table] |= {i["orderId"]["S"] for i in items}
            request = out.get("UnprocessedKeys") or {}
            if not request:
                break
        assert not request, "unprocessed keys left after 10 rounds"
        assert found[status] == set(orders[:20]), "BatchGetItem status mismatch"
        assert found[details] == set(orders[:5]), "BatchGetItem details mismatch"
    finally:
        for name in created:
            client.delete_table(TableName=name)
    return f"{len(created)} tables, {len(orders)} orders"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kafka", help="bootstrap servers (host:port)")
    parser.add_argument("--dynamodb", help="DynamoDB endpoint URL")
    parser.add_argument("--tables", type=pathlib.Path, help="folder of CreateTable JSON files")
    args = parser.parse_args()
    if args.kafka:
        kafka_round_trip(args.kafka)
    if args.dynamodb:
        dynamodb_round_trip(args.dynamodb, args.tables)
    passed = sum(ok for _, ok in RESULTS)
    failed = len(RESULTS) - passed
    print(f"smoke clients: {passed} passed, {failed} failed")
    return 0 if failed == 0 and RESULTS else 1


if __name__ == "__main__":
    sys.exit(main())
