"""The slot mover's wire sequence (facts 1.10) against scripted nodes, its BUSYKEY
handling (like redis-cli's --cluster-replace and value check), and the progress
display piped (redis-cli's lines) and on a terminal (a bar)."""
from __future__ import annotations

import io

import pytest
import redis

from cli.admin import output
from cli.admin.connection import AdminNode, Auth
from cli.admin.move import MoveError, MoveOptions, Mover
from cli.admin.progress import Progress


def node(name: str, port: int, replica_of: str | None = None) -> AdminNode:
    n = AdminNode("127.0.0.1", port)
    n.id = name * 40
    if replica_of:
        n.state = {"slave"}
        n.replicate = replica_of * 40
    return n


class FakeCluster:
    """Scripted nodes: the log of (port, args), keys per node, error injection."""

    def __init__(self, keys: dict[int, list[bytes]]):
        self.log: list[tuple[int, tuple]] = []
        self.keys = keys
        self.errors: dict[tuple[int, str], str] = {}      # (port, verb) -> error once
        self.migrate_errors: list[str] = []
        self.digests: dict[int, list[bytes]] = {}

    def link(self, n: AdminNode):
        cluster = self

        class FakeLink:
            def call(self, *args):
                cluster.log.append((n.port, args))
                return cluster.reply(n, args)

            def try_call(self, *args):
                try:
                    return self.call(*args), None
                except redis.ResponseError as exc:
                    return None, str(exc)

            def close(self):
                pass

        return FakeLink()

    def reply(self, n: AdminNode, args: tuple):
        verb = args[0] if args[0] != "CLUSTER" else args[1]
        error = self.errors.pop((n.port, verb), None)
        if error:
            raise redis.ResponseError(error)
        if verb == "GETKEYSINSLOT":
            return self.keys.get(n.port, [])[:args[3]]
        if verb == "MIGRATE":
            if self.migrate_errors:
                raise redis.ResponseError(self.migrate_errors.pop(0))
            batch = list(args[args.index("KEYS") + 1:])
            self.keys[n.port] = [k for k in self.keys[n.port] if k not in batch]
            return b"OK"
        if verb == "DEBUG":
            return self.digests[n.port]
        if verb == "SLOTS":
            return [[0, 16383, [b"127.0.0.1", 7000, b"a" * 40]]]
        return b"OK"

    def commands(self):
        return [(port, " ".join(str(a) for a in args[:4])) for port, args in self.log]


class Captured:
    def __init__(self, capsys):
        self.capsys = capsys
        self.text = ""

    def getvalue(self) -> str:
        self.text += self.capsys.readouterr().out
        return self.text


@pytest.fixture
def quiet_output(capsys):
    output.set_colour(False)
    yield Captured(capsys)
    output.set_colour(None)


def make(keys, options=None, progress=None):
    src, dst, other, rep = node("a", 7000), node("b", 7001), node("c", 7002), node("r", 7003, "a")
    fake = FakeCluster(keys)
    mover = Mover([src, dst, other, rep], options or MoveOptions(), progress,
                  link_factory=fake.link)
    return mover, fake, (src, dst, other, rep)


def test_sequence_for_one_slot_with_keys(quiet_output):
    keys = [b"k%d" % i for i in range(25)]
    mover, fake, (src, dst, other, rep) = make({7000: keys})
    src.slots = {5}
    assert mover.move_slot(src, dst, 5) == 25
    assert fake.commands() == [
        (7001, "CLUSTER SETSLOT 5 IMPORTING"),
        (7000, "CLUSTER SETSLOT 5 MIGRATING"),
        (7000, "CLUSTER GETKEYSINSLOT 5 10"),
        (7000, "MIGRATE 127.0.0.1 7001 "),
        (7000, "CLUSTER GETKEYSINSLOT 5 10"),
        (7000, "MIGRATE 127.0.0.1 7001 "),
        (7000, "CLUSTER GETKEYSINSLOT 5 10"),
        (7000, "MIGRATE 127.0.0.1 7001 "),
        (7000, "CLUSTER GETKEYSINSLOT 5 10"),
        (7001, "CLUSTER SETSLOT 5 NODE"),        # the target first (issue #7116)
        (7000, "CLUSTER SETSLOT 5 NODE"),
        (7002, "CLUSTER SETSLOT 5 NODE"),        # every other primary, not the replica
    ]
    importing = fake.log[0][1]
    assert importing[4] == "a" * 40 and fake.log[1][1][4] == "b" * 40
    assert all(args[4] == "b" * 40 for _, args in fake.log[-3:])
    migrate = fake.log[3][1]
    assert migrate[:7] == ("MIGRATE", "127.0.0.1", 7001, "", 0, 60000, "KEYS")
    assert list(migrate[7:]) == keys[:10]
    assert src.slots == set() and dst.slots == {5}
    assert mover.keys_moved == 25


def test_pipeline_timeout_replace_and_auth_reach_migrate(quiet_output):
    opts = MoveOptions(timeout=1234, pipeline=3, replace=True, auth=Auth("pw", "bob"))
    mover, fake, (src, dst, *_) = make({7000: [b"x", b"y"]}, opts)
    mover.move_slot(src, dst, 9)
    migrate = next(args for _, args in fake.log if args[0] == "MIGRATE")
    # REPLACE is only added after a BUSYKEY, as redis-cli does
    assert migrate == ("MIGRATE", "127.0.0.1", 7001, "", 0, 1234, "AUTH2", "bob", "pw",
                       "KEYS", b"x", b"y")
    assert ("CLUSTER", "GETKEYSINSLOT", 9, 3) in [args for _, args in fake.log]


def test_busykey_with_replace_retries_with_replace(quiet_output):
    opts = MoveOptions(replace=True)
    mover, fake, (src, dst, *_) = make({7000: [b"x"]}, opts)
    fake.migrate_errors = ["ERR Target instance replied with error: BUSYKEY Target key "
                           "name already exists."]
    assert mover.move_slot(src, dst, 1) == 1
    migrates = [args for _, args in fake.log if args[0] == "MIGRATE"]
    assert "REPLACE" not in migrates[0] and migrates[1][6] == "REPLACE"
    text = quiet_output.getvalue()
    assert "*** Target key exists\n*** Replacing target keys...\n" in text
    assert "Checking key values" not in text


def test_busykey_same_values_are_replaced_after_a_check(quiet_output):
    mover, fake, (src, dst, *_) = make({7000: [b"x", b"y"]})
    fake.migrate_errors = ["ERR Target instance replied with error: BUSYKEY Target key "
                           "name already exists."]
    fake.digests = {7000: [b"1" * 40, b"2" * 40], 7001: [b"1" * 40, b"0" * 40]}
    assert mover.move_slot(src, dst, 1) == 2
    assert ("DEBUG", "DIGEST-VALUE", b"x", b"y") in [a for _, a in fake.log]
    assert "*** Checking key values on both nodes...\n*** Replacing target keys...\n" \
        in quiet_output.getvalue()


def test_busykey_different_values_stop_the_move(quiet_output):
    mover, fake, (src, dst, *_) = make({7000: [b"x", b"y"]})
    fake.migrate_errors = ["ERR Target instance replied with error: BUSYKEY Target key "
                           "name already exists."]
    fake.digests = {7000: [b"1" * 40, b"2" * 40], 7001: [b"1" * 40, b"3" * 40]}
    with pytest.raises(MoveError) as info:
        mover.move_slot(src, dst, 1)
    assert info.value.error is None
    text = quiet_output.getvalue()
    assert ("*** Found 1 key(s) in both source node and target node having different "
            "values.\n    Source node: 127.0.0.1:7000\n    Target node: 127.0.0.1:7001\n"
            "    Keys(s):\n    - y\n") in text
    assert "relaunch the command \nwith --cluster-replace option" in text
    assert not any(a[1] == "SETSLOT" and a[3] == "NODE" for _, a in fake.log)


def test_other_migrate_error_fails_with_the_reply(quiet_output):
    mover, fake, (src, dst, *_) = make({7000: [b"x"]})
    fake.migrate_errors = ["IOERR error or timeout connecting to the client"]
    with pytest.raises(MoveError) as info:
        mover.move_slot(src, dst, 1)
    assert info.value.error == "IOERR error or timeout connecting to the client"
    assert ("Node 127.0.0.1:7000 replied with error:\nIOERR error or timeout connecting "
            "to the client\n") in quiet_output.getvalue()


def test_setslot_errors(quiet_output):
    mover, fake, (src, dst, *_) = make({})
    fake.errors[(7001, "SETSLOT")] = "ERR I'm already the owner of hash slot 1"
    with pytest.raises(MoveError, match="already the owner"):
        mover.move_slot(src, dst, 1)
    assert len(fake.log) == 1
    # the source turned replica after losing its last slot: tolerated
    mover, fake, (src, dst, *_) = make({})
    calls = []

    def reply(n, args, original=fake.reply):
        calls.append((n.port, args))
        if n.port == 7000 and args[3] == "NODE":
            raise redis.ResponseError("ERR Please use SETSLOT only with masters.")
        return original(n, args)

    fake.reply = reply
    mover.move_slot(src, dst, 3)
    assert (7002, ("CLUSTER", "SETSLOT", 3, "NODE", "b" * 40)) in calls
    # any other error from the source stops the move
    mover, fake, (src, dst, *_) = make({})
    fake.reply = lambda n, args, original=fake.reply: (
        _raise("ERR I don't know about node x") if n.port == 7000 and args[3] == "NODE"
        else original(n, args))
    with pytest.raises(MoveError, match="know about node"):
        mover.move_slot(src, dst, 3)


def _raise(text):
    raise redis.ResponseError(text)


def test_cold_move_sends_no_setslot(quiet_output):
    mover, fake, (src, dst, *_) = make({7000: [b"x"]})
    mover.move_slot(src, dst, 4, cold=True)
    assert [a[1] for _, a in fake.log if a[0] == "CLUSTER"] == ["GETKEYSINSLOT",
                                                                  "GETKEYSINSLOT"]


# -- progress -------------------------------------------------------------------------

def test_progress_piped_reshard_lines():
    out = io.StringIO()
    p = Progress(2, style="reshard", out=out, tty=False)
    p.slot_started(7, "127.0.0.1:7000", "127.0.0.1:7001")
    p.keys_moved(3)
    p.keys_moved(2)
    p.keys_phase_done()
    p.slot_done()
    p.slot_started(8, "127.0.0.1:7000", "127.0.0.1:7001")
    p.keys_phase_done()
    p.slot_done()
    p.finish()
    assert out.getvalue() == ("Moving slot 7 from 127.0.0.1:7000 to 127.0.0.1:7001: .....\n"
                              "Moving slot 8 from 127.0.0.1:7000 to 127.0.0.1:7001: \n")
    assert (p.slots_done, p.keys_done) == (2, 5)


def test_progress_piped_rebalance_lines():
    out = io.StringIO()
    p = Progress(3, style="rebalance", out=out, tty=False)
    p.group(2, "a:1", "b:2")
    for _ in range(2):
        p.slot_started(1, "a:1", "b:2")
        p.keys_phase_done()
        p.slot_done()
    p.group_done()
    p.group(1, "c:3", "b:2")
    p.simulated(1)
    assert out.getvalue() == "Moving 2 slots from a:1 to b:2\n##\nMoving 1 slots from c:3 to b:2\n#\n"


def test_progress_bar_on_a_terminal():
    out = io.StringIO()
    now = [100.0]
    p = Progress(4, style="reshard", out=out, tty=True, clock=lambda: now[0], width=200)
    p.slot_started(10, "127.0.0.1:7000", "127.0.0.1:7001")
    now[0] = 102.0
    p.keys_moved(40)
    p.keys_phase_done()
    p.slot_done()
    text = p.bar_text()
    assert text.startswith("[#####...............] 1/4 slots  40 keys  0.5 slots/s  20 keys/s")
    assert "slot 10 127.0.0.1:7000 -> 127.0.0.1:7001" in text
    p.break_line()                        # a message mid-move clears the bar
    assert out.getvalue().endswith("\r\033[K")
    p.finish()
    final = out.getvalue().rsplit("\r\033[K", 1)[1]
    assert final.startswith("[#####...............] 1/4 slots") and final.endswith("\n")
    assert "Moving slot" not in out.getvalue()


def test_progress_bar_redraws_are_throttled_and_fit_the_width():
    out = io.StringIO()
    now = [0.0]
    p = Progress(1000, out=out, tty=True, clock=lambda: now[0], width=40)
    for i in range(50):
        p.slot_started(i, "a", "b")
        p.slot_done()
    assert out.getvalue().count("\r") == 1          # all in the same instant
    assert len(p.bar_text()) == 39
