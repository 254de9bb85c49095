"""Shared contract library: model, canonical form, signing, verification, state machine.

Imported by both the hub and the connector (which never import each other).
"""

import os

# A source checkout's compiled modules older than their sources never run: the build's
# record lies beside the packages there (never in an installed wheel), contracts/checkout.py
# checks it before any compiled module loads.
_RECORD = os.path.join(os.path.dirname(os.path.dirname(__file__)), ".venv", "compiled-modules.json")
if os.path.exists(_RECORD):
    from contracts.checkout import use_sources_if_stale

    use_sources_if_stale(_RECORD)
