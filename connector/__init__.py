"""The vendor-side connector: xAPI endpoint, pipeline, spool. Never imports ``hub``."""
