"""Listening sockets, shared by the client port (cluster.server.edge) and the bus (transport).

Lives in gossip/, the lower of the two layers, so both can import it.
"""
from __future__ import annotations

import errno
import socket as pysocket

import trio

_OPTIONAL_ERRORS = (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT, errno.EPROTONOSUPPORT)


def listen(bind: list[tuple[str, bool]], port: int, backlog: int) -> list[pysocket.socket]:
    """Non-blocking listening sockets on every (address, optional) pair.

    An optional address (`-::*` in `bind`) that this machine lacks is skipped; any other
    failure closes what was opened and raises OSError with Redis's wording.
    """
    socks: list[pysocket.socket] = []
    for addr, optional in bind:
        family = pysocket.AF_INET6 if ":" in addr else pysocket.AF_INET
        sock = pysocket.socket(family, pysocket.SOCK_STREAM)
        try:
            sock.setsockopt(pysocket.SOL_SOCKET, pysocket.SO_REUSEADDR, 1)
            if family == pysocket.AF_INET6:
                sock.setsockopt(pysocket.IPPROTO_IPV6, pysocket.IPV6_V6ONLY, 1)
            sock.bind((addr, port))
            sock.listen(backlog)
            sock.setblocking(False)
        except OSError as err:
            sock.close()
            if optional and err.errno in _OPTIONAL_ERRORS:
                continue
            for opened in socks:
                opened.close()
            raise OSError(err.errno, f"Could not create server TCP listening socket "
                                     f"{addr}:{port}: {err.strerror}") from None
        socks.append(sock)
    return socks


async def accept(listener: pysocket.socket, warn) -> pysocket.socket:
    """The next connection on `listener`, non-blocking. Accept errors (a full file table,
    a connection reset before accept) are logged with `warn(text)` and retried after 10 ms,
    as Redis logs and goes on."""
    while True:
        await trio.lowlevel.wait_readable(listener)
        try:
            sock, _ = listener.accept()
        except (BlockingIOError, InterruptedError, ConnectionAbortedError):
            continue
        except OSError as err:
            warn(f"Accepting connection: {err}")
            await trio.sleep(0.01)
            continue
        sock.setblocking(False)
        return sock
