#!/usr/bin/env python3
"""kappa processors on Apache Kafka (`'connector' = 'kafka'`), against one real Apache Kafka 4.x
broker (KRaft, loopback, LogAppendTime; see clients.py) and the real kappa binary.

Goal: show that a processor reading and writing Apache Kafka gives the rows the same processor
gives on kappa's own log, exactly once across kill -9, and byte for byte again on replay.
Method: the same orders (examples/orders.ndjson plus generated ones) are produced to Apache Kafka
(murmur2 partitioner, keyed by user_id) and to kappa over HTTP (?key=user_id: the same
partitions, the same order within each); the seed's tumbling query and the batch job then run on
both logs and their output records are compared value for value, in offset order. Every check
fails loudly.
"""
import calendar
import json
import math
import os
import random
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clients import ApacheKafka, Server  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
ORDERS = os.path.join(ROOT, "examples", "orders.ndjson")
# Apache Kafka stamps each partition's batch when it appends it, so the first batches of a bulk
# load land milliseconds apart and, under the default idle timeout, a partition whose first batch
# came later counts as idle at first (DESIGN: idleness in log time). Flink's default is never
# idle; the seed query here says so, on both logs (docs/how-to: "Processors on Apache Kafka").
REVENUE = open(os.path.join(ROOT, "examples", "revenue.sql")).read().replace(
    "'format' = 'json')", "'format' = 'json', 'scan.watermark.idle-timeout' = '0')")
BATCH = open(os.path.join(ROOT, "examples", "batch.sql")).read()


def on_kafka(sql, bootstrap, topic="order-events"):
    """The example SQL with its table moved to Apache Kafka, as the seed's Flink job writes it."""
    kafka = (f"'connector' = 'kafka', 'topic' = '{topic}', 'properties.bootstrap.servers' = '{bootstrap}', "
             "'properties.group.id' = 'kappa', 'scan.startup.mode' = 'earliest-offset'")
    out = sql.replace("'connector' = 'kappa', 'topic' = 'order-events'", kafka)
    assert out != sql, "the example SQL changed: update processors.py"
    return out


def orders(n_generated, seed=7):
    lines = [l for l in open(ORDERS).read().splitlines() if l.strip()]
    rng = random.Random(seed)
    # After the example file's last order (2026-03-26 07:19:48), so nothing generated is late.
    base = calendar.timegm(time.strptime("2026-03-26 08:00:00", "%Y-%m-%d %H:%M:%S"))
    for i in range(n_generated):
        ts = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(base + i * 0.5 + rng.random() * 3))
        lines.append(json.dumps({
            "order_id": f"g{i}", "user_id": f"u{rng.randrange(500)}", "total": round(rng.uniform(1, 300), 2),
            "category": rng.choice(["books", "toys", "garden", "games"]), "region": rng.choice(["eu", "us", "apac"]),
            "status": rng.choice(["completed", "completed", "cancelled"]), "ts": ts + ".%03d" % rng.randrange(1000)}))
    return lines


def produce_kafka(bootstrap, topic, lines):
    from confluent_kafka import Producer
    p = Producer({"bootstrap.servers": bootstrap, "partitioner": "murmur2_random", "linger.ms": 20,
                  "enable.idempotence": True})
    errors = []
    for line in lines:
        key = json.loads(line)["user_id"].encode()
        while True:
            try:
                p.produce(topic, line.encode(), key, on_delivery=lambda err, _m: err and errors.append(err))
                break
            except BufferError:  # the local queue is full: let deliveries drain it
                p.poll(0.05)
        p.poll(0)
    assert p.flush(60) == 0 and not errors, errors


def produce_kappa(server, topic, lines):
    for i in range(0, len(lines), 5000):
        body = ("\n".join(lines[i:i + 5000]) + "\n").encode()
        status, resp = server.request("POST", f"/v1/topics/{topic}/events?key=user_id", body,
                                      {"content-type": "application/x-ndjson"})
        assert status == 200, (status, resp)


def read_kafka(bootstrap, topic):
    """Every record of every partition of `topic`: [(partition, offset, key, value)]."""
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "check", "enable.auto.commit": False,
                  "enable.partition.eof": True})
    meta = c.list_topics(topic, timeout=10).topics[topic]
    assert meta.error is None, meta.error
    out = []
    for p in sorted(meta.partitions):
        low, high = c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
        if high == 0:
            continue
        c.assign([TopicPartition(topic, p, 0)])
        while True:
            m = c.poll(10)
            assert m is not None, f"no record from {topic}/{p}"
            if m.error():
                if m.error().code() == -191:  # partition EOF
                    if m.offset() >= high:
                        break
                    continue
                raise AssertionError(m.error())
            out.append((p, m.offset(), m.key(), m.value()))
            if m.offset() + 1 >= high:
                break
    c.close()
    return out


def read_kappa(server, topic):
    out = []
    desc = json.loads(server.request("GET", f"/v1/topics/{topic}")[1])
    for part in desc["partitions"]:
        offset = 0
        while True:
            batch = server.events(topic, partition=part["partition"], offset=offset, limit=10000)
            if not batch:
                break
            out.extend((r["partition"], r["offset"], r.get("key"), json.dumps(r["value"], separators=(",", ":")).encode())
                       for r in batch)
            offset = batch[-1]["offset"] + 1
    return out


def values(records):
    return [v for (_p, _o, _k, v) in records]


def canonical(vs):
    """Values as parsed JSON, for comparing kappa's own topic (served as JSON) with Kafka's bytes."""
    return [json.loads(v) for v in vs]


def same_rows(a, b):
    """Equal rows: exact for strings and integers, 1e-9 relative for doubles. The two logs stamp
    the same records with different append times, so a SUM of doubles adds in another order."""
    def same(x, y):
        if isinstance(x, float) or isinstance(y, float):
            return isinstance(x, (int, float)) and isinstance(y, (int, float)) and \
                math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-9)
        if isinstance(x, dict) and isinstance(y, dict):
            return x.keys() == y.keys() and all(same(x[k], y[k]) for k in x)
        return x == y
    a, b = canonical(a), canonical(b)
    diff = next(((x, y) for x, y in zip(a, b) if not same(x, y)), None)
    assert len(a) == len(b) and diff is None, f"{len(a)} rows vs {len(b)}; first difference {diff}"


def status(server, name):
    s, body = server.request("GET", f"/v1/processors/{name}")
    assert s == 200, (s, body)
    return json.loads(body)


def create(server, name, sql, **extra):
    s, body = server.request("POST", "/v1/processors", {"name": name, "sql": sql, **extra})
    assert s == 201, (s, body)


def wait_quiet(server, name, want=None, timeout=180):
    """Until the version's status is `want` (or caught up with records_out stable for 3 s)."""
    deadline = time.time() + timeout
    last, since = None, time.time()
    while time.time() < deadline:
        st = status(server, name)
        assert st["status"] != "failed", st
        if want and st["status"] == want:
            return st
        key = (st["status"], st["records_out"], st["lag"])
        if key != last:
            last, since = key, time.time()
        elif not want and st["status"] == "caught_up" and time.time() - since > 3:
            return st
        time.sleep(0.3)
    raise AssertionError(f"{name} did not settle: {status(server, name)}")


def main():
    n = int(os.environ.get("KAPPA_KAFKA_PROCESSOR_ORDERS", "60000"))
    lines = orders(n)
    apache = ApacheKafka()
    server = Server()
    failures = 0
    try:
        boot = apache.bootstrap
        print(f"Apache Kafka at {boot}, kappa at {server.http}; {len(lines)} orders", flush=True)
        apache.create_topic("order-events", 3)
        server.create_topic("order-events", 3)
        produce_kafka(boot, "order-events", lines)
        produce_kappa(server, "order-events", lines)
        kafka_in = read_kafka(boot, "order-events")
        kappa_in = read_kappa(server, "order-events")
        assert [(p, o) for p, o, _, _ in kafka_in] == [(p, o) for p, o, _, _ in kappa_in], \
            "the input partitions differ between Apache Kafka and kappa"

        checks = []

        def check(fn):
            checks.append(fn)
            return fn

        @check
        def tumbling_query_gives_the_rows_it_gives_on_kappa():
            create(server, "revenue_local", REVENUE)
            create(server, "revenue_kafka", on_kafka(REVENUE, boot))
            local = wait_quiet(server, "revenue_local")
            remote = wait_quiet(server, "revenue_kafka")
            assert remote["log"]["connector"] == "kafka", remote["log"]
            assert remote["log"]["timestamps"] == "log_append_time", remote["log"]
            assert remote["log"]["deterministic"] is True, remote["log"]
            assert local["log"]["connector"] == "kappa", local["log"]
            a = values(read_kappa(server, "revenue_local"))
            b = values(read_kafka(boot, "revenue_kafka"))
            assert len(a) > 100, len(a)
            same_rows(a, b)
            late = (local["late_records"], remote["late_records"])
            assert late[0] == late[1], late
            print(f"    {len(b)} rows equal, {late[0]} late on both", flush=True)

        @check
        def batch_job_gives_the_rows_it_gives_on_kappa():
            window = {"from": "2026-03-25T00:00:00Z", "to": "2026-03-27T00:00:00Z"}
            create(server, "daily_local", BATCH, **window)
            create(server, "daily_kafka", on_kafka(BATCH, boot), **window)
            wait_quiet(server, "daily_local", "finished")
            wait_quiet(server, "daily_kafka", "finished")
            a = values(read_kappa(server, "daily_local"))
            b = values(read_kafka(boot, "daily_kafka"))
            assert len(a) >= 4, a
            same_rows(a, b)
            print(f"    {len(b)} rows equal", flush=True)

        @check
        def kill9_mid_run_gives_the_clean_runs_output():
            clean = values(read_kafka(boot, "revenue_kafka"))
            mid_run = 0
            for i, delay in enumerate([0.1, 0.3, 0.6]):
                name = f"crash{i}"
                create(server, name, on_kafka(REVENUE, boot))
                time.sleep(delay)
                before = status(server, name)["records_in"]
                mid_run += before < len(lines)
                server.kill9()
                server.start()
                wait_quiet(server, name)
                got = values(read_kafka(boot, name))
                assert got == clean, f"{name}: {len(got)} rows after kill -9, {len(clean)} in a clean run"
                print(f"    kill -9 after {before} records in: {len(got)} rows, equal", flush=True)
            assert mid_run, "every kill came after the run had finished: give it more orders"

        @check
        def replay_on_kafka_gives_the_same_bytes():
            s, body = server.request("POST", "/v1/processors/revenue_kafka/replay", {})
            assert s in (200, 201), (s, body)
            version = json.loads(body)
            assert version["output"] == "revenue_kafka.v2", version
            deadline = time.time() + 180
            while True:
                v2 = [v for v in status(server, "revenue_kafka")["versions"] if v["version"] == 2][0]
                assert v2["status"] != "failed", v2
                if v2["status"] == "caught_up" and v2["records_out"] == status(server, "revenue_kafka")["records_out"]:
                    break
                assert time.time() < deadline, v2
                time.sleep(0.3)
            a = values(read_kafka(boot, "revenue_kafka"))
            b = values(read_kafka(boot, "revenue_kafka.v2"))
            assert a == b, f"{len(a)} vs {len(b)}"
            print(f"    {len(b)} records, byte for byte", flush=True)

        for fn in checks:
            t0 = time.time()
            try:
                fn()
                print(f"ok   {fn.__name__} ({time.time() - t0:.1f} s)", flush=True)
            except Exception:
                failures += 1
                print(f"FAIL {fn.__name__}", flush=True)
                traceback.print_exc()
    finally:
        server.stop()
        apache.stop()
        import shutil
        for d in (server.dir, apache.dir):
            shutil.rmtree(d, ignore_errors=True)
    if failures:
        print(f"{failures} check(s) failed; server log kept only while running", flush=True)
        sys.exit(1)
    print("processors on Apache Kafka: all checks passed", flush=True)


if __name__ == "__main__":
    main()
