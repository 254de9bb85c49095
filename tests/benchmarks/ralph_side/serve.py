"""Ralph's LRS (its FastAPI app on the file-system backend) under uvicorn, as
``ralph runserver -b fs`` starts it.

Ralph 5.1's file-system LRS backend writes in ``create`` mode, so its second POST fails
("already exists and overwrite is not allowed"). The one change made here is to write in
``append`` mode, the least that lets it take more than one batch; nothing else is altered.
Arguments: data directory, port. Credentials come from ``RALPH_AUTH_FILE``.
"""

from __future__ import annotations

import os
import sys

import uvicorn


def main() -> None:
    directory, port = sys.argv[1], int(sys.argv[2])
    os.environ["RALPH_RUNSERVER_BACKEND"] = "fs"
    os.environ["RALPH_BACKENDS__LRS__FS__DEFAULT_DIRECTORY_PATH"] = directory
    from ralph.backends.data.base import BaseOperationType
    from ralph.backends.lrs.fs import FSLRSBackend

    FSLRSBackend.default_operation_type = BaseOperationType.APPEND
    from ralph.api import app

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
