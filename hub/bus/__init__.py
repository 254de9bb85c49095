"""Event bus: in-process (default) or Kafka (production)."""
