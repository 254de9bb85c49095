"""Erasure and re-pseudonymisation, carried everywhere the hub holds a pupil's data.

An erasure request (``register``) and a contract's re-pseudonymisation (``rekey``) each
change the erasure register and the record of use (``hub.pseudonym``), rewrite the lake
and its quarantine (``hub.ingest.erasure``), the airlock's cell sketches
(``hub.sandbox.airlock.ledger``) and the catalog's counts, in one transaction. This area
sits above those it coordinates; none of them imports it. It also holds the ``edh ingest``
commands, which maintain the lake across areas (retention purge of the lake and the
sandbox's results, erasure, verification).
"""
