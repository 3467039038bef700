"""The state file: what a deployment made, for ``status`` and ``destroy``.

One JSON file per prefix and region (default ``.arbiter/aws/<prefix>-<region>.json``),
rewritten after every applied change so that an interrupted deploy is still recorded.
AWS stays the source of truth: the planner reads AWS, and ``destroy`` finds resources
by name and by the ``arbiter:deployment`` tag even without this file.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["DeployState", "default_state_path"]


def default_state_path(prefix: str, region: str, base: Path | None = None) -> Path:
    """``.arbiter/aws/<prefix>-<region>.json`` under ``base`` (default: the working dir)."""
    return (base or Path(".arbiter")) / "aws" / f"{prefix}-{region}.json"


@dataclass
class DeployState:
    """Recorded resources and values of one deployment."""

    prefix: str
    region: str
    resources: dict[str, str] = field(default_factory=dict)
    "``kind:name`` -> id/ARN."
    values: dict[str, str] = field(default_factory=dict)
    "Ids and endpoints found or created (API ids, NLB DNS name, ...)."
    updated_at: float = 0.0

    @classmethod
    def load(cls, path: Path) -> DeployState | None:
        """Read a state file (None if there is none)."""
        if not path.exists():
            return None
        data: dict[str, Any] = json.loads(path.read_text())
        return cls(
            prefix=str(data["prefix"]),
            region=str(data["region"]),
            resources=dict(data.get("resources", {})),
            values=dict(data.get("values", {})),
            updated_at=float(data.get("updated_at", 0.0)),
        )

    def save(self, path: Path) -> None:
        """Write atomically."""
        self.updated_at = time.time()
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.__dict__, indent=2, sort_keys=True) + "\n")
        tmp.replace(path)
