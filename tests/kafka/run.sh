#!/usr/bin/env bash
# Real Kafka clients (kcat, confluent-kafka, kafka-python, aiokafka) against the real kappa binary
# over loopback, then the same scripts against Apache Kafka 4.x (one KRaft broker on loopback,
# fetched from Maven Central): see clients.py for what is checked. .ci/run installs the clients
# and calls this with a timeout; a missing client or an unreachable Maven Central is a failure,
# never a skip.
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v kcat >/dev/null || { echo "kcat is missing: apt-get install -y kcat" >&2; exit 1; }
python3 -c 'import confluent_kafka, kafka, aiokafka' || {
    echo "Kafka client libraries are missing: pip install confluent-kafka kafka-python aiokafka" >&2
    exit 1
}
if [ -z "${KAPPA_BIN:-}" ]; then
    cargo build --workspace --bins  # the workspace's features, as `cargo test --workspace` built them
    export KAPPA_BIN="$PWD/target/debug/kappa"
fi
command -v java >/dev/null && command -v mvn >/dev/null || {
    echo "java and mvn are needed for the Java client, Kafka Streams and Apache Kafka" >&2
    exit 1
}
# The seed's Kafka Streams app and the Java client checks (kafka-streams 4.x, Maven Central).
if ! (cd tests/kafka/streams && timeout 900 mvn -B -q package dependency:copy-dependencies -DoutputDirectory=target/libs); then
    echo "FAILED: could not build the Java apps (kafka-streams from Maven Central)" >&2
    exit 1
fi
timeout 600 python3 tests/kafka/clients.py "$@"

if ! (cd tests/kafka/apache && timeout 900 mvn -B -q dependency:copy-dependencies -DoutputDirectory=target/libs); then
    echo "FAILED: could not fetch Apache Kafka (org.apache.kafka:kafka_2.13) from Maven Central;" \
        "the side-by-side run cannot be skipped" >&2
    exit 1
fi
timeout 600 python3 tests/kafka/clients.py --apache "$@"

timeout 600 python3 tests/kafka/streams_app.py

# Processors on Apache Kafka ('connector' = 'kafka'): the seed's queries read and write the
# broker and give the rows they give on kappa's own log, exactly once across kill -9.
timeout 600 python3 tests/kafka/processors.py
