"""Arbiter's server SDK: what the app's backend does with the deployment's API key.

```python
from arbiter_admin import Admin

async with Admin("http://127.0.0.1:8080", api_key) as admin:
    grant = admin.mint_grant("demo", "user-42", name="Ada", moderator=True)
    await admin.mute_participant("demo", participant_id, "audio")
```

Mint join grants (offline), create, list and close rooms, list, remove, mute and admit
participants, change their metadata, set the webhook URL, verify webhook deliveries. It
needs no WebRTC stack (no aiortc): only ``arbiter_protocol`` and ``httpx``. The same
operations are an HTTP API for backends in other languages: ``docs/server-api.md``.
"""

import logging

from arbiter_protocol import (
    DEFAULT_GRANTS,
    Grant,
    JoinGrant,
    ParticipantInfo,
    RoomInfo,
    WebhookError,
    WebhookEvent,
    mint_grant,
    read_grant,
    verify_webhook,
)
from arbiter_protocol.webhooks import EVENT_HEADER, SIGNATURE_HEADER

from ._admin import Admin
from ._errors import ApiError

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "DEFAULT_GRANTS",
    "EVENT_HEADER",
    "SIGNATURE_HEADER",
    "Admin",
    "ApiError",
    "Grant",
    "JoinGrant",
    "ParticipantInfo",
    "RoomInfo",
    "WebhookError",
    "WebhookEvent",
    "__version__",
    "mint_grant",
    "read_grant",
    "verify_webhook",
]
