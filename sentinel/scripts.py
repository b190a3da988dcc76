"""User scripts, run as Redis runs them: notification-script <event-type> <description> for
every warning-level event of a master (or of its replicas and sentinels), and
client-reconfig-script <master-name> <role> <state> <from-ip> <from-port> <to-ip> <to-port>
when a failover switches the master address.

`ScriptQueue` is the sans-I/O part (Redis's scripts queue: at most 256 queued and 16 running,
a retry with a doubling delay from 30 s when a script exits with 1 or dies by a signal, at
most 10 attempts, killed after 60 s). `ScriptRunner` runs the due jobs with
trio.run_process, so a script never blocks the sentinel's loop.
"""
from __future__ import annotations

import subprocess

import trio

from sentinel.effects import Event

MAX_QUEUE = 256
MAX_RUNNING = 16
MAX_RUNTIME = 60000        # ms; then SIGKILL
MAX_RETRY = 10
RETRY_DELAY = 30000        # ms, doubled for every further retry


class Job:
    def __init__(self, argv: tuple[str, ...]):
        self.argv = argv
        self.running = False
        self.pid = 0
        self.start_time = 0        # when it started, or (not running) when it may run again
        self.retry_num = 0


def retry_delay(retry_num: int) -> int:
    return RETRY_DELAY * 2 ** max(retry_num - 1, 0)


class ScriptQueue:
    def __init__(self):
        self.jobs: list[Job] = []

    @property
    def running(self) -> int:
        return sum(1 for job in self.jobs if job.running)

    def schedule(self, argv) -> Job:
        job = Job(tuple(str(a) for a in argv))
        self.jobs.append(job)
        if len(self.jobs) > MAX_QUEUE:           # drop the oldest job not running
            oldest = next((j for j in self.jobs if not j.running), None)
            if oldest is not None:
                self.jobs.remove(oldest)
        return job

    def due(self, now: int) -> list[Job]:
        """The jobs to start now (marked running; their attempt counted)."""
        started = []
        running = self.running
        for job in self.jobs:
            if running >= MAX_RUNNING:
                break
            if job.running or (job.start_time and job.start_time > now):
                continue
            job.running = True
            job.start_time = now
            job.retry_num += 1
            running += 1
            started.append(job)
        return started

    def finished(self, job: Job, exitcode: int, bysignal: int, now: int) -> list[Event]:
        events = [Event("debug", "-script-child", f"{job.pid} {exitcode} {bysignal}")]
        job.running = False
        job.pid = 0
        if (bysignal or exitcode == 1) and job.retry_num != MAX_RETRY:
            job.start_time = now + retry_delay(job.retry_num)
            return events
        if bysignal or exitcode != 0:
            events.append(Event("warning", "-script-error",
                                f"{job.argv[0]} {bysignal} {exitcode}"))
        if job in self.jobs:
            self.jobs.remove(job)
        return events

    def timed_out(self, job: Job, now: int) -> bool:
        return job.running and now - job.start_time > MAX_RUNTIME

    def pending(self, now: int) -> list[dict]:
        """SENTINEL PENDING-SCRIPTS."""
        out = []
        for job in self.jobs:
            entry = {b"argv": [a.encode() for a in job.argv],
                     b"flags": b"running" if job.running else b"scheduled",
                     b"pid": b"%d" % job.pid}
            if job.running:
                entry[b"run-time"] = b"%d" % (now - job.start_time)
            else:
                entry[b"run-delay"] = b"%d" % (max(job.start_time - now, 0)
                                                if job.start_time else 0)
            entry[b"retry-num"] = b"%d" % job.retry_num
            out.append(entry)
        return out


def notification_argv(state, event: Event) -> tuple | None:
    """A warning-level event concerning a master with a notification-script."""
    if event.level != "warning":
        return None
    name = event.master
    if name is None:
        words = event.payload.split()
        if "@" in words and words.index("@") + 1 < len(words):
            name = words[words.index("@") + 1]
        elif len(words) > 1 and words[0] == "master":
            name = words[1]
        elif words:
            name = words[0]                # +switch-master <name> ...
    master = state.masters.get(name) if name else None
    if master is None or not master.notification_script:
        return None
    return (master.notification_script, event.name, event.payload)


class ScriptRunner:
    """Starts due jobs in a trio nursery; reports their end through `perform(effects)`."""

    def __init__(self, queue: ScriptQueue, now, perform):
        self.queue = queue
        self.now = now
        self.perform = perform

    def start_due(self, nursery) -> None:
        for job in self.queue.due(self.now()):
            nursery.start_soon(self._run, job)

    async def _run(self, job: Job) -> None:
        exitcode, bysignal = 0, 0
        try:
            proc = await trio.lowlevel.open_process(
                list(job.argv), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL, start_new_session=True)
        except OSError:
            exitcode = 2                   # could not exec: Redis's child exits 2, no retry
        else:
            job.pid = proc.pid
            self.perform([Event("debug", "+script-child", str(proc.pid))])
            with trio.move_on_after(MAX_RUNTIME / 1000) as scope:
                await proc.wait()
            if scope.cancelled_caught:
                self.perform([Event("warning", "-script-timeout", f"{job.argv[0]} {proc.pid}")])
                proc.kill()
                with trio.CancelScope(shield=True):
                    await proc.wait()
            code = proc.returncode
            if code < 0:
                bysignal = -code
            else:
                exitcode = code
        self.perform(self.queue.finished(job, exitcode, bysignal, self.now()))


__all__ = ["ScriptQueue", "ScriptRunner", "Job", "notification_argv"]
