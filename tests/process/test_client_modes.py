"""CLIENT NO-EVICT / NO-TOUCH / SETINFO and OBJECT IDLETIME over real sockets."""
import redis
import pytest

from tests.support import real_redis, wait_until


def test_no_evict_replies_like_redis(node):
    with real_redis() as real:
        for port in (node.port, real.port):
            r = redis.Redis(port=port, protocol=2)
            assert r.execute_command("CLIENT", "NO-EVICT", "on") == b"OK"
            assert r.execute_command("CLIENT", "NO-EVICT", "OFF") == b"OK"
            with pytest.raises(redis.ResponseError) as err:
                r.execute_command("CLIENT", "NO-EVICT", "maybe")
            assert str(err.value) == "syntax error"
            r.close()


def test_setinfo_is_accepted_and_validated(rr):
    # A Redis 7.2 command that redis-py sends on connect; 7.0.15 has no yardstick.
    assert rr.execute_command("CLIENT", "SETINFO", "LIB-NAME", "mylib") in (b"OK", "OK", True)
    assert rr.execute_command("CLIENT", "SETINFO", "lib-ver", "1.2.3") in (b"OK", "OK", True)
    with pytest.raises(redis.ResponseError, match="Unrecognized option 'color'"):
        rr.execute_command("CLIENT", "SETINFO", "color", "red")
    with pytest.raises(redis.ResponseError, match="cannot contain spaces"):
        rr.execute_command("CLIENT", "SETINFO", "LIB-NAME", "a b")


def test_idletime_grows_and_no_touch_keeps_it(node):
    r = redis.Redis(port=node.port)
    r.set("k", "v")
    assert r.object("idletime", "k") == 0
    # Idle time has a 1-second resolution: wait for the key to have been idle a while.
    wait_until(lambda: r.object("idletime", "k") >= 1, timeout=5, interval=0.1,
               message="idle time to reach 1 s")
    assert r.execute_command("CLIENT", "NO-TOUCH", "on") == b"OK"
    assert r.get("k") == b"v"
    assert r.object("idletime", "k") >= 1          # a no-touch read leaves it
    assert r.execute_command("CLIENT", "NO-TOUCH", "off") == b"OK"
    assert r.get("k") == b"v"
    assert r.object("idletime", "k") == 0          # a normal read resets it
    r.close()
