"""``python -m arbiter_protocol``: print the protocol manifest (see :mod:`.manifest`)."""

import json

from .manifest import manifest

print(json.dumps(manifest(), indent=2, ensure_ascii=False))
