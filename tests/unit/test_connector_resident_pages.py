"""Loading the connector leaves resident only the library pages it uses
(``connector/pipeline/pages.py``), and released pages read back the same bytes."""

from __future__ import annotations

import subprocess
import sys

# Prints the MB of file pages resident in pyarrow's read-only library mappings (code and
# constants; a private copy of a relocated page is not a file page).
_PYARROW_PAGES = """
import os, re, sys
{load}
import pyarrow
folder, total, counted = os.path.dirname(pyarrow.__file__), 0, False
for line in open("/proc/self/smaps"):
    header = re.match(r"[0-9a-f]+-[0-9a-f]+ (\\S+) \\S+ \\S+ \\S+ *(.*)", line)
    if header:
        counted = header.group(2).startswith(folder) and "w" not in header.group(1)
    elif counted and line.startswith("Rss:"):
        total += int(line.split()[1])
    elif counted and line.startswith("Anonymous:"):
        total -= int(line.split()[1])
print(total / 1024)
"""


def _pyarrow_pages_mb(load: str) -> float:
    code = _PYARROW_PAGES.format(load=load)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(done.stdout)


def test_loading_the_connector_cli_releases_the_pages_pyarrow_touched_while_loading() -> None:
    # Loading pyarrow touches ~25-52 MB of its libraries (as the page cache holds them);
    # the CLI keeps what its own loading used again (~2-7 MB).
    assert _pyarrow_pages_mb("import connector.cli") < 15 < _pyarrow_pages_mb("")


def test_released_pages_are_read_back_unchanged() -> None:
    code = """
from datetime import UTC, datetime
from connector.pipeline.lake import RowBuffer
from connector.pipeline.pages import release_mapped_files

def parquet():
    buffer, at = RowBuffer(), datetime(2026, 1, 5, 9, tzinfo=UTC)
    for n in range(3000):
        st = {"id": str(n), "actor": {"account": {"name": f"p{n % 40}"}},
              "verb": {"id": "v"}, "object": {"id": f"o{n % 7}"}, "timestamp": at.isoformat()}
        buffer.add(st, at, at)
    return buffer.to_parquet()

before = parquet()
assert release_mapped_files() > 0
assert parquet() == before
print("ok")
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "ok"
