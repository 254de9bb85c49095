"""``python -m demo`` is ``edh-demo``."""

import sys

from demo.cli import main

sys.exit(main())
