#!/usr/bin/env python3
"""librdkafka (confluent-kafka) producing 200-byte records with acks=all into kappa and into
Apache Kafka 4.x in the same run, then consuming them back.

kappa runs with --fsync always (acknowledged = flushed); Apache Kafka once with its default
flushing (acknowledged = in the page cache) and once with log.flush.interval.messages=1 (the
equal-durability setting). Reported: events/s, produce latency p50/p99 (send to delivery
report), consume events/s and server CPU-seconds, and kappa's ratios to each Kafka run.
Then the seed's tumbling query as a kappa processor over the same generated orders read from
Apache Kafka ('connector' = 'kafka') and from kappa's own log: input events per CPU-second of
the kappa process (and, for Kafka, of the broker too), in the same run.
Usage: KAPPA_BIN=target/release/kappa python3 tests/kafka/bench.py [--records N] [--orders N] [--json]
Figures, not assertions: this is a benchmark, never a test.
"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clients import ApacheKafka, Server  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def run(server, label, records):
    from confluent_kafka import Consumer, Producer
    topic = f"bench-{int(time.time() * 1000)}"
    server.create_topic(topic, 1)
    value = b"x" * 200
    p = Producer({"bootstrap.servers": server.bootstrap, "acks": "all", "linger.ms": 5,
                  "queue.buffering.max.messages": 1_000_000})
    latencies = []

    def report(err, msg, sent):
        assert err is None, err
        latencies.append(time.perf_counter() - sent)

    cpu0 = cpu_seconds(server.proc.pid)
    t0 = time.perf_counter()
    for i in range(records):
        sent = time.perf_counter()
        while True:
            try:
                p.produce(topic, value, on_delivery=lambda e, m, s=sent: report(e, m, s))
                break
            except BufferError:
                p.poll(0.01)
        if i % 1000 == 0:
            p.poll(0)
    assert p.flush(120) == 0
    produce_s = time.perf_counter() - t0
    produce_cpu = cpu_seconds(server.proc.pid) - cpu0
    latencies.sort()
    c = Consumer({"bootstrap.servers": server.bootstrap, "group.id": topic, "auto.offset.reset": "earliest",
                  "enable.auto.commit": False})
    c.subscribe([topic])
    got, t1, cpu1 = 0, None, cpu_seconds(server.proc.pid)
    deadline = time.time() + 120
    while got < records and time.time() < deadline:
        batch = c.consume(10_000, 0.5)
        if batch and t1 is None:
            t1 = time.perf_counter()
        got += sum(1 for m in batch if not m.error())
    consume_s = time.perf_counter() - (t1 or time.perf_counter())
    consume_cpu = cpu_seconds(server.proc.pid) - cpu1
    c.close()
    assert got == records, (got, records)
    return {"server": label, "records": records, "produce_events_per_s": records / produce_s,
            "produce_p50_ms": latencies[len(latencies) // 2] * 1000,
            "produce_p99_ms": latencies[int(len(latencies) * 0.99)] * 1000,
            "produce_server_cpu_s": produce_cpu, "consume_events_per_s": records / max(consume_s, 1e-9),
            "consume_server_cpu_s": consume_cpu}


def processor_run(server, label, name, sql, orders, broker=None):
    """CPU-seconds of the kappa process (and of the broker) while `sql` processes every order."""
    import processors
    cpu0 = cpu_seconds(server.proc.pid)
    b0 = cpu_seconds(broker.proc.pid) if broker else 0.0
    t0 = time.perf_counter()
    processors.create(server, name, sql)
    deadline = time.time() + 600
    while True:
        st = processors.status(server, name)
        assert st["status"] != "failed", st
        if st["records_in"] >= orders and st["lag"] == 0:
            break
        assert time.time() < deadline, st
        time.sleep(0.05)
    wall = time.perf_counter() - t0
    cpu = cpu_seconds(server.proc.pid) - cpu0
    out = {"log": label, "events": orders, "wall_s": wall, "kappa_cpu_s": cpu,
           "events_per_kappa_cpu_s": orders / max(cpu, 1e-9)}
    if broker:
        bcpu = cpu_seconds(broker.proc.pid) - b0
        out["broker_cpu_s"] = bcpu
        out["events_per_cpu_s_with_broker"] = orders / max(cpu + bcpu, 1e-9)
    return out


def processor_bench(n):
    """The seed query over n orders, from Apache Kafka and from kappa's own log."""
    import processors
    lines = processors.orders(n)[-n:]
    kafka, server = ApacheKafka(), Server(["--fsync", "always"])
    try:
        kafka.create_topic("order-events", 3)
        server.create_topic("order-events", 3)
        processors.produce_kafka(kafka.bootstrap, "order-events", lines)
        processors.produce_kappa(server, "order-events", lines)
        local = processor_run(server, "kappa's own log", "seed_local", processors.REVENUE, len(lines))
        remote = processor_run(server, "Apache Kafka", "seed_kafka",
                               processors.on_kafka(processors.REVENUE, kafka.bootstrap), len(lines), kafka)
    finally:
        server.stop()
        kafka.stop()
        import shutil
        for d in (server.dir, kafka.dir):
            shutil.rmtree(d, ignore_errors=True)
    return {"results": [local, remote],
            "kafka_vs_own_log": remote["events_per_kappa_cpu_s"] / local["events_per_kappa_cpu_s"]}


def main():
    records = int(sys.argv[sys.argv.index("--records") + 1]) if "--records" in sys.argv else 200_000
    orders = int(sys.argv[sys.argv.index("--orders") + 1]) if "--orders" in sys.argv else 200_000
    results = []
    kappa = Server(["--fsync", "always"])
    try:
        results.append(run(kappa, "kappa --fsync always", records))
    finally:
        kappa.stop()
    for label, extra in [("Apache Kafka (default flushing)", []),
                         ("Apache Kafka (flush.messages=1)", ["log.flush.interval.messages=1"])]:
        kafka = ApacheKafka(extra)
        try:
            results.append(run(kafka, label, records))
        finally:
            kafka.stop()
    k = results[0]
    ratios = {r["server"]: {
        "produce_events_per_s": k["produce_events_per_s"] / r["produce_events_per_s"],
        "produce_p99_ms (kafka/kappa)": r["produce_p99_ms"] / k["produce_p99_ms"],
        "produce_server_cpu_s (kafka/kappa)": r["produce_server_cpu_s"] / max(k["produce_server_cpu_s"], 1e-9),
        "consume_events_per_s": k["consume_events_per_s"] / r["consume_events_per_s"]} for r in results[1:]}
    proc = processor_bench(orders)
    if "--json" in sys.argv:
        print(json.dumps({"results": results, "kappa_ratios": ratios, "processor": proc}, indent=1))
        return
    for r in results:
        print(f"{r['server']:34} produce {r['produce_events_per_s']:>10,.0f} ev/s  p50 {r['produce_p50_ms']:7.2f} ms"
              f"  p99 {r['produce_p99_ms']:7.2f} ms  cpu {r['produce_server_cpu_s']:6.2f} s | consume "
              f"{r['consume_events_per_s']:>10,.0f} ev/s  cpu {r['consume_server_cpu_s']:5.2f} s")
    for name, ratio in ratios.items():
        print(f"kappa vs {name}: " + ", ".join(f"{k} {v:.2f}x" for k, v in ratio.items()))
    for r in proc["results"]:
        extra = f"  ({r['events_per_cpu_s_with_broker']:,.0f} counting the broker's CPU)" if "broker_cpu_s" in r else ""
        print(f"seed query reading {r['log']:16} {r['events']:>8,} events  {r['events_per_kappa_cpu_s']:>10,.0f} "
              f"events per kappa CPU-s{extra}")
    print(f"processor on Kafka vs on kappa's own log: {proc['kafka_vs_own_log']:.2f}x")


if __name__ == "__main__":
    main()
