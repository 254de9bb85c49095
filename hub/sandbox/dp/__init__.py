"""Automatic release under differential privacy (the default release path).

``shape`` checks and rewrites the one query shape it releases, ``codebook`` holds the
public bounds of per-pupil values, ``noise`` calls OpenDP for the noise and its
accounting, ``budget`` keeps each project's ledger (``models``), ``release`` ties them
together for ``hub.sandbox.jobs``.
"""
