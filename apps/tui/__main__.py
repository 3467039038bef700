"""``python -m apps.tui URL --name NAME`` from a checkout, without installing the package."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from arbiter_tui.cli import main  # noqa: E402

raise SystemExit(main())
