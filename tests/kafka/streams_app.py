#!/usr/bin/env python3
"""The seed's Kafka Streams app (streams/, kafka-streams 4.x) against kappa.

Goal: the topology runs unchanged against kappa — it creates its internal topics (a repartition
and a changelog topic), counts completed orders per category per one-minute window, and its
output topic holds the counts an independent computation gives. Method: start the real binary,
create order-events (3 partitions) and category-counts-output, produce a burst of orders early in
a minute (so that the records and their repartitioned copies share one window), run the app,
and compare the last count per (category, window) in the output with a count over the input
records' timestamps read back with confluent-kafka.
"""
import collections
import datetime
import json
import os
import random
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clients import FIXTURE, Server, ck_consume, ck_produce  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def check_api_pairs(server, update):
    """The (api_key, version) pairs the Java client sent, against the fixture."""
    family = "java (kafka-streams 4.1.1)"
    seen = server.api_pairs().get(family, [])
    assert seen, "no requests from the Streams app were logged"
    fixture = json.load(open(FIXTURE))
    if update:
        fixture[family] = seen
        with open(FIXTURE, "w") as f:
            json.dump(fixture, f, indent=1, sort_keys=True)
            f.write("\n")
        return
    new = sorted(set(map(tuple, seen)) - {tuple(p) for p in fixture.get(family, [])})
    assert not new, f"the Streams app sent (api_key, version) pairs not in {FIXTURE}: {new}"


def main():
    libs = os.path.join(HERE, "streams", "target", "libs")
    jar = os.path.join(HERE, "streams", "target", "order-counts-1.jar")
    assert os.path.exists(jar), f"{jar} missing: run tests/kafka/run.sh (mvn package)"
    server = Server()
    app = None
    try:
        server.create_topic("order-events", 3)
        server.create_topic("category-counts-output", 1)
        while datetime.datetime.now(datetime.timezone.utc).second > 30:
            time.sleep(0.5)
        rng = random.Random(12)
        orders = []
        for i in range(300):
            orders.append({"order_id": f"o{i}", "user_id": f"u{rng.randrange(40)}", "total": rng.randrange(1, 100),
                           "category": rng.choice(["books", "games", "garden", "music"]),
                           "status": rng.choice(["completed", "completed", "cancelled"]),
                           "ts": "2026-03-25 10:00:00"})
        ck_produce(server, "order-events", [json.dumps(o).encode() for o in orders],
                   keys=[o["user_id"].encode() for o in orders], acks="all")
        state = tempfile.mkdtemp(prefix="streams-state-")
        app_log = os.path.join(server.dir, "streams.log")
        app = subprocess.Popen(["java", "-cp", f"{jar}:{libs}/*", "kappa.OrderCounts", server.bootstrap,
                                "order-counts", state], stdout=open(app_log, "w"), stderr=subprocess.STDOUT)
        inputs = ck_consume(server, "order-events", 300)
        expected = collections.Counter()
        for m in inputs:
            o = json.loads(m.value())
            if o["status"] == "completed":
                expected[(o["category"], m.timestamp()[1] // 60000 * 60000)] += 1
        completed = sum(expected.values())
        latest = {}
        deadline = time.time() + 120
        from confluent_kafka import Consumer
        c = Consumer({"bootstrap.servers": server.bootstrap, "group.id": "checker", "auto.offset.reset": "earliest"})
        c.subscribe(["category-counts-output"])
        while time.time() < deadline:
            m = c.poll(0.5)
            if m is not None and not m.error():
                row = json.loads(m.value())
                start = datetime.datetime.fromisoformat(row["windowStart"].replace("Z", "+00:00"))
                latest[(row["category"], int(start.timestamp() * 1000))] = row["count"]
            if latest == dict(expected):
                break
            assert app.poll() is None, "the Streams app exited:\n" + open(app_log).read()[-5000:]
        c.close()
        assert latest == dict(expected), \
            f"output {latest} != expected {dict(expected)}; app log {app_log}, server log {server.log}"
        topics = {t["name"] for t in json.loads(server.request("GET", "/v1/topics")[1])["topics"]}
        internal = sorted(t for t in topics if t.startswith("order-counts-"))
        assert any(t.endswith("-repartition") for t in internal) and any(t.endswith("-changelog") for t in internal), \
            internal
        check_api_pairs(server, "--update" in sys.argv)
        print(f"PASS the seed's Kafka Streams app: {completed} completed orders, {len(expected)} (category, minute) "
              f"counts match; internal topics {internal}")
    finally:
        if app is not None:
            app.terminate()
            try:
                app.wait(30)
            except subprocess.TimeoutExpired:
                app.kill()
        server.stop()


if __name__ == "__main__":
    main()
