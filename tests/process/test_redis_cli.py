"""The real redis-cli against our node, its output compared with a real redis-server's."""
from __future__ import annotations

import re
import shutil
import subprocess

if shutil.which("redis-cli") is None:  # the suite needs it: fail loudly, never skip
    raise RuntimeError("redis-cli is not installed (apt-get install redis-tools)")


def cli(port: int, *args: str, stdin: str | bytes | None = None) -> tuple[str, int]:
    res = subprocess.run(["redis-cli", "-p", str(port), *args],
                         input=stdin.encode() if isinstance(stdin, str) else stdin,
                         capture_output=True, timeout=60)
    return res.stdout.decode("utf-8", "replace"), res.returncode


def both(pair, *args: str, stdin=None) -> str:
    ours, real = pair
    got = cli(ours.port, *args, stdin=stdin)
    want = cli(real.port, *args, stdin=stdin)
    assert got == want, args
    return got[0]


def test_ping(pair):
    assert both(pair, "PING") == "PONG\n"
    assert both(pair, "PING", "hello there") == "hello there\n"


def test_set_get(pair):
    assert both(pair, "SET", "cli:k", "some value") == "OK\n"
    assert both(pair, "GET", "cli:k") == "some value\n"
    assert both(pair, "--no-raw", "GET", "cli:k") == '"some value"\n'


def test_no_raw_reply_forms(pair):
    both(pair, "DEL", "cli:l", "cli:n")
    assert both(pair, "--no-raw", "GET", "cli:missing") == "(nil)\n"
    assert both(pair, "--no-raw", "INCR", "cli:n") == "(integer) 1\n"
    assert both(pair, "--no-raw", "RPUSH", "cli:l", "a", "b c") == "(integer) 2\n"
    assert both(pair, "--no-raw", "LRANGE", "cli:l", "0", "-1") == '1) "a"\n2) "b c"\n'
    assert both(pair, "--no-raw", "LRANGE", "cli:nol", "0", "-1") == "(empty array)\n"
    assert both(pair, "--no-raw", "LPOP", "cli:nol", "2") == "(nil)\n"
    assert both(pair, "--no-raw", "INCR", "cli:l") == (
        "(error) WRONGTYPE Operation against a key holding the wrong kind of value\n")
    assert both(pair, "--no-raw", "NOSUCH", "x") == (
        "(error) ERR unknown command 'NOSUCH', with args beginning with: 'x' \n")
    assert both(pair, "--no-raw", "GET") == (
        "(error) ERR wrong number of arguments for 'get' command\n")
    assert both(pair, "--no-raw", "SET", "cli:b", "\x01\xff") == "OK\n"
    assert both(pair, "--no-raw", "GET", "cli:b") == '"\\x01\\xc3\\xbf"\n'


def test_resp3_output(pair):
    assert both(pair, "-3", "--no-raw", "GET", "cli:missing3") == "(nil)\n"
    ours, real = pair
    outs = [re.sub(r'"id" => \(integer\) \d+', "ID", cli(p.port, "-3", "--no-raw", "HELLO",
                                                           "3")[0]) for p in (ours, real)]
    assert outs[0] == outs[1]
    assert outs[0].startswith('1# "server" => "redis"\n2# "version" => "7.0.15"\n')


def test_commands_from_stdin(pair):
    script = ("DEL cli:s\nSET cli:s 1\nINCR cli:s\nGET cli:s\nRPUSH cli:sl x y\n"
              "LRANGE cli:sl 0 -1\nGET cli:nothing\nNOSUCH\n")
    out = both(pair, stdin=script)
    assert out.split("\n")[:7] == ["0", "OK", "2", "2", "2", "x", "y"]
    assert "ERR unknown command 'NOSUCH'" in out


def test_pipe_mass_insertion(pair):
    payload = b"".join(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n"
                       % (len(b"mass:%d" % i), b"mass:%d" % i, len(b"%d" % i), b"%d" % i)
                       for i in range(10000))
    for port in (p.port for p in pair):
        out, code = cli(port, "--pipe", stdin=payload)
        assert code == 0
        assert "errors: 0, replies: 10000" in out
    ours, _ = pair
    assert cli(ours.port, "GET", "mass:9999")[0] == "9999\n"
    assert cli(ours.port, "GET", "mass:0")[0] == "0\n"


def test_repeat(pair):
    both(pair, "DEL", "cli:r")
    assert both(pair, "-r", "3", "INCR", "cli:r") == "1\n2\n3\n"
    assert both(pair, "--no-raw", "-r", "2", "INCR", "cli:r") == "(integer) 4\n(integer) 5\n"
