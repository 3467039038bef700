"""``python -m arbiter_server`` is ``arbiter-server``."""

from .cli import main

raise SystemExit(main())
