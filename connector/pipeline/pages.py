"""Release the pages of mapped files that loading touched and a run may never use again.

Loading a shared library runs its static initialisers, which touch code scattered over
the whole library: importing pyarrow leaves ~52 MB of its libraries' pages in the
process's resident set when the page cache holds them in large folios (a kernel that maps
whole folios, as 6.18 does, for a freshly installed wheel), of which a ``push`` uses ~19 MB
afterwards. :func:`release_mapped_files` unmaps those pages from the process (the page
cache keeps them): the ones used later fault back in from memory, so the resident set is
what the run uses, not what loading touched.

Only pages that are the file's own content are released: mappings neither writable nor
holding a private copy of a page (``Anonymous: 0 kB`` in ``/proc/self/smaps``), for which
``madvise(MADV_DONTNEED)`` only drops the page table entries and a later access reads the
same bytes. Relocated data (a library's RELRO, written before being made read-only) holds
private copies and is kept. Elsewhere than Linux (no ``/proc/self/smaps``) it does
nothing.
"""

from __future__ import annotations

import ctypes
import re
from collections.abc import Iterator
from pathlib import Path

_MADV_DONTNEED = 4  # sys/mman.h
_HEADER = re.compile(r"([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+ *(.*)")


def _pristine_mappings(smaps: str, within: str) -> Iterator[tuple[int, int]]:
    """``(start, length)`` of each mapping of a file under the directory ``within``, not
    writable and holding no private (anonymous) page."""
    folder = within.rstrip("/") + "/"
    span: tuple[int, int] | None = None
    for line in smaps.splitlines():
        header = _HEADER.match(line)
        if header is not None:
            start, end, perms, path = header.groups()
            kept = path.startswith(folder) and "w" not in perms
            span = (int(start, 16), int(end, 16) - int(start, 16)) if kept else None
        elif span is not None and line.startswith("Anonymous:"):
            if line.split()[1] == "0":
                yield span
            span = None


def release_mapped_files(within: str = "/") -> int:
    """Drop this process's resident pages of unmodified read-only mappings of files under
    the directory ``within`` (every file by default); the number of mappings released.

    Safe while other threads run: such pages cannot change, and one read again is read
    from the page cache (or the file). Costs a minor fault for each page used again."""
    try:
        smaps = Path("/proc/self/smaps").read_text()
    except OSError:
        return 0
    madvise = ctypes.CDLL(None).madvise
    madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    spans = list(_pristine_mappings(smaps, within))
    return sum(madvise(start, length, _MADV_DONTNEED) == 0 for start, length in spans)
