#!/usr/bin/env bash
# Real Kafka clients (kcat, confluent-kafka, kafka-python, aiokafka) against the real kappa binary
# over loopback: see clients.py for what is checked. .ci/run installs the clients and calls this
# with a timeout; a missing client is a failure, never a skip.
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v kcat >/dev/null || { echo "kcat is missing: apt-get install -y kcat" >&2; exit 1; }
python3 -c 'import confluent_kafka, kafka, aiokafka' || {
    echo "Kafka client libraries are missing: pip install confluent-kafka kafka-python aiokafka" >&2
    exit 1
}
if [ -z "${KAPPA_BIN:-}" ]; then
    cargo build -p kappa
    export KAPPA_BIN="$PWD/target/debug/kappa"
fi
timeout 600 python3 tests/kafka/clients.py "$@"
