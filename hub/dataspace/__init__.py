"""The hub as a node of the data space: the Dataspace Protocol 2025-1 (see docs/dataspace.md)."""
