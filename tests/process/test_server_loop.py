"""The connection loop: batching, fairness under a pipelining flood, clean stop."""
import socket
import threading
import time

import redis

from tests.support import wait_until


def test_a_flooding_pipeline_does_not_starve_another_client(node):
    stop = threading.Event()
    flood_replies = [0]

    def flood():
        with socket.create_connection(("127.0.0.1", node.port)) as s:
            batch = b"*1\r\n$4\r\nPING\r\n" * 200
            while not stop.is_set():
                s.sendall(batch)
                got = 0
                while got < 7 * 200:
                    got += len(s.recv(65536))
                flood_replies[0] += 200

    t = threading.Thread(target=flood, daemon=True)
    t.start()
    try:
        wait_until(lambda: flood_replies[0] > 2000, 10, message="flood running")
        other = redis.Redis(port=node.port, socket_timeout=5)
        for i in range(50):
            assert other.set(f"k{i}", i) is True
            assert other.get(f"k{i}") == str(i).encode()
        other.close()
    finally:
        stop.set()
        t.join(10)
    assert not t.is_alive()


def test_replies_to_a_pipeline_arrive_in_order(node):
    payload = b"".join(b"*2\r\n$4\r\nECHO\r\n$%d\r\n%s\r\n" % (len(str(i)), str(i).encode())
                       for i in range(1000))
    expected = b"".join(b"$%d\r\n%s\r\n" % (len(str(i)), str(i).encode()) for i in range(1000))
    assert node.raw(payload, expect=len(expected), timeout=10) == expected


def test_sigterm_stops_the_node_cleanly(node):
    assert node.stop() == 0
    assert "ready to exit, bye bye" in node.log()
