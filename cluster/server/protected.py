"""Protected mode, as Redis 7.0.15 (networking.c, clientAcceptHandler and islocalClient).

THE RULE. When `protected-mode` is yes and the default user has no password (nopass), a
connection whose peer is not local gets the DENIED line written and is closed, before it
runs anything; `rejected_connections` counts it and `total_connections_received` does not
(stat_numconnections is incremented only after this check). The check runs once, when the
connection is accepted: a later CONFIG SET (protected-mode, requirepass, ACL) changes only
what later connections meet.

"Local" is islocalClient's, compared as strings: a unix socket, or a TCP peer whose address
prints as exactly "127.0.0.1" or "::1". Not 127.0.0.0/8 (127.0.0.2 is refused), and not the
IPv4-mapped "::ffff:127.0.0.1" (Redis's IPv6 listeners are IPV6_V6ONLY, as ours are, so an
IPv4 peer never shows up in that form anyway).

`bind` plays no part in 7.0.15: the comment above the check in networking.c still says "nor
a specific interface is bound", but the code tests only protected_mode and the default
user's nopass flag. A node bound to a public address with no password refuses that
address's clients all the same.
"""
from __future__ import annotations

DENIED = (
    b"-DENIED Redis is running in protected mode because protected "
    b"mode is enabled and no password is set for the default user. "
    b"In this mode connections are only accepted from the loopback interface. "
    b"If you want to connect from external computers to Redis you "
    b"may adopt one of the following solutions: "
    b"1) Just disable protected mode sending the command "
    b"'CONFIG SET protected-mode no' from the loopback interface "
    b"by connecting to Redis from the same host the server is "
    b"running, however MAKE SURE Redis is not publicly accessible "
    b"from internet if you do so. Use CONFIG REWRITE to make this "
    b"change permanent. "
    b"2) Alternatively you can just disable the protected mode by "
    b"editing the Redis configuration file, and setting the protected "
    b"mode option to 'no', and then restarting the server. "
    b"3) If you started the server manually just for testing, restart "
    b"it with the '--protected-mode no' option. "
    b"4) Setup a an authentication password for the default user. "
    b"NOTE: You only need to do one of the above things in order for "
    b"the server to start accepting connections from the outside.\r\n")

_LOCAL = frozenset(("127.0.0.1", "::1"))


def is_local(peer_host: str, unix_socket: bool = False) -> bool:
    """islocalClient: a unix socket, or a peer printed exactly as 127.0.0.1 or ::1."""
    return unix_socket or peer_host in _LOCAL


def _default_user_has_no_password(node) -> bool:
    return node.acl.default.nopass


def refusal(node, peer_host: str, unix_socket: bool = False) -> bytes | None:
    """The DENIED line (with its CRLF) to write before closing a new connection from
    `peer_host`, or None to serve it."""
    if not node.config["protected-mode"] or not _default_user_has_no_password(node):
        return None
    if is_local(peer_host, unix_socket):
        return None
    return DENIED
