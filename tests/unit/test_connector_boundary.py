"""The connector never imports the hub (a vendor installs it without the hub's weight)."""

from __future__ import annotations

import subprocess
import sys


def test_the_connector_lrs_and_cli_load_without_the_hub() -> None:
    code = (
        "import sys; import connector.cli, connector.xapi.app, connector.spool; "
        "connector.xapi.app.create_app; "
        "print(sorted(m for m in sys.modules if m == 'hub' or m.startswith('hub.')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
