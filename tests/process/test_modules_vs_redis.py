"""MODULE side by side with a real redis-server 7.0.15: LIST (no modules), HELP, and the
refusals of LOAD/LOADEX/UNLOAD while enable-module-command is off (the default)."""
from __future__ import annotations

from tests.support import assert_same_replies


def test_module_replies_are_redis_s(pair):
    assert_same_replies(pair, [
        ["MODULE", "LIST"],
        ["MODULE", "HELP"],
        ["MODULE", "LOAD", "/nonexistent/module.so"],
        ["MODULE", "LOADEX", "/nonexistent/module.so", "ARGS", "a"],
        ["MODULE", "UNLOAD", "nosuchmodule"],
        ["MODULE", "FOO"],
        ["MODULE", "LIST", "extra"],
        ["MODULE"],
    ])
    for protocol in (2, 3):
        assert_same_replies(pair, [["MODULE", "LIST"]], protocol=protocol)
