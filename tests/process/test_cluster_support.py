"""The cluster fixture itself: ours and real Redis form the same 3-primary shape."""
import pytest

from tests.cluster_support import admin, cluster_of, slot_ranges


def test_slot_ranges_match_redis_cli():
    assert slot_ranges(3) == [(0, 5460), (5461, 10922), (10923, 16383)]
    assert slot_ranges(4) == [(0, 4095), (4096, 8191), (8192, 12287), (12288, 16383)]


@pytest.mark.parametrize("real", [False, True], ids=["ours", "redis"])
def test_three_primaries_form_and_cover_every_slot(tmp_path, real):
    with cluster_of(tmp_path, primaries=3, real=real) as nodes:
        with admin(nodes[2]) as r:
            slots = r.execute_command("CLUSTER", "SLOTS")
        ranges = sorted((s[0], s[1]) for s in slots)
        assert ranges == [(0, 5460), (5461, 10922), (10923, 16383)]
