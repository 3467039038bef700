"""When socket holders speak on their own (the web SDK's protocol.test.ts checks the same
figures against its mirror in limits.ts)."""

from __future__ import annotations

import pytest

from arbiter_protocol import keepalive_ack_wait, keepalive_interval, refresh_delay


@pytest.mark.parametrize(
    ("idle", "interval", "ack_wait"),
    [(600, 60, 60), (120, 40, 40), (3, 1, 5), (1, 1 / 3, 5), (0, 0.1, 5)],
)
def test_keepalive_goes_three_times_per_idle_timeout_at_most_a_minute_apart(
    idle: float, interval: float, ack_wait: float
) -> None:
    assert keepalive_interval(idle) == pytest.approx(interval)
    assert keepalive_ack_wait(idle) == pytest.approx(ack_wait)


def test_refresh_comes_at_half_of_the_remaining_lifetime() -> None:
    assert refresh_delay(1100, 1000) == 50
    assert refresh_delay(1000.4, 1000) == 0.5  # never sooner than half a second
    assert refresh_delay(900, 1000) == 0.5  # expired already: at once (almost)
