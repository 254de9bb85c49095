"""The Dataspace Protocol 2025-1 HTTPS bindings, shared by the hub and other participants.

``vocab``: the context, message types and the error codes; ``schema``: validation of every
message against the specification's JSON Schemas (``schemas/dsp-2025-1``); ``jsonld``:
compaction of incoming keys to the 2025-1 context's terms; ``states``: the negotiation and
transfer state machines; ``messages``: builders of the messages a participant sends.
"""
