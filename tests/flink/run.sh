#!/usr/bin/env bash
# PyFlink against kappa and against Apache Kafka (issue 13; see run.py for what is checked):
# the seed's PyFlink job reading kappa's Kafka listener, and `kappa export flink` scripts on an
# Apache Kafka 4.1.1 broker. Installs what it needs — PyFlink 1.20 from PyPI into a virtualenv
# (tests/flink/target/venv), Flink's Kafka connector and kafka-clients from Maven Central into its
# pyflink/lib (the commands of docs/howto-kafka-flink.md), Apache Kafka through
# tests/kafka/apache — and fails loudly when a registry cannot be reached: never a skip.
# .ci/run calls it with a timeout.
set -euo pipefail
cd "$(dirname "$0")/../.."
FLINK_VERSION=1.20.3

command -v java >/dev/null && command -v mvn >/dev/null || {
    echo "java and mvn are needed for Flink and Apache Kafka" >&2
    exit 1
}
python3 -c 'import confluent_kafka' || {
    echo "confluent-kafka is missing: pip install confluent-kafka" >&2
    exit 1
}
if [ -z "${KAPPA_BIN:-}" ]; then
    cargo build --workspace --bins  # the workspace's features, as `cargo test --workspace` built them
    export KAPPA_BIN="$PWD/target/debug/kappa"
fi

venv=tests/flink/target/venv
if ! "$venv/bin/python" -c "import pyflink.version as v; assert v.__version__ == '$FLINK_VERSION'" 2>/dev/null; then
    rm -rf "$venv"
    python3 -m venv "$venv"
    if ! timeout 900 "$venv/bin/pip" install --quiet "apache-flink==$FLINK_VERSION"; then
        echo "FAILED: could not install apache-flink==$FLINK_VERSION from PyPI" >&2
        exit 1
    fi
fi
if ! (cd tests/flink && timeout 600 mvn -B -q dependency:copy-dependencies -DoutputDirectory=target/libs); then
    echo "FAILED: could not fetch flink-connector-kafka (3.4.0-1.20) from Maven Central" >&2
    exit 1
fi
lib=$("$venv/bin/python" -c 'import os, pyflink; print(os.path.dirname(pyflink.__file__))')/lib
cp tests/flink/target/libs/{flink-connector-kafka,kafka-clients,lz4-java,snappy-java,zstd-jni}-*.jar "$lib"/

if ! (cd tests/kafka/apache && timeout 900 mvn -B -q dependency:copy-dependencies -DoutputDirectory=target/libs); then
    echo "FAILED: could not fetch Apache Kafka (org.apache.kafka:kafka_2.13) from Maven Central" >&2
    exit 1
fi
FLINK_PYTHON="$PWD/$venv/bin/python" timeout 900 python3 tests/flink/run.py "$@"
