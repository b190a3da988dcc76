"""Checks several command families share: client names (CLIENT SETNAME, HELLO SETNAME) and
the protected-feature settings (enable-protected-configs, enable-debug-command)."""
from __future__ import annotations

from cluster.resp.reply import ReplyError

_BAD_NAME = "ERR Client names cannot contain spaces, newlines or special characters."


def validate_client_name(name: bytes) -> None:
    """CLIENT SETNAME / HELLO SETNAME: printable ASCII without spaces ('!'..'~')."""
    if any(c < 33 or c > 126 for c in name):
        raise ReplyError(_BAD_NAME)


def is_local(client) -> bool:
    """islocalClient: a unix socket or a loopback peer."""
    host = client.addr.rsplit(":", 1)[0]
    return client.fd == -1 or host in ("127.0.0.1", "::1") or host.startswith("/")


def allow_protected(client, setting: str) -> bool:
    return setting == "yes" or (setting == "local" and is_local(client))
