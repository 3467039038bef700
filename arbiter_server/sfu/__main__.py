"""``python -m arbiter_server.sfu``: see :mod:`arbiter_server.sfu.cli`."""

import sys

from .cli import main

sys.exit(main())
