"""pyarrow as the connector loads it: Arrow's C++ code allocating with the C library.

Arrow picks its C++ default memory pool once, when pyarrow loads (``mimalloc`` unless
``ARROW_DEFAULT_MEMORY_POOL`` names another). ``pyarrow.set_memory_pool`` later changes
only the pool pyarrow's own calls use: the Parquet writer's internal buffers kept coming
from mimalloc, whose pages grew from ~7 to ~13 MB over the batches of a 1,000,000
statement ``push``. When this module is the first to load pyarrow, that pool is the
system allocator (glibc returns its freed memory, see ``lake.use_system_allocator``); the
variable is restored afterwards, so processes started later see the environment they were
given. A pool named in the environment is kept.
"""

from __future__ import annotations

import os

_POOL_VARIABLE = "ARROW_DEFAULT_MEMORY_POOL"
_given = os.environ.get(_POOL_VARIABLE)
os.environ[_POOL_VARIABLE] = _given or "system"
try:
    import pyarrow as pa
    import pyarrow.parquet as pq
finally:
    if _given is None:
        del os.environ[_POOL_VARIABLE]

__all__ = ["pa", "pq"]
