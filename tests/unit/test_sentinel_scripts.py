"""Sentinel user scripts (queue, retries, timeout, arguments), deny-scripts-reconfig, and
master-reboot-down-after-period, without sockets."""
from __future__ import annotations

import random

import pytest
import trio

from cluster.resp.reply import ReplyError
from sentinel import commands, config, scripts
from sentinel.effects import Event
from sentinel.scripts import ScriptQueue, ScriptRunner, notification_argv
from sentinel.state import SentinelState

T0 = 1_000_000


def make_state(**opts):
    st = SentinelState(port=26379, rng=random.Random(1), now=T0)
    m = st.monitor("mymaster", "10.0.0.1", 6379, 2, T0)
    for k, v in opts.items():
        setattr(m, k, v)
    return st, m


def test_notification_argv_for_warning_events_of_a_master_with_a_script():
    st, m = make_state(notification_script="/bin/notify")
    ev = Event("warning", "+sdown", "slave 10.0.0.2:6379 10.0.0.2 6379 @ mymaster 10.0.0.1 6379")
    assert notification_argv(st, ev) == ("/bin/notify", "+sdown", ev.payload)
    switch = Event("warning", "+switch-master", "mymaster 10.0.0.1 6379 10.0.0.2 6379")
    assert notification_argv(st, switch) == ("/bin/notify", "+switch-master", switch.payload)
    assert notification_argv(st, Event("warning", "+new-epoch", "3", "mymaster")) == \
        ("/bin/notify", "+new-epoch", "3")
    # not for notice-level events, nor for events without a master (+tilt, -script-error)
    assert notification_argv(st, Event("notice", "+slave", "slave a @ mymaster x 1")) is None
    assert notification_argv(st, Event("warning", "+tilt", "#tilt mode entered")) is None
    assert notification_argv(st, Event("warning", "-script-error", "/bin/notify 0 2")) is None
    m.notification_script = None
    assert notification_argv(st, switch) is None


def test_queue_limit_running_limit_and_retries():
    q = ScriptQueue()
    for i in range(scripts.MAX_QUEUE + 5):
        q.schedule(("/s", str(i)))
    assert len(q.jobs) == scripts.MAX_QUEUE
    assert q.jobs[0].argv == ("/s", "5")            # the oldest were dropped
    started = q.due(T0)
    assert len(started) == scripts.MAX_RUNNING and q.running == scripts.MAX_RUNNING
    assert q.due(T0) == []
    q = ScriptQueue()                               # retries, in a short queue
    started = [q.schedule(("/s", str(i))) for i in range(3)]
    assert q.due(T0) == started
    job = started[0]
    job.pid = 42
    # exit 1: retried after 30 s, then 60 s, ...
    assert [e.name for e in q.finished(job, 1, 0, T0)] == ["-script-child"]
    assert job in q.jobs and not job.running and job.start_time == T0 + 30000
    assert job not in q.due(T0 + 29999)
    assert job in q.due(T0 + 30000) and job.retry_num == 2
    q.finished(job, 0, 9, T0 + 30001)               # killed by a signal: retried too
    assert job.start_time == T0 + 30001 + 60000
    # exit 2: an error, not retried
    other = started[1]
    events = q.finished(other, 2, 0, T0)
    assert other not in q.jobs
    assert Event("warning", "-script-error", "/s 0 2") in events
    # success: gone, no error
    assert [e.name for e in q.finished(started[2], 0, 0, T0)] == ["-script-child"]
    assert started[2] not in q.jobs


def test_retries_stop_after_the_maximum():
    q = ScriptQueue()
    job = q.schedule(("/s",))
    now = T0
    for attempt in range(1, scripts.MAX_RETRY + 1):
        assert q.due(now) == [job] and job.retry_num == attempt
        events = q.finished(job, 1, 0, now)
        now = job.start_time
    assert job not in q.jobs
    assert events[-1] == Event("warning", "-script-error", "/s 0 1")


def test_pending_scripts_reply():
    q = ScriptQueue()
    a, b = q.schedule(("/s", "x")), q.schedule(("/s", "y"))
    q.due(T0)
    q.finished(b, 1, 0, T0)
    a.pid = 7
    out = q.pending(T0 + 5)
    assert out[0] == {b"argv": [b"/s", b"x"], b"flags": b"running", b"pid": b"7",
                      b"run-time": b"5", b"retry-num": b"1"}
    assert out[1] == {b"argv": [b"/s", b"y"], b"flags": b"scheduled", b"pid": b"0",
                      b"run-delay": b"29995", b"retry-num": b"1"}


def _run_jobs(q, monkeypatch=None, until=lambda q: not q.running, limit=10.0):
    seen = []

    async def main():
        runner = ScriptRunner(q, lambda: T0, seen.extend)
        async with trio.open_nursery() as nursery:
            runner.start_due(nursery)
            with trio.fail_after(limit):
                while not until(q):
                    await trio.sleep(0.02)
    trio.run(main)
    return seen


def test_runner_passes_the_arguments_and_never_blocks(tmp_path):
    out = tmp_path / "args.txt"
    script = tmp_path / "s.sh"
    script.write_text(f'#!/bin/sh\necho "$@" >> {out}\n')
    script.chmod(0o755)
    q = ScriptQueue()
    q.schedule((str(script), "+sdown", "master mymaster 10.0.0.1 6379"))
    q.schedule((str(script), "mymaster", "leader", "start", "10.0.0.1", "6379", "10.0.0.2",
                "6380"))
    seen = _run_jobs(q)
    assert sorted(out.read_text().splitlines()) == [
        "+sdown master mymaster 10.0.0.1 6379",
        "mymaster leader start 10.0.0.1 6379 10.0.0.2 6380"]
    assert q.jobs == [] and [e.name for e in seen].count("-script-child") == 2


def test_runner_kills_a_script_running_too_long(tmp_path, monkeypatch):
    monkeypatch.setattr(scripts, "MAX_RUNTIME", 200)
    script = tmp_path / "slow.sh"
    script.write_text("#!/bin/sh\nsleep 30\n")
    script.chmod(0o755)
    q = ScriptQueue()
    job = q.schedule((str(script),))
    seen = _run_jobs(q)
    assert [e.name for e in seen if e.level == "warning"] == ["-script-timeout"]
    assert seen[-1].name == "-script-child" and seen[-1].payload.endswith(" 0 9")
    assert job in q.jobs and job.start_time == T0 + scripts.RETRY_DELAY    # retried later


def test_runner_reports_a_script_that_cannot_run(tmp_path):
    q = ScriptQueue()
    q.schedule((str(tmp_path / "missing.sh"), "x"))
    seen = _run_jobs(q)
    assert Event("warning", "-script-error", f"{tmp_path / 'missing.sh'} 0 2") in seen
    assert q.jobs == []


class FakeServer:
    def __init__(self, state):
        self.state = state
        self.scripts = ScriptQueue()
        self.submitted = []

    def now(self):
        return T0

    def submit(self, effects):
        self.submitted.extend(effects)


def test_set_script_paths_denied_by_default_and_checked_when_allowed(tmp_path):
    st, m = make_state()
    srv = FakeServer(st)
    script = tmp_path / "ok.sh"
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    denied = ("ERR Reconfiguration of scripts path is denied for security reasons. Check "
              "the deny-scripts-reconfig configuration directive in your Sentinel "
              "configuration")
    for opt in (b"notification-script", b"client-reconfig-script"):
        with pytest.raises(ReplyError, match="^" + denied + "$"):
            commands.sentinel_cmd(srv, None, [b"SENTINEL", b"SET", b"mymaster", opt,
                                              str(script).encode()])
    assert m.notification_script is None and m.client_reconfig_script is None
    st.deny_scripts_reconfig = False
    with pytest.raises(ReplyError, match="^ERR Notification script seems non existing or "
                                         "non executable$"):
        commands.sentinel_cmd(srv, None, [b"SENTINEL", b"SET", b"mymaster",
                                          b"notification-script", b"/nonexistent"])
    with pytest.raises(ReplyError, match="^ERR Client reconfiguration script seems non "
                                         "existing or non executable$"):
        commands.sentinel_cmd(srv, None, [b"SENTINEL", b"SET", b"mymaster",
                                          b"client-reconfig-script", b"/nonexistent"])
    commands.sentinel_cmd(srv, None, [b"SENTINEL", b"SET", b"mymaster",
                                      b"notification-script", str(script).encode()])
    assert m.notification_script == str(script)
    commands.sentinel_cmd(srv, None, [b"SENTINEL", b"SET", b"mymaster",
                                      b"notification-script", b""])
    assert m.notification_script is None


def test_config_file_script_must_be_executable(tmp_path):
    st = SentinelState(now=T0)
    text = ("sentinel monitor m 127.0.0.1 6379 2\n"
            "sentinel client-reconfig-script m /nonexistent\n")
    with pytest.raises(config.SentinelConfigError,
                       match="Client reconfiguration script seems non existing or non "
                             r"executable\.$"):
        config.apply_lines(text, st, config.ServerOptions(), T0)


def test_master_reboot_down_after_period():
    """A master whose run id changed is SDOWN while it does not answer PONG for longer
    than master-reboot-down-after-period (it answers -LOADING, a valid reply)."""
    st, m = make_state(down_after=5000, reboot_down_after=1000)
    st.tick(T0 + 100)
    st.on_link(m.addr, True, T0 + 100)
    st.on_reply(m.addr, ("info", m), b"run_id:" + b"a" * 40 + b"\r\nrole:master\r\n", T0 + 150)
    st.on_reply(m.addr, ("ping", m), b"PONG", T0 + 200)
    effects = st.on_reply(m.addr, ("info", m), b"run_id:" + b"b" * 40 + b"\r\nrole:master\r\n",
                          T0 + 300)
    assert [e.name for e in effects if isinstance(e, Event)] == ["+reboot"]
    assert "master_reboot" in m.flags
    st.on_reply(m.addr, ("ping", m), b"LOADING Redis is loading the dataset in memory",
                T0 + 400)
    assert not [e for e in st.tick(T0 + 1200) if isinstance(e, Event) and e.name == "+sdown"]
    assert [e.payload for e in st.tick(T0 + 1400) if isinstance(e, Event)
            and e.name == "+sdown"] == ["master mymaster 10.0.0.1 6379"]
    st.on_reply(m.addr, ("ping", m), b"PONG", T0 + 1500)          # a PONG clears it
    assert "master_reboot" not in m.flags
    assert [e.name for e in st.tick(T0 + 1600) if isinstance(e, Event)] == ["-sdown"]
    # without the option a reboot is only an event
    st2, m2 = make_state(down_after=5000)
    st2.on_reply(m2.addr, ("info", m2), b"run_id:" + b"a" * 40 + b"\r\n", T0)
    st2.on_reply(m2.addr, ("info", m2), b"run_id:" + b"b" * 40 + b"\r\n", T0 + 1)
    assert "master_reboot" not in m2.flags
