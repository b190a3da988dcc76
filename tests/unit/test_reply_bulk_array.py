"""encode's one-join path for arrays of 8+ plain bulks (LRANGE, MGET, ...): the same bytes
as item by item, in both protocols; bytes subclasses and big bulks take the general way."""
from cluster.resp.reply import BigNumber, Status, Verbatim, encode


def _bulk(b: bytes) -> bytes:
    return b"$%d\r\n%s\r\n" % (len(b), b)


def test_plain_bulks_in_one_join_both_protocols():
    items = [b"", b"a", b"x" * 9, b"y" * 10, b"\r\n\0", b"z" * 4095] * 3
    expected = b"*%d\r\n" % len(items) + b"".join(map(_bulk, items))
    for resp3 in (False, True):
        assert encode(items, resp3) == expected
        assert encode(tuple(items), resp3) == expected
        assert encode([items], resp3) == b"*1\r\n" + expected     # nested


def test_a_bulk_of_4k_or_more_takes_the_general_way():
    items = [b"a"] * 8 + [b"b" * 4096, b"c" * 70000]
    assert encode(items, False) == b"*10\r\n" + b"".join(map(_bulk, items))


def test_bytes_subclasses_keep_their_own_encoding():
    base = [b"k"] * 8
    assert encode(base + [Status(b"OK")], False).endswith(b"+OK\r\n")
    assert encode(base + [Verbatim(b"hi")], True).endswith(b"=6\r\ntxt:hi\r\n")
    assert encode(base + [Verbatim(b"hi")], False).endswith(b"$2\r\nhi\r\n")
    assert encode(base + [BigNumber(b"12")], True).endswith(b"(12\r\n")
    assert encode(base + [None], True).endswith(b"_\r\n")
    assert encode(base + [None], False).endswith(b"$-1\r\n")
    assert encode(base + [5], False).endswith(b":5\r\n")
