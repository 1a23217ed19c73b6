#!/usr/bin/env python3
"""librdkafka (confluent-kafka) producing 200-byte records with acks=all into kappa and into
Apache Kafka 4.x in the same run, then consuming them back.

kappa runs with --fsync always (acknowledged = flushed); Apache Kafka once with its default
flushing (acknowledged = in the page cache) and once with log.flush.interval.messages=1 (the
equal-durability setting). Reported: events/s, produce latency p50/p99 (send to delivery
report), consume events/s and server CPU-seconds, and kappa's ratios to each Kafka run.
Usage: KAPPA_BIN=target/release/kappa python3 tests/kafka/bench.py [--records N] [--json]
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


def main():
    records = int(sys.argv[sys.argv.index("--records") + 1]) if "--records" in sys.argv else 200_000
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
    if "--json" in sys.argv:
        print(json.dumps({"results": results, "kappa_ratios": ratios}, indent=1))
        return
    for r in results:
        print(f"{r['server']:34} produce {r['produce_events_per_s']:>10,.0f} ev/s  p50 {r['produce_p50_ms']:7.2f} ms"
              f"  p99 {r['produce_p99_ms']:7.2f} ms  cpu {r['produce_server_cpu_s']:6.2f} s | consume "
              f"{r['consume_events_per_s']:>10,.0f} ev/s  cpu {r['consume_server_cpu_s']:5.2f} s")
    for name, ratio in ratios.items():
        print(f"kappa vs {name}: " + ", ".join(f"{k} {v:.2f}x" for k, v in ratio.items()))


if __name__ == "__main__":
    main()
