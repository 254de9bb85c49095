"""Shared contract library: model, canonical form, signing, verification, state machine.

Imported by both the hub and the connector (which never import each other).
"""
