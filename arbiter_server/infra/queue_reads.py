"""The deployer's reads of the webhook queues and their Lambda event source mapping.

A base class of :class:`~.awsclient.AwsClient` (which makes the calls, through its
``_read``), kept apart so the client stays one small module per concern.
"""

from __future__ import annotations

from typing import Any

__all__ = ["QueueReads"]


class QueueReads:
    """SQS queues and event source mappings, by name."""

    def _read(self, service: str, method: str, missing: tuple[str, ...], **params: Any) -> Any:
        raise NotImplementedError

    def queue(self, name: str) -> dict[str, Any] | None:
        """``{"QueueUrl", "Attributes"}`` of the SQS queue ``name``, or None."""
        missing = ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist")
        found = self._read("sqs", "get_queue_url", missing, QueueName=name)
        if found is None:
            return None
        url = str(found["QueueUrl"])
        attrs = self._read(
            "sqs", "get_queue_attributes", missing, QueueUrl=url, AttributeNames=["All"]
        )
        return {"QueueUrl": url, "Attributes": dict((attrs or {}).get("Attributes", {}))}

    def queue_tags(self, url: str) -> dict[str, str]:
        """Tags of an SQS queue."""
        resp = self._read("sqs", "list_queue_tags", (), QueueUrl=url)
        return dict((resp or {}).get("Tags", {}))

    def event_source_mappings(self, function: str) -> list[dict[str, Any]]:
        """The event source mappings of a Lambda function (none if it does not exist)."""
        resp = self._read(
            "lambda",
            "list_event_source_mappings",
            ("ResourceNotFoundException",),
            FunctionName=function,
        )
        return list((resp or {}).get("EventSourceMappings", []))
