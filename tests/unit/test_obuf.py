"""The client-output-buffer-limit rule shared by replica links and subscribers."""
from __future__ import annotations

from cluster.execution import obuf
from cluster.config.live import Config


class Holder:
    soft_since = 0


def test_hard_limit_is_at_once_and_soft_limit_needs_its_seconds():
    h = Holder()
    assert obuf.over((100, 50, 2), 100, h, "soft_since", 1_000)       # hard
    assert not obuf.over((100, 50, 2), 60, h, "soft_since", 1_000)    # soft starts
    assert h.soft_since == 1_000
    assert not obuf.over((100, 50, 2), 60, h, "soft_since", 2_999)
    assert obuf.over((100, 50, 2), 60, h, "soft_since", 3_000)        # soft for 2 s
    assert not obuf.over((100, 50, 2), 10, h, "soft_since", 3_001)    # back under
    assert h.soft_since == 0
    assert not obuf.over((0, 0, 0), 10**12, h, "soft_since", 0)       # no limits


def test_limits_follow_config_set():
    config = Config()
    limits = obuf.Limits(config, "pubsub")
    assert limits.get() == (32 * 1024 * 1024, 8 * 1024 * 1024, 60)
    config.set("client-output-buffer-limit", "pubsub 1mb 512kb 5")
    assert limits.get() == (1024 * 1024, 512 * 1024, 5)
    assert obuf.Limits(config, "slave").get() == (256 * 1024 * 1024, 64 * 1024 * 1024, 60)
