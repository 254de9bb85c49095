"""Run a standard-library HTTP server from a command until it is interrupted."""

from __future__ import annotations

import socketserver


def serve_until_interrupted(server: socketserver.BaseServer) -> int:
    """Serve until Ctrl-C (or SIGINT), then close the listening socket; exit status 0."""
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
