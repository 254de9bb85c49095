"""Read a Kafka topic back from the broker, as an auditor would: from its start to its end."""

from __future__ import annotations

import json
import time
from typing import Any

from kafka import KafkaConsumer, TopicPartition


def read_topic(bootstrap: str, topic: str, timeout: float = 180) -> list[dict[str, Any]] | None:
    """Every record of ``topic`` from its start to the end offsets it has now (a pause
    between fetches does not end the read early); None when the end is not reached within
    ``timeout`` seconds."""
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, consumer_timeout_ms=1000
    )
    try:
        consumer.topics()  # loads the metadata
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        end = consumer.end_offsets(partitions)
        events: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        while any(consumer.position(p) < end[p] for p in partitions):
            if time.monotonic() > deadline:
                return None
            events += [json.loads(m.value) for m in consumer]
        return events
    finally:
        consumer.close()
