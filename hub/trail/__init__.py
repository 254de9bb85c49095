"""The audit trail: the hash-chained, sealed log every area writes to (kernel layer).

``writer`` appends events, ``chain`` links them, ``hashing``/``canonical`` define an event's
hash, ``seal`` signs the chain head, ``stream`` reads events back, ``models`` holds the tables,
``merkle`` and ``checkpoints`` sign the log's Merkle tree, ``retention`` purges whole expired
months sealed by a checkpoint (the hub's trail and the pseudonymisation service's own).
It imports nothing above the kernel; the DPO's audit feature (``hub.audit``) reads it.
"""
