#!/bin/sh
# Create the hub's topics (idempotent). Partitions: enough for the hub replicas to share.
set -eu
for topic in edh.batch.registered edh.audit.alert edh.contract.changed; do
  /opt/kafka/bin/kafka-topics.sh --bootstrap-server kafka:9092 --create --if-not-exists \
    --topic "$topic" --partitions "${EDH_TOPIC_PARTITIONS:-6}" --replication-factor 1
done
