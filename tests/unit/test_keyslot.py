from hypothesis import assume, given, strategies as st

from slots import CLUSTER_SLOTS, SlotRanges, hash_tag, keyslot
import binascii

import crcmod.predefined


def test_vectors_from_the_facts_file():
    assert keyslot(b"foo") == 12182
    assert keyslot(b"bar") == 5061
    assert keyslot(b"hello") == 866
    assert keyslot(b"a") == 15495
    assert keyslot(b"") == 0
    assert keyslot(b"{user1000}.following") == 3443 == keyslot(b"user1000")
    assert keyslot(b"foo{}{bar}") == 8363
    assert keyslot(b"foo{{bar}}zap") == 4015
    assert keyslot(b"foo{bar}{zap}") == 5061


def test_hash_tag_rule():
    assert hash_tag(b"foo{}{bar}") == b"foo{}{bar}"
    assert hash_tag(b"foo{{bar}}zap") == b"{bar"
    assert hash_tag(b"{a}") == b"a"
    assert hash_tag(b"a}{") == b"a}{"


_XMODEM = crcmod.predefined.mkPredefinedCrcFun("xmodem")


@given(st.binary(max_size=64))
def test_slot_in_range_and_equals_crcmod_xmodem(key):
    slot = keyslot(key)
    assert 0 <= slot < CLUSTER_SLOTS
    # keyslot uses the stdlib's CRC16 (3x cheaper per call); it is crcmod's XMODEM.
    assert slot == _XMODEM(hash_tag(key)) & 16383 == binascii.crc_hqx(hash_tag(key), 0) & 16383


@given(st.binary(min_size=1, max_size=16), st.binary(max_size=16), st.binary(max_size=16))
def test_keys_sharing_a_tag_share_a_slot(tag, before, after):
    assume(b"{" not in before and b"}" not in tag and b"{" not in tag)
    assert keyslot(before + b"{" + tag + b"}" + after) == keyslot(tag)


def test_slot_ranges_round_trip():
    r = SlotRanges.parse("0-5460 5462 7000-7001")
    assert r.ranges() == [(0, 5460), (5462, 5462), (7000, 7001)]
    assert r.format() == "0-5460 5462 7000-7001"
    assert len(r) == 5464 and 5462 in r and 5461 not in r


@given(st.sets(st.integers(0, CLUSTER_SLOTS - 1), max_size=200))
def test_slot_ranges_property(slots):
    r = SlotRanges(slots)
    assert SlotRanges.parse(r.format()) == r
    assert set(r) == slots
    for a, b in r.ranges():
        assert a <= b
