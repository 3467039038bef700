"""``python -m arbiter_tui URL --name NAME``."""

from .cli import main

raise SystemExit(main())
