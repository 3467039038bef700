"""EXPERIMENT, loaded only into the Arbiter SFU subprocess by ``sfu_bench --experiment-marker-bit``.

aiortc's ``JitterBuffer`` hands a video frame over only when the first packet of the
*next* frame arrives (it detects the end of a frame by a timestamp change), so every frame
waits one frame interval (33 ms at 30 fps) in the SFU's producer receiver. This patch also
completes a frame on its RTP marker bit (RFC 7741: last packet of a VP8 frame), which is
what an SFU change to the forwarding path would do. It does not touch Arbiter's code.
"""

from __future__ import annotations

from aiortc import jitterbuffer
from aiortc.jitterbuffer import JitterFrame

_original = jitterbuffer.JitterBuffer._remove_frame


def _remove_frame(self, sequence_number):  # type: ignore[no-untyped-def]
    if not self._is_video:
        return _original(self, sequence_number)
    packets = []
    timestamp = None
    for count in range(self.capacity):
        packet = self._packets[(self._origin + count) % self._capacity]
        if packet is None:
            return None
        if timestamp is None:
            timestamp = packet.timestamp
        elif packet.timestamp != timestamp:
            self.remove(count)
            return JitterFrame(data=b"".join(x._data for x in packets), timestamp=timestamp)
        packets.append(packet)
        if packet.marker:
            self.remove(count + 1)
            return JitterFrame(data=b"".join(x._data for x in packets), timestamp=timestamp)
    return None


jitterbuffer.JitterBuffer._remove_frame = _remove_frame
