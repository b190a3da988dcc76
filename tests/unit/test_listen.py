"""gossip.listen: the listening sockets of the client port and the bus."""
import socket

import pytest

from gossip.listen import listen


def test_listens_and_skips_an_optional_address_the_machine_lacks():
    socks = listen([("127.0.0.1", False), ("192.0.2.1", True)], 0, 16)
    try:
        assert len(socks) == 1
        assert socks[0].getsockname()[0] == "127.0.0.1"
        assert socks[0].getblocking() is False
    finally:
        for s in socks:
            s.close()


def test_a_taken_port_is_an_error_in_redis_words_and_nothing_stays_open():
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen(1)
    port = holder.getsockname()[1]
    try:
        with pytest.raises(OSError, match=f"Could not create server TCP listening socket "
                                          f"127.0.0.1:{port}"):
            listen([("127.0.0.1", False)], port, 16)
    finally:
        holder.close()
