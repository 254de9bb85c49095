"""pyarrow as the connector loads it: Arrow's C++ code allocating with the C library, and
Parquet written without loading ``pyarrow.parquet``.

Arrow picks its C++ default memory pool once, when pyarrow loads (``mimalloc`` unless
``ARROW_DEFAULT_MEMORY_POOL`` names another). ``pyarrow.set_memory_pool`` later changes
only the pool pyarrow's own calls use: the Parquet writer's internal buffers kept coming
from mimalloc, whose pages grew from ~7 to ~13 MB over the batches of a 1,000,000
statement ``push``. When this module is the first to load pyarrow, that pool is the
system allocator (glibc returns its freed memory, see ``lake.use_system_allocator``); the
variable is restored afterwards, so processes started later see the environment they were
given. A pool named in the environment is kept.

``pyarrow.parquet`` loads ``pyarrow.fs`` and its cloud file systems (S3, GCS, Azure,
HDFS: ~3 MB of Python objects and ~4 MB of library pages in ``edh-connector push``),
which a writer into memory never uses; :class:`ParquetWriter` is its writer on the
compiled module both share, with the same options, so the bytes written are the same.
"""

from __future__ import annotations

import os
from typing import Any

from connector.pipeline.pages import release_mapped_files

_POOL_VARIABLE = "ARROW_DEFAULT_MEMORY_POOL"
_given = os.environ.get(_POOL_VARIABLE)
os.environ[_POOL_VARIABLE] = _given or "system"
try:
    import pyarrow as pa
    from pyarrow import _parquet
finally:
    if _given is None:
        del os.environ[_POOL_VARIABLE]
release_mapped_files(os.path.dirname(pa.__file__))


class ParquetWriter:
    """``pyarrow.parquet.ParquetWriter`` into a file object ``sink`` (no file system, no
    flavor): its defaults (format 2.6, statistics, data pages v1, writer engine V2), with
    ``compression`` and ``use_dictionary`` as given."""

    def __init__(self, sink: Any, schema: pa.Schema, compression: str, use_dictionary: Any):
        self._writer = _parquet.ParquetWriter(
            sink,
            schema,
            version="2.6",
            compression=compression,
            use_dictionary=use_dictionary,
            write_statistics=True,
            writer_engine_version="V2",
            data_page_version="1.0",
        )

    def write_table(self, table: pa.Table, row_group_size: int) -> None:
        """Write ``table`` (of the writer's schema) as row groups of ``row_group_size``."""
        self._writer.write_table(table, row_group_size=row_group_size)

    def close(self) -> None:
        """Write the footer (the file is complete; the sink stays open)."""
        self._writer.close()


__all__ = ["ParquetWriter", "pa"]
