"""Linux network namespaces for process tests that need addresses other than loopback.

    with Lab(n_namespaces=2) as lab:
        server = start_something_bound_to(lab.host_ip)
        lab.run(0, ["redis-cli", "-h", lab.host_ip, "-p", str(port), "PING"])
        lab.block(0, 1)                  # partition namespace 0 from namespace 1
        proc = lab.popen(1, [...])       # killed at teardown if still running

THE RULES.
- Everything lives on one private bridge in the root namespace, addressed 10.213.X.1/24 (X
  random, the /24 checked against every address and route on the host under a lock, so
  parallel runs never pick the same one). Namespace i has a veth pair into the bridge and
  address 10.213.X.(i+2). Nothing is routed beyond the bridge.
- Names carry this run's pid and a random tag: namespaces `pyrns-<pid>-<tag>-<i>`,
  interfaces `pr<tag>b` (bridge), `pr<tag>h<i>` (root side), `pr<tag>n<i>` (namespace side).
  The bridge's alias is `pyrns-<pid>-<tag>`, so a later run can delete what a killed run
  (SIGKILL: no finally) left behind; it does so for runs whose pid is gone.
- Teardown runs in every outcome (exceptions, KeyboardInterrupt, a setup failing half way):
  processes started with `popen` are killed, then the namespaces, the veths and the bridge
  are deleted. Deleting a namespace destroys its veth pair; the root side is deleted too in
  case the namespace end never moved.
- Needs root (CAP_NET_ADMIN) and iproute2's `ip`. Without them
  the test FAILS with a message saying so: CI runs as root, a skip would hide the test.

Traffic between two namespaces crosses the bridge; with br_netfilter loaded that traffic
also meets the host's iptables FORWARD chain (a DROP policy there would cut it).
"""
from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import json
import os
import random
import re
import shutil
import signal
import subprocess
from dataclasses import dataclass
from typing import Iterator

import pytest

PREFIX = "10.213"             # 10.213.X.0/24
LOCK_PATH = "/run/lock/pyredis-netns.lock"
CMD_TIMEOUT = 15.0
_NOWHERE_MAC = "02:00:5e:ff:ff:fe"     # locally administered; on no interface
_ALIAS = re.compile(r"^pyrns-(\d+)-([0-9a-f]{6})$")


@dataclass(frozen=True)
class Namespace:
    index: int
    name: str        # the `ip netns` name
    ip: str          # its address on the bridge
    dev: str         # the veth end inside it
    host_dev: str    # the veth end in the root namespace (a bridge port)


def _fail(message: str):
    pytest.fail(f"netns lab: {message}", pytrace=False)


def _ip(*args: str, check: bool = True, netns: str | None = None) -> subprocess.CompletedProcess:
    argv = ["ip", *(["-n", netns] if netns else []), *args]
    res = subprocess.run(argv, capture_output=True, text=True, timeout=CMD_TIMEOUT)
    if check and res.returncode != 0:
        raise RuntimeError(f"`{' '.join(argv)}` failed ({res.returncode}): "
                           f"{res.stderr.strip()}")
    return res


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _used_networks() -> list[ipaddress.IPv4Network]:
    """Every IPv4 network the host has an address in or a route to (default excluded)."""
    nets = []
    for addr in json.loads(_ip("-j", "-4", "addr", "show").stdout or "[]"):
        for info in addr.get("addr_info", []):
            nets.append(ipaddress.ip_network(f"{info['local']}/{info['prefixlen']}",
                                             strict=False))
    for route in json.loads(_ip("-j", "-4", "route", "show", "table", "all").stdout or "[]"):
        dst = route.get("dst", "default")
        if dst != "default":
            nets.append(ipaddress.ip_network(dst, strict=False))
    return nets


def remove_stale() -> None:
    """Delete namespaces and bridges that labs of dead processes left (killed runs)."""
    for line in _ip("netns", "list").stdout.splitlines():
        name = line.split()[0] if line.strip() else ""
        m = re.match(r"^pyrns-(\d+)-[0-9a-f]{6}-\d+$", name)
        if m and not _pid_alive(int(m.group(1))):
            _ip("netns", "delete", name, check=False)
    for link in json.loads(_ip("-j", "link", "show", "type", "bridge").stdout or "[]"):
        m = _ALIAS.match(link.get("ifalias", ""))
        if m and not _pid_alive(int(m.group(1))):
            _ip("link", "delete", link["ifname"], check=False)


class Lab:
    """A private bridge with `n_namespaces` network namespaces on it (see the module)."""

    def __init__(self, n_namespaces: int = 1):
        if not 1 <= n_namespaces <= 200:
            raise ValueError("n_namespaces must be 1..200")
        self.n = n_namespaces
        self.tag = "%06x" % random.SystemRandom().getrandbits(24)
        self.pid = os.getpid()
        self.bridge = f"pr{self.tag}b"
        self.subnet: ipaddress.IPv4Network | None = None
        self.host_ip = ""
        self.namespaces: list[Namespace] = []
        self._made_links: list[str] = []        # root-namespace links we created
        self._made_netns: list[str] = []
        self._procs: list[subprocess.Popen] = []
        self._blocked: set[tuple[str, str]] = set()
        self._closed = False

    # -- setup / teardown ---------------------------------------------------------
    def __enter__(self) -> "Lab":
        try:
            self._setup()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _preflight(self) -> None:
        if shutil.which("ip") is None:
            _fail("`ip` is not installed (Debian package iproute2); these tests need it")
        if os.geteuid() != 0:
            _fail("network namespaces need root (CAP_NET_ADMIN); run the tests as root, "
                  "as CI does")

    def _setup(self) -> None:
        self._preflight()
        remove_stale()
        with open(LOCK_PATH, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)    # choose + claim the subnet atomically
            self.subnet = self._free_subnet()
            hosts = list(self.subnet.hosts())
            self.host_ip = str(hosts[0])
            res = _ip("link", "add", self.bridge, "type", "bridge", check=False)
            if res.returncode != 0:
                if "Operation not permitted" in res.stderr:
                    _fail(f"cannot create a bridge: {res.stderr.strip()} "
                          f"(needs CAP_NET_ADMIN)")
                raise RuntimeError(f"ip link add {self.bridge} type bridge: {res.stderr}")
            self._made_links.append(self.bridge)
            _ip("link", "set", self.bridge, "alias", f"pyrns-{self.pid}-{self.tag}")
            _ip("addr", "add", f"{self.host_ip}/{self.subnet.prefixlen}", "dev", self.bridge)
        _ip("link", "set", self.bridge, "up")
        for i in range(self.n):
            name = f"pyrns-{self.pid}-{self.tag}-{i}"
            ns = Namespace(i, name, str(hosts[i + 1]), f"pr{self.tag}n{i}",
                           f"pr{self.tag}h{i}")
            _ip("netns", "add", name)
            self._made_netns.append(name)
            _ip("link", "add", ns.host_dev, "type", "veth", "peer", "name", ns.dev)
            self._made_links.append(ns.host_dev)
            _ip("link", "set", ns.dev, "netns", name)
            _ip("link", "set", ns.host_dev, "master", self.bridge)
            _ip("link", "set", ns.host_dev, "up")
            _ip("link", "set", "lo", "up", netns=name)
            _ip("addr", "add", f"{ns.ip}/{self.subnet.prefixlen}", "dev", ns.dev, netns=name)
            _ip("link", "set", ns.dev, "up", netns=name)
            self.namespaces.append(ns)

    def _free_subnet(self) -> ipaddress.IPv4Network:
        used = _used_networks()
        rng = random.SystemRandom()
        for x in rng.sample(range(1, 255), 254):
            net = ipaddress.ip_network(f"{PREFIX}.{x}.0/24")
            if not any(net.overlaps(u) for u in used):
                return net
        raise RuntimeError(f"no free {PREFIX}.X.0/24 subnet on this host")

    def close(self) -> None:
        """Kill our processes, delete namespaces, veths and the bridge (idempotent)."""
        if self._closed:
            return
        self._closed = True
        errors = []
        for proc in self._procs:
            if proc.poll() is None:
                with contextlib.suppress(OSError):
                    proc.kill()
            with contextlib.suppress(Exception):
                proc.wait(5)
        for name in reversed(self._made_netns):
            # processes left inside (started through run/popen by us) would keep it alive
            pids = _ip("netns", "pids", name, check=False).stdout.split()
            for pid in pids:
                with contextlib.suppress(OSError, ValueError):
                    os.kill(int(pid), signal.SIGKILL)
            res = _ip("netns", "delete", name, check=False)
            if res.returncode != 0 and name in _ip("netns", "list").stdout.split():
                errors.append(f"netns {name}: {res.stderr.strip()}")
        for link in reversed(self._made_links):
            if _ip("link", "show", link, check=False).returncode == 0:
                res = _ip("link", "delete", link, check=False)
                if res.returncode != 0:
                    errors.append(f"link {link}: {res.stderr.strip()}")
        if errors:
            raise RuntimeError("netns lab teardown left: " + "; ".join(errors))

    # -- using it -----------------------------------------------------------------
    def ns(self, which: int | str | Namespace) -> Namespace:
        """A namespace by index, by name, or itself."""
        if isinstance(which, Namespace):
            return which
        if isinstance(which, int):
            return self.namespaces[which]
        for ns in self.namespaces:
            if ns.name == which:
                return ns
        raise KeyError(which)

    def argv(self, which, argv: list[str]) -> list[str]:
        return ["ip", "netns", "exec", self.ns(which).name, *argv]

    def run(self, which, argv: list[str], timeout: float = 30.0,
            **kwargs) -> subprocess.CompletedProcess:
        """Run `argv` inside a namespace to completion (output captured unless told)."""
        kwargs.setdefault("capture_output", True)
        return subprocess.run(self.argv(which, argv), timeout=timeout, **kwargs)

    def popen(self, which, argv: list[str], **kwargs) -> subprocess.Popen:
        """Start `argv` inside a namespace; killed at teardown if still running."""
        proc = subprocess.Popen(self.argv(which, argv), **kwargs)
        self._procs.append(proc)
        return proc

    HOST = "host"      # block()/unblock() party: the root namespace's side of the bridge

    def _party(self, which) -> tuple[str | None, str, str, str]:
        """(netns name or None for the host, device, address, key) of a block() party."""
        if which == self.HOST:
            return None, self.bridge, self.host_ip, self.HOST
        ns = self.ns(which)
        return ns.name, ns.dev, ns.ip, ns.name

    def block(self, a, b) -> None:
        """Partition `a` from `b` (namespaces, or Lab.HOST): every IPv4 packet between them
        is dropped silently, both ways, so connections time out as on a real network.

        Done without netfilter or tc actions (often missing from CI kernels): each side
        gets a permanent neighbour entry giving the other's address an unused MAC; the
        bridge floods such frames and no interface takes them."""
        for src, dst in ((self._party(a), self._party(b)), (self._party(b), self._party(a))):
            if (src[3], dst[3]) in self._blocked:
                continue
            _ip("neigh", "replace", dst[2], "lladdr", _NOWHERE_MAC, "dev", src[1],
                "nud", "permanent", netns=src[0])
            self._blocked.add((src[3], dst[3]))

    def unblock(self, a, b) -> None:
        """Undo block(a, b): the next packet resolves the address by ARP again."""
        for src, dst in ((self._party(a), self._party(b)), (self._party(b), self._party(a))):
            if (src[3], dst[3]) not in self._blocked:
                continue
            _ip("neigh", "del", dst[2], "dev", src[1], netns=src[0], check=False)
            self._blocked.discard((src[3], dst[3]))

    def isolate(self, which) -> None:
        """Cut a namespace off from everyone, the host included (its bridge port goes
        down)."""
        _ip("link", "set", self.ns(which).host_dev, "down")

    def rejoin(self, which) -> None:
        """Undo isolate()."""
        _ip("link", "set", self.ns(which).host_dev, "up")


@contextlib.contextmanager
def lab(n_namespaces: int = 1) -> Iterator[Lab]:
    """`with netns.lab(2) as l:` — the same as `with Lab(2) as l:`."""
    with Lab(n_namespaces) as made:
        yield made


@pytest.fixture
def netns_lab():
    """A Lab with one namespace, torn down after the test (import it into a test module)."""
    with Lab(1) as made:
        yield made
