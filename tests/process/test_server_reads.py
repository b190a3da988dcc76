"""The connection loop's reads: after a short read it waits for readability instead of
trying recv again, after a full 64 KiB read it reads on at once; either way no request
is lost, split or delayed."""
import socket

import pytest


@pytest.fixture(scope="module")
def node(module_node):
    return module_node


def _read_exactly(s: socket.socket, n: int) -> bytes:
    got = b""
    while len(got) < n:
        chunk = s.recv(65536)
        assert chunk, "connection closed early"
        got += chunk
    return got


def test_a_request_split_across_reads_is_answered(node):
    request = b"*3\r\n$3\r\nSET\r\n$5\r\nsplit\r\n$5\r\nvalue\r\n"
    with socket.create_connection(("127.0.0.1", node.port), timeout=5) as s:
        for cut in (1, 7, 20, len(request) - 1):
            s.sendall(request[:cut])
            s.settimeout(0.05)
            with pytest.raises(socket.timeout):     # nothing to answer yet
                s.recv(100)
            s.settimeout(5)
            s.sendall(request[cut:])
            assert _read_exactly(s, 5) == b"+OK\r\n"
        s.sendall(b"*2\r\n$3\r\nGET\r\n$5\r\nsplit\r\n")
        assert _read_exactly(s, 11) == b"$5\r\nvalue\r\n"


def test_ping_pong_requests_after_short_reads(node):
    with socket.create_connection(("127.0.0.1", node.port), timeout=5) as s:
        for i in range(300):
            s.sendall(b"*2\r\n$4\r\nINCR\r\n$8\r\npingpong\r\n")
            assert _read_exactly(s, len(b":%d\r\n" % (i + 1))) == b":%d\r\n" % (i + 1)


def test_a_request_over_64k_then_a_small_one_in_one_send(node):
    big = b"v" * 200_000        # several full reads, then the rest with a pipelined GET
    payload = (b"*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$%d\r\n%s\r\n" % (len(big), big)
               + b"*2\r\n$6\r\nSTRLEN\r\n$3\r\nbig\r\n")
    assert len(payload) % 65536 != 0
    with socket.create_connection(("127.0.0.1", node.port), timeout=5) as s:
        s.sendall(payload)
        assert _read_exactly(s, 5 + 9) == b"+OK\r\n:200000\r\n"


def test_a_pipeline_of_exactly_64k_is_answered(node):
    # A chunk that fills the read buffer exactly: the loop reads again at once (EAGAIN)
    # and then waits; the next request, sent later, is still answered.
    def echo(arg: bytes) -> bytes:
        return b"*2\r\n$4\r\nECHO\r\n$%d\r\n%s\r\n" % (len(arg), arg)

    args = [b"a" * 100] * (65536 // len(echo(b"a" * 100)) - 1)
    rest = 65536 - sum(len(echo(a)) for a in args)
    last = b"b" * next(n for n in range(rest) if len(echo(b"b" * n)) == rest)
    args.append(last)
    payload = b"".join(echo(a) for a in args)
    assert len(payload) == 65536
    expected = b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)
    with socket.create_connection(("127.0.0.1", node.port), timeout=5) as s:
        s.sendall(payload)
        assert _read_exactly(s, len(expected)) == expected
        s.sendall(b"*1\r\n$4\r\nPING\r\n")
        assert _read_exactly(s, 7) == b"+PONG\r\n"
