"""Protected mode's refusal (cluster.server.protected), as Redis 7.0.15's clientAcceptHandler:
which peers are local, and when the DENIED line is written."""
from __future__ import annotations

import pytest

from cluster.config.live import Config
from cluster.node import Node
from cluster.server.protected import DENIED, refusal

LOCAL = ["127.0.0.1", "::1"]
# islocalClient compares the printed address with "127.0.0.1" and "::1", nothing else.
NOT_LOCAL = ["10.213.7.2", "192.0.2.2", "127.0.0.2", "127.1.2.3", "::ffff:127.0.0.1",
             "0:0:0:0:0:0:0:1", "fd00::2", "0.0.0.0", "::", "localhost", ""]


def _node(protected: str = "yes", requirepass: str = "") -> Node:
    config = Config()
    config.set("protected-mode", protected)
    config.set("requirepass", requirepass)
    return Node(config)


def test_denied_text_is_redis_7_0_15s():
    assert DENIED.startswith(b"-DENIED Redis is running in protected mode because protected "
                             b"mode is enabled and no password is set for the default user. ")
    assert DENIED.endswith(b"the server to start accepting connections from the outside.\r\n")
    assert b"4) Setup a an authentication password" in DENIED      # Redis's typo, kept
    assert len(DENIED) == 1067 and DENIED.count(b"\r\n") == 1


@pytest.mark.parametrize("host", LOCAL)
def test_loopback_is_served(host):
    assert refusal(_node(), host) is None


@pytest.mark.parametrize("host", NOT_LOCAL)
def test_other_peers_are_refused(host):
    assert refusal(_node(), host) == DENIED


def test_unix_socket_is_local():
    assert refusal(_node(), "", unix_socket=True) is None


@pytest.mark.parametrize("host", LOCAL + NOT_LOCAL)
def test_protected_mode_no_serves_everyone(host):
    assert refusal(_node(protected="no"), host) is None


@pytest.mark.parametrize("host", LOCAL + NOT_LOCAL)
def test_a_password_serves_everyone(host):
    assert refusal(_node(requirepass="secret"), host) is None


def test_the_default_users_nopass_flag_decides():
    node = _node(requirepass="secret")
    node.acl.setuser("default", [b"nopass"])        # a password set, then nopass again
    assert refusal(node, "10.213.7.2") == DENIED
    node.acl.setuser("default", [b"off"])           # off plays no part, only nopass
    assert refusal(node, "10.213.7.2") == DENIED
    node.acl.setuser("default", [b"on", b"resetpass", b">pw"])
    assert refusal(node, "10.213.7.2") is None
    assert refusal(_node(protected="no"), "10.213.7.2") is None
    assert refusal(_node(), "127.0.0.1") is None


def test_protected_mode_is_yes_by_default_and_settable():
    node = Node()
    assert node.config["protected-mode"] is True
    assert refusal(node, "10.213.7.2") == DENIED
    node.config.set("protected-mode", "no")
    assert refusal(node, "10.213.7.2") is None
