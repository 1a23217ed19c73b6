#!/usr/bin/env python3
"""Real Kafka clients against `kappa serve --kafka-listen`.

Goal: show that kcat, confluent-kafka (librdkafka), kafka-python and aiokafka produce, consume,
commit and administer topics against kappa, that HTTP and Kafka see the same records and groups,
and that acknowledged Kafka produces survive kill -9 exactly once. Method: this script starts the
real binary (KAPPA_BIN) on a fresh data dir with RUST_LOG=kappa::kafka=debug, runs each check
against it, and at the end compares the (api_key, version) pairs every client sent (from the
server's debug log) with the fixture api_versions.json beside this file (--update rewrites it).
Every check fails loudly; a missing client library is a failure, not a skip.
"""
import asyncio
import base64
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.request
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURE = os.path.join(HERE, "api_versions.json")


class Server:
    """A kappa server on loopback ports the OS picks; restartable on the same data dir."""

    def __init__(self, extra=()):
        self.dir = tempfile.mkdtemp(prefix="kappa-kafka-")
        self.data = os.path.join(self.dir, "data")
        self.log = os.path.join(self.dir, "server.log")
        self.extra = list(extra)
        self.kafka_port = None
        self.start()

    def start(self):
        binary = os.environ.get("KAPPA_BIN") or os.path.join(HERE, "..", "..", "target", "debug", "kappa")
        # The same Kafka port across restarts, so clients reconnect to the restarted server.
        listen = f"127.0.0.1:{self.kafka_port or 0}"
        env = dict(os.environ, RUST_LOG="info,kappa::kafka=debug", NO_COLOR="1")
        self.proc = subprocess.Popen(
            [binary, "serve", "--data", self.data, "--listen", "127.0.0.1:0", "--kafka-listen", listen] + self.extra,
            stdout=subprocess.PIPE, stderr=open(self.log, "a"), env=env, text=True)
        first = self.proc.stdout.readline().strip()
        second = self.proc.stdout.readline().strip()
        assert first.startswith("listening on http://"), f"first line {first!r}; log: {self.log}"
        assert second.startswith("kafka listening on "), f"second line {second!r}"
        self.http = first[len("listening on "):]
        self.bootstrap = second[len("kafka listening on "):]
        self.kafka_port = int(self.bootstrap.rsplit(":", 1)[1])
        threading.Thread(target=lambda: [None for _ in self.proc.stdout], daemon=True).start()

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    def request(self, method, path, body=None, headers=None):
        data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        req = urllib.request.Request(self.http + path, data=data, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def create_topic(self, name, partitions=1):
        status, body = self.request("POST", "/v1/topics", {"name": name, "partitions": partitions})
        assert status == 201, (status, body)

    def events(self, topic, **params):
        q = "&".join(f"{k}={v}" for k, v in params.items())
        status, body = self.request("GET", f"/v1/topics/{topic}/events?{q}")
        assert status == 200, (status, body)
        return [json.loads(line) for line in body.decode().splitlines()]

    def api_pairs(self):
        """{client: sorted [(api_key, version)]} from the debug log."""
        pairs = {}
        pat = re.compile(r'kafka request api_key=(\d+) api_version=(\d+) api=\w+ client_id="([^"]*)"')
        for line in open(self.log, errors="replace"):
            m = pat.search(re.sub(r"\x1b\[[0-9;]*m", "", line))
            if m:
                client = client_family(m.group(3))
                pairs.setdefault(client, set()).add((int(m.group(1)), int(m.group(2))))
        return {c: sorted(p) for c, p in pairs.items()}


class ApacheKafka:
    """One Apache Kafka 4.x broker in KRaft mode on loopback, from the jars that
    `mvn dependency:copy-dependencies` put in apache/target/libs (see run.sh). Records are
    stamped with LogAppendTime, as kappa stamps them."""

    http = None

    def __init__(self, extra_properties=()):
        libs = os.path.join(HERE, "apache", "target", "libs")
        if not os.path.isdir(libs) or not os.listdir(libs):
            raise SystemExit(f"Apache Kafka jars are missing in {libs}: run tests/kafka/run.sh (it fetches them "
                             "from Maven Central) — Maven Central unreachable is a failure, not a skip")
        self.dir = tempfile.mkdtemp(prefix="apache-kafka-")
        self.log = os.path.join(self.dir, "server.log")
        port, controller = free_port(), free_port()
        self.bootstrap = f"127.0.0.1:{port}"
        props = os.path.join(self.dir, "server.properties")
        with open(props, "w") as f:
            f.write("\n".join([
                "process.roles=broker,controller", "node.id=1",
                f"controller.quorum.bootstrap.servers=127.0.0.1:{controller}",
                f"listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller}",
                f"advertised.listeners=PLAINTEXT://127.0.0.1:{port}",
                "controller.listener.names=CONTROLLER",
                "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
                f"log.dirs={self.dir}/logs", "offsets.topic.replication.factor=1",
                "transaction.state.log.replication.factor=1", "transaction.state.log.min.isr=1",
                "group.initial.rebalance.delay.ms=0", "log.message.timestamp.type=LogAppendTime",
                *extra_properties, ""]))
        cp = ["-cp", os.path.join(libs, "*")]
        cluster = subprocess.run(["java", *cp, "kafka.tools.StorageTool", "random-uuid"], capture_output=True,
                                 text=True, check=True).stdout.split()[-1]
        subprocess.run(["java", *cp, "kafka.tools.StorageTool", "format", "-t", cluster, "-c", props, "--standalone"],
                       capture_output=True, check=True, timeout=120)
        self.proc = subprocess.Popen(["java", "-Xmx768m", *cp, "kafka.Kafka", props],
                                     stdout=open(self.log, "a"), stderr=subprocess.STDOUT)
        from confluent_kafka.admin import AdminClient
        deadline = time.time() + 120
        while True:
            try:
                AdminClient({"bootstrap.servers": self.bootstrap}).list_topics(timeout=2)
                break
            except Exception:
                assert self.proc.poll() is None and time.time() < deadline, f"Apache Kafka did not start: {self.log}"
                time.sleep(0.5)

    def create_topic(self, name, partitions=1):
        from confluent_kafka.admin import AdminClient, NewTopic
        admin = AdminClient({"bootstrap.servers": self.bootstrap})
        admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])[name].result(30)
        deadline = time.time() + 30
        while len(admin.list_topics(name, timeout=5).topics[name].partitions) < partitions:
            assert time.time() < deadline
            time.sleep(0.1)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def client_family(client_id):
    if client_id.startswith("kcat"):
        return "kcat"
    if client_id.startswith("confluent") or client_id == "rdkafka":
        return "confluent-kafka"
    if client_id.startswith("aiokafka"):
        return "aiokafka"
    if client_id.startswith("kafka-python"):
        return "kafka-python"
    if client_id.startswith("order-counts"):
        return "java (kafka-streams 4.1.1)"
    if client_id.startswith("java-client-checks") or client_id.startswith("producer-") \
            or client_id.startswith("consumer-") or client_id.startswith("adminclient-"):
        return "java (kafka-clients 4.1.1)"
    return "other"


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def kcat(server, *args, stdin=None):
    r = subprocess.run(["kcat", "-b", server.bootstrap, "-X", "client.id=kcat", *args], input=stdin,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, f"kcat {args}: {r.stderr}"
    return r.stdout


# ---------------------------------------------------------------- kcat

def test_kcat(server):
    topic = unique("kcat")
    server.create_topic(topic, 2)
    meta = kcat(server, "-L", "-t", topic)
    assert f'topic "{topic}" with 2 partitions' in meta, meta
    kcat(server, "-P", "-t", topic, "-p", "0", "-K:", stdin="k1:{\"n\":1}\nk2:{\"n\":2}\nk3:{\"n\":3}\n")
    out = kcat(server, "-C", "-t", topic, "-p", "0", "-o", "beginning", "-e", "-f", "%o|%k|%s|%T\n")
    rows = [line.split("|") for line in out.splitlines()]
    assert [r[:3] for r in rows] == [["0", "k1", '{"n":1}'], ["1", "k2", '{"n":2}'], ["2", "k3", '{"n":3}']], rows
    out = kcat(server, "-C", "-t", topic, "-p", "0", "-o", "1", "-e", "-f", "%o\n")
    assert out.split() == ["1", "2"], out
    # -o s@<ms>: from the first record stamped at or after the second record's time.
    t1 = rows[1][3]
    out = kcat(server, "-C", "-t", topic, "-p", "0", "-o", f"s@{t1}", "-e", "-f", "%o\n")
    first = int(out.split()[0])
    assert first <= 1 and out.split()[-1] == "2", out
    if server.http:
        http = server.events(topic, partition=0, offset=0)
        assert [(e["offset"], e["key"], e["value"], str(e["timestamp"])) for e in http] == \
            [(int(r[0]), r[1], json.loads(r[2]), r[3]) for r in rows], http
    # Keyed produce without -p: the partition is picked by the key, as HTTP's ?key= does.
    kcat(server, "-P", "-t", topic, "-K:", stdin="same:{\"a\":1}\nsame:{\"a\":2}\n")
    out = kcat(server, "-C", "-t", topic, "-o", "beginning", "-e", "-f", "%k %p\n")
    parts = {line.split()[1] for line in out.splitlines() if line.startswith("same ")}
    assert len(parts) == 1, out


# ---------------------------------------------------------------- confluent-kafka

def ck_conf(server, **extra):
    conf = {"bootstrap.servers": server.bootstrap, "client.id": "confluent-kafka"}
    conf.update(extra)
    return conf


def ck_produce(server, topic, values, keys=None, **conf):
    from confluent_kafka import Producer
    p = Producer(ck_conf(server, **conf))
    acked = []
    errors = []

    def cb(err, msg):
        (errors if err else acked).append(err or (msg.partition(), msg.offset(), msg.timestamp()))

    for i, v in enumerate(values):
        p.produce(topic, value=v, key=None if keys is None else keys[i], on_delivery=cb)
    assert p.flush(30) == 0, "confluent producer did not flush"
    assert not errors, errors
    return acked


def ck_consume(server, topic, n, group=None, commit=False, timeout=30, **conf):
    from confluent_kafka import Consumer
    c = Consumer(ck_conf(server, **{"group.id": group or unique("g"), "auto.offset.reset": "earliest",
                                    "enable.auto.commit": False, **conf}))
    c.subscribe([topic])
    got = []
    deadline = time.time() + timeout
    while len(got) < n and time.time() < deadline:
        m = c.poll(0.5)
        if m is None:
            continue
        assert not m.error(), m.error()
        got.append(m)
    if commit and got:
        c.commit(asynchronous=False)
    c.close()
    return got


def test_confluent_produce_consume(server):
    topic = unique("ck")
    server.create_topic(topic, 1)
    values = [json.dumps({"i": i}).encode() for i in range(100)]
    acked = ck_produce(server, topic, values, acks="all")
    assert sorted(o for _, o, _ in acked) == list(range(100)), acked
    msgs = ck_consume(server, topic, 100)
    assert [m.value() for m in msgs] == values
    from confluent_kafka import TIMESTAMP_LOG_APPEND_TIME
    assert all(m.timestamp()[0] == TIMESTAMP_LOG_APPEND_TIME for m in msgs), msgs[0].timestamp()


def test_confluent_idempotent(server):
    topic = unique("ckidem")
    server.create_topic(topic, 3)
    values = [f"v{i}".encode() for i in range(300)]
    keys = [f"k{i % 7}".encode() for i in range(300)]
    ck_produce(server, topic, values, keys, **{"enable.idempotence": True, "acks": "all", "linger.ms": 5})
    msgs = ck_consume(server, topic, 300)
    assert sorted(m.value() for m in msgs) == sorted(values), len(msgs)
    if server.http:
        http = server.events(topic, limit=1000)
        assert len(http) == 300 and all("value_b64" in e for e in http), http[:2]


def test_confluent_group_resume(server):
    topic = unique("ckgrp")
    group = unique("group")
    server.create_topic(topic, 2)
    ck_produce(server, topic, [json.dumps({"i": i}).encode() for i in range(40)], acks="all")
    first = ck_consume(server, topic, 40, group=group, commit=True)
    assert len(first) == 40
    ck_produce(server, topic, [json.dumps({"i": i}).encode() for i in range(40, 50)], acks="all")
    second = ck_consume(server, topic, 10, group=group, commit=True, timeout=15)
    assert sorted(json.loads(m.value())["i"] for m in second) == list(range(40, 50)), [m.value() for m in second]
    # ListGroups and DescribeGroups see it (Empty now that its consumers left).
    from confluent_kafka.admin import AdminClient
    admin = AdminClient(ck_conf(server))
    listed = admin.list_consumer_groups().result(30)
    assert group in {g.group_id for g in listed.valid}, listed.valid
    described = admin.describe_consumer_groups([group])[group].result(30)
    assert described.group_id == group and not described.members, described
    if not server.http:
        return
    # The commit shows on the HTTP API, with lag 0.
    status, body = server.request("GET", f"/v1/groups/{group}")
    assert status == 200, body
    g = json.loads(body)
    assert sum(p["offset"] for p in g["offsets"]) == 50, g
    assert [p["lag"] for p in g["offsets"]] == [0, 0] and g["lag"] == 0, g
    ck_produce(server, topic, [b'{"late":1}'] * 5, acks="all")
    g = json.loads(server.request("GET", f"/v1/groups/{group}")[1])
    assert g["lag"] == 5, g


def test_confluent_two_members_share_4_partitions(server):
    from confluent_kafka import Consumer
    topic = unique("ckshare")
    group = unique("share")
    server.create_topic(topic, 4)
    ck_produce(server, topic, [f"x{i}".encode() for i in range(200)], keys=[f"k{i}".encode() for i in range(200)],
               acks="all")
    consumers = [Consumer(ck_conf(server, **{"group.id": group, "auto.offset.reset": "earliest",
                                              "enable.auto.commit": False})) for _ in range(2)]
    for c in consumers:
        c.subscribe([topic])
    got = [[], []]
    assigned = [set(), set()]
    deadline = time.time() + 60
    while time.time() < deadline:
        for i, c in enumerate(consumers):
            m = c.poll(0.2)
            if m is not None and not m.error():
                got[i].append((m.partition(), m.offset()))
            assigned[i] = {tp.partition for tp in c.assignment()}
        if len(set(got[0] + got[1])) >= 200 and all(assigned) and not (assigned[0] & assigned[1]) \
                and (assigned[0] | assigned[1]) == {0, 1, 2, 3}:
            break
    for c in consumers:
        c.close()
    print("  assignments", assigned, "records", len(got[0]), len(got[1]))
    assert assigned[0] and assigned[1], assigned
    assert not (assigned[0] & assigned[1]) and (assigned[0] | assigned[1]) == {0, 1, 2, 3}, assigned
    # Complete: every record was read by one of the two (a partition that moved in the
    # rebalance is read again from the start by its new owner, as nothing was committed).
    everything = set(got[0] + got[1])
    assert len(everything) == 200, len(everything)
    for i in (0, 1):
        assert {p for p, _ in got[i]} <= {0, 1, 2, 3}


def test_confluent_admin(server):
    from confluent_kafka.admin import AdminClient, NewTopic
    admin = AdminClient(ck_conf(server))
    topic = unique("ckadmin")
    fs = admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])
    fs[topic].result(30)
    md = admin.list_topics(topic, timeout=10)
    assert len(md.topics[topic].partitions) == 3
    fs = admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])
    try:
        fs[topic].result(30)
        raise AssertionError("creating an existing topic succeeded")
    except Exception as e:
        assert "TOPIC_ALREADY_EXISTS" in str(e) or "already exists" in str(e), e
    admin.delete_topics([topic])[topic].result(30)
    if server.http:
        status, _ = server.request("GET", f"/v1/topics/{topic}")
        assert status == 404


def test_confluent_list_offsets(server):
    from confluent_kafka import Consumer, TopicPartition
    topic = unique("ckoff")
    server.create_topic(topic, 1)
    ck_produce(server, topic, [b'{"a":1}'] * 5, acks="all")
    time.sleep(0.05)
    acked = ck_produce(server, topic, [b'{"b":2}'] * 5, acks="all")
    t_second = min(ts for _, _, (_, ts) in acked)
    c = Consumer(ck_conf(server, **{"group.id": unique("g")}))
    lo, hi = c.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
    assert (lo, hi) == (0, 10), (lo, hi)
    [tp] = c.offsets_for_times([TopicPartition(topic, 0, t_second)], timeout=10)
    assert tp.offset == 5, tp
    [tp] = c.offsets_for_times([TopicPartition(topic, 0, t_second + 10_000_000)], timeout=10)
    assert tp.offset == -1, tp
    c.close()


def test_http_and_kafka_agree(server):
    """HTTP-produced records read over Kafka with the same offsets, timestamps, keys and bytes,
    and Kafka-produced records (binary values, non-UTF-8 keys) read over HTTP."""
    topic = unique("cross")
    server.create_topic(topic, 1)
    status, body = server.request("POST", f"/v1/topics/{topic}/events?key=user",
                                  b'[{"user":"ann","n":1},{"user":"bob","n":2}]',
                                  {"content-type": "application/json"})
    assert status == 200, body
    http = server.events(topic, offset=0)
    msgs = ck_consume(server, topic, 2)
    assert [(m.offset(), m.timestamp()[1], m.key(), json.loads(m.value())) for m in msgs] == \
        [(e["offset"], e["timestamp"], e["key"].encode(), e["value"]) for e in http], (msgs, http)
    ck_produce(server, topic, [b"\x00\xffbinary", b'{"ok":true}'], keys=[b"\xff\xfe", b"text"], acks="all")
    http = server.events(topic, offset=2)
    assert base64.b64decode(http[0]["value_b64"]) == b"\x00\xffbinary", http[0]
    assert base64.b64decode(http[0]["key_b64"]) == b"\xff\xfe", http[0]
    assert http[1]["value"] == {"ok": True} and http[1]["key"] == "text", http[1]
    msgs = ck_consume(server, topic, 4)
    assert [m.value() for m in msgs[2:]] == [b"\x00\xffbinary", b'{"ok":true}']
    assert [m.timestamp()[1] for m in msgs[2:]] == [e["timestamp"] for e in http]


def test_http_commit_seen_by_kafka(server):
    from confluent_kafka import Consumer, TopicPartition
    topic = unique("hc")
    group = unique("hg")
    server.create_topic(topic, 1)
    ck_produce(server, topic, [b'{"n":1}'] * 10, acks="all")
    status, body = server.request("POST", f"/v1/groups/{group}/offsets",
                                  {"topic": topic, "partition": 0, "offset": 7},
                                  {"content-type": "application/json"})
    assert status in (200, 201, 204), (status, body)
    c = Consumer(ck_conf(server, **{"group.id": group, "auto.offset.reset": "earliest"}))
    [tp] = c.committed([TopicPartition(topic, 0)], timeout=10)
    assert tp.offset == 7, tp
    c.subscribe([topic])
    m = None
    deadline = time.time() + 20
    while m is None and time.time() < deadline:
        m = c.poll(0.5)
    assert m is not None and m.offset() == 7, m
    c.close()


def test_kill9_after_acks(server):
    """Acknowledged idempotent produces survive kill -9, once each; a retry after the restart
    is appended once (librdkafka keeps its producer id across the reconnect)."""
    topic = unique("crash")
    server.create_topic(topic, 2)
    values = [json.dumps({"i": i}).encode() for i in range(500)]
    ck_produce(server, topic, values, keys=[str(i).encode() for i in range(500)],
               **{"acks": "all", "enable.idempotence": True})
    server.kill9()
    server.start()
    msgs = ck_consume(server, topic, 500, timeout=40)
    got = sorted(json.loads(m.value())["i"] for m in msgs)
    assert got == list(range(500)), (len(got), got[:5])
    more = ck_consume(server, topic, 501, timeout=3)
    assert len(more) == 500, len(more)


# ---------------------------------------------------------------- kafka-python

def test_kafka_python(server):
    from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
    from kafka.admin import NewTopic
    admin = KafkaAdminClient(bootstrap_servers=server.bootstrap, client_id="kafka-python-admin")
    topic = unique("kp")
    admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1)])
    producer = KafkaProducer(bootstrap_servers=server.bootstrap, acks="all", enable_idempotence=True,
                             client_id="kafka-python-producer")
    futures = [producer.send(topic, key=f"k{i}".encode(), value=json.dumps({"i": i}).encode()) for i in range(50)]
    producer.flush(30)
    metas = [f.get(30) for f in futures]
    producer.close()
    assert len({(m.partition, m.offset) for m in metas}) == 50
    group = unique("kpg")
    consumer = KafkaConsumer(topic, bootstrap_servers=server.bootstrap, group_id=group,
                             auto_offset_reset="earliest", enable_auto_commit=False,
                             client_id="kafka-python-consumer", consumer_timeout_ms=15000)
    got = []
    for m in consumer:
        got.append(m)
        if len(got) == 30:
            break
    consumer.commit()
    consumer.close()
    consumer = KafkaConsumer(topic, bootstrap_servers=server.bootstrap, group_id=group,
                             auto_offset_reset="earliest", enable_auto_commit=False,
                             client_id="kafka-python-consumer", consumer_timeout_ms=5000)
    rest = list(consumer)
    consumer.close()
    seen = sorted(json.loads(m.value)["i"] for m in got + rest)
    assert seen == list(range(50)), seen
    c = KafkaConsumer(bootstrap_servers=server.bootstrap, client_id="kafka-python-offsets")
    tps = [TopicPartition(topic, p) for p in (0, 1)]
    begin, end = c.beginning_offsets(tps), c.end_offsets(tps)
    assert all(begin[tp] == 0 for tp in tps) and sum(end.values()) == 50, (begin, end)
    ts = c.offsets_for_times({tps[0]: 0})
    assert ts[tps[0]] is not None and ts[tps[0]].offset == 0, ts
    c.close()
    admin.delete_topics([topic])
    admin.close()


# ---------------------------------------------------------------- aiokafka

def test_aiokafka(server):
    asyncio.run(aiokafka_main(server))


async def aiokafka_main(server):
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic
    admin = AIOKafkaAdminClient(bootstrap_servers=server.bootstrap, client_id="aiokafka-admin")
    await admin.start()
    topic = unique("aio")
    await admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1)])
    producer = AIOKafkaProducer(bootstrap_servers=server.bootstrap, acks="all", enable_idempotence=True,
                                client_id="aiokafka-producer")
    await producer.start()
    metas = [await producer.send_and_wait(topic, key=f"k{i}".encode(), value=json.dumps({"i": i}).encode())
             for i in range(40)]
    await producer.stop()
    assert len({(m.partition, m.offset) for m in metas}) == 40
    group = unique("aiog")
    got = []
    for round_ in range(2):
        consumer = AIOKafkaConsumer(topic, bootstrap_servers=server.bootstrap, group_id=group,
                                    auto_offset_reset="earliest", enable_auto_commit=False,
                                    client_id="aiokafka-consumer")
        await consumer.start()
        want = 25 if round_ == 0 else 15
        batch = []
        deadline = time.time() + 30
        while len(batch) < want and time.time() < deadline:
            records = await consumer.getmany(timeout_ms=500, max_records=want - len(batch))
            for recs in records.values():
                batch.extend(recs)
        await consumer.commit()
        await consumer.stop()
        got.extend(batch)
    assert sorted(json.loads(m.value)["i"] for m in got) == list(range(40)), len(got)
    consumer = AIOKafkaConsumer(bootstrap_servers=server.bootstrap, client_id="aiokafka-offsets")
    await consumer.start()
    tps = [TopicPartition(topic, p) for p in (0, 1)]
    begin = await consumer.beginning_offsets(tps)
    end = await consumer.end_offsets(tps)
    ts = await consumer.offsets_for_times({tps[0]: 0})
    await consumer.stop()
    assert all(v == 0 for v in begin.values()) and sum(end.values()) == 40, (begin, end)
    assert ts[tps[0]] is not None and ts[tps[0]].offset == 0, ts
    await admin.delete_topics([topic])
    await admin.close()


# ---------------------------------------------------------------- the Java client

def test_java_client(server):
    """kafka-clients 4.x (streams/src/main/java/kappa/ClientChecks.java): admin, idempotent
    acks=all produce, consume, group resume, ListOffsets."""
    base = os.path.join(HERE, "streams", "target")
    jar = os.path.join(base, "order-counts-1.jar")
    assert os.path.exists(jar), f"{jar} missing: run tests/kafka/run.sh (it builds it with mvn)"
    r = subprocess.run(["java", "-cp", f"{jar}:{base}/libs/*", "kappa.ClientChecks", server.bootstrap],
                       capture_output=True, text=True, timeout=180)
    passed = [line for line in r.stdout.splitlines() if line.startswith("PASS")]
    assert r.returncode == 0, f"Java client checks failed after {passed}:\n{r.stderr[-3000:]}"
    assert len(passed) == 6, r.stdout


TESTS = [
    test_kcat,
    test_confluent_produce_consume,
    test_confluent_idempotent,
    test_confluent_group_resume,
    test_confluent_two_members_share_4_partitions,
    test_confluent_admin,
    test_confluent_list_offsets,
    test_http_and_kafka_agree,
    test_http_commit_seen_by_kafka,
    test_kafka_python,
    test_aiokafka,
    test_java_client,
    test_kill9_after_acks,
]


# Checks that need kappa's HTTP API or kill the server: not run against Apache Kafka.
KAPPA_ONLY = {"test_http_and_kafka_agree", "test_http_commit_seen_by_kafka", "test_kill9_after_acks"}


def main():
    update = "--update" in sys.argv
    apache = "--apache" in sys.argv
    only = [a for a in sys.argv[1:] if not a.startswith("--")]
    server = ApacheKafka() if apache else Server()
    print(f"against {'Apache Kafka' if apache else 'kappa'} at {server.bootstrap}", flush=True)
    failed = []
    try:
        for t in TESTS:
            if only and t.__name__ not in only:
                continue
            if apache and t.__name__ in KAPPA_ONLY:
                continue
            start = time.time()
            try:
                t(server)
                print(f"PASS {t.__name__} ({time.time() - start:.1f}s)", flush=True)
            except Exception:
                failed.append(t.__name__)
                print(f"FAIL {t.__name__}\n{traceback.format_exc()}", flush=True)
        pairs = {} if apache else server.api_pairs()
        if update and not apache:
            fixture = json.load(open(FIXTURE)) if os.path.exists(FIXTURE) else {}
            fixture.update(pairs)  # other families (the Streams app's) are kept
            with open(FIXTURE, "w") as f:
                json.dump(fixture, f, indent=1, sort_keys=True)
                f.write("\n")
            print(f"wrote {FIXTURE}")
        elif not only:
            fixture = json.load(open(FIXTURE))
            for client, seen in pairs.items():
                known = {tuple(p) for p in fixture.get(client, [])}
                new = sorted(set(map(tuple, seen)) - known)
                if new:
                    failed.append(f"api pairs of {client}")
                    print(f"FAIL {client} sent (api_key, version) pairs not in {FIXTURE}: {new}")
    finally:
        server.stop()
    if failed:
        print(f"{len(failed)} failed: {failed}; server log: {server.log}")
        sys.exit(1)
    print("all passed")


if __name__ == "__main__":
    main()
