"""LOLWUT side by side with a real redis-server 7.0.15, and against Redis's own lolwut
sources compiled here.

The parts that use no randomness (the default "Redis ver." line, Schotter with at most two
rows of squares, the errors, the VERSION wrap-around) must be byte-equal to the real
server's. The random parts come from glibc's rand(), which Redis seeds per process: for
them the real server gives the shape (lines, widths, colours, trailing text), and Redis's
lolwut.c / lolwut5.c / lolwut6.c, compiled with a small shim and srand(seed), give the
exact bytes our code must draw for the same seed.
"""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from cluster.commands.lolwut import lolwut
from tests.support import raw_replies

REDIS_REPO = Path("/work/.mirror/redis+redis/repo")


@pytest.fixture(scope="module")
def node(module_node):
    return module_node


DETERMINISTIC = [
    ("LOLWUT",), ("lolwut", "VERSION", "7"), ("LOLWUT", "VERSION"), ("LOLWUT", "foo", "bar"),
    ("LOLWUT", "VERSION", "4"), ("LOLWUT", "VERSION", "-1"),
    ("LOLWUT", "VERSION", "5", "10", "3", "2"), ("LOLWUT", "VERSION", "5", "40", "10", "1"),
    ("LOLWUT", "VERSION", "5", "3", "1", "1"), ("LOLWUT", "VERSION", "5", "-3", "0", "-9"),
    ("LOLWUT", "VERSION", "5", "1000", "200", "2"), ("LOLWUT", "version", "4294967301", "7", "3", "2"),
    ("LOLWUT", "VERSION", "6", "1", "1"), ("LOLWUT", "VERSION", "6", "5", "1"),
    ("LOLWUT", "VERSION", "x"), ("LOLWUT", "VERSION", "5", "x"),
    ("LOLWUT", "VERSION", "5", "10", "3", "2.5"), ("LOLWUT", "VERSION", "6", "1", "y"),
    ("LOLWUT", "VERSION", "99999999999999999999"),
]


@pytest.mark.parametrize("protocol", [2, 3])
def test_lolwut_deterministic_like_redis(pair, protocol):
    ours, real = pair
    got = raw_replies(ours.port, DETERMINISTIC, protocol)
    want = raw_replies(real.port, DETERMINISTIC, protocol)
    for args, g, w in zip(DETERMINISTIC, got, want):
        assert g == w, args


def _text(raw: bytes) -> bytes:
    header, _, body = raw.partition(b"\r\n")
    assert header.startswith(b"$")
    return body[:-2]


def _schotter_shape(text: bytes):
    art, _, tail = text.partition(b"\n\nGeorg Nees")
    lines = art.decode().split("\n")
    assert all(0x2800 <= ord(ch) <= 0x28FF for line in lines for ch in line)
    return [len(line) for line in lines], tail


_CELL = re.compile(rb"\x1b\[0;(30;40|90;100|37;47|97;107)m \x1b\[0m")


def _skyline_shape(text: bytes):
    art, _, tail = text.partition(b"\nDedicated")
    rows = art.split(b"\n")
    widths = []
    for row in rows:
        cells = _CELL.findall(row)
        assert _CELL.sub(b"", row) == b""
        widths.append(len(cells))
    return widths, tail


@pytest.mark.parametrize("args,shape", [
    (("LOLWUT", "VERSION", "5"), _schotter_shape),
    (("LOLWUT", "VERSION", "5", "30", "5", "9"), _schotter_shape),
    (("LOLWUT", "VERSION", "6"), _skyline_shape),
    (("LOLWUT", "VERSION", "6", "33", "17"), _skyline_shape),
])
def test_lolwut_random_art_has_redis_shape(pair, args, shape):
    ours, real = pair
    got = _text(raw_replies(ours.port, [args])[0])
    want = _text(raw_replies(real.port, [args])[0])
    assert shape(got) == shape(want)


_SHIM = r'''
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <stdarg.h>
#include <math.h>
#define REDIS_VERSION "7.0.15"
#define C_OK 0
#define C_ERR -1
typedef char *sds;
static size_t sdslen(const sds s) { return *(size_t*)(s - sizeof(size_t)); }
static sds sdsnewlen(const char *p, size_t len) {
    char *b = malloc(sizeof(size_t)+len+1); *(size_t*)b = len;
    memcpy(b+sizeof(size_t), p, len); b[sizeof(size_t)+len] = 0; return b+sizeof(size_t); }
static sds sdsempty(void) { return sdsnewlen("", 0); }
static sds sdsnew(const char *p) { return sdsnewlen(p, strlen(p)); }
static sds sdscatlen(sds s, const void *t, size_t len) {
    size_t cur = sdslen(s); char *b = realloc(s - sizeof(size_t), sizeof(size_t)+cur+len+1);
    *(size_t*)b = cur+len; memcpy(b+sizeof(size_t)+cur, t, len);
    b[sizeof(size_t)+cur+len] = 0; return b+sizeof(size_t); }
static sds sdscat(sds s, const char *t) { return sdscatlen(s, t, strlen(t)); }
static sds sdscatprintf(sds s, const char *fmt, ...) {
    char buf[256]; va_list ap; va_start(ap, fmt); int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap); return sdscatlen(s, buf, n); }
static void sdsfree(sds s) { free(s - sizeof(size_t)); }
#define zmalloc malloc
#define zfree free
typedef struct { void *ptr; } robj;
typedef struct { int argc; robj **argv; } client;
static void addReplyVerbatim(client *c, const char *s, size_t len, const char *ext) {
    (void)c; (void)ext; fwrite(s, 1, len, stdout); }
static int getLongFromObjectOrReply(client *c, robj *o, long *target, const char *msg) {
    (void)c; (void)msg; *target = strtol(o->ptr, NULL, 10); return C_OK; }
'''

_MAIN = r'''
#include "server.h"
void lolwutCommand(client *c);
int main(int argc, char **argv) {
    srand((unsigned)strtoul(argv[1], NULL, 10));
    client c; c.argc = argc - 1; c.argv = malloc(sizeof(robj*) * c.argc);
    for (int i = 0; i < c.argc; i++) {
        c.argv[i] = malloc(sizeof(robj)); c.argv[i]->ptr = argv[i+1]; }
    c.argv[0]->ptr = "lolwut";
    lolwutCommand(&c);
    return 0;
}
'''


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """Redis 7.0.15's lolwut sources built into a program: `ref seed args...`."""
    if shutil.which("gcc") is None or not REDIS_REPO.exists():
        pytest.skip("needs gcc and the Redis sources at " + str(REDIS_REPO))
    work = tmp_path_factory.mktemp("lolwut_ref")
    for name in ("lolwut.c", "lolwut5.c", "lolwut6.c", "lolwut.h"):
        blob = subprocess.run(["git", "-C", str(REDIS_REPO), "show", f"7.0.15:src/{name}"],
                              capture_output=True, check=True).stdout
        (work / name).write_bytes(blob)
    (work / "server.h").write_text(_SHIM)
    (work / "main.c").write_text(_MAIN)
    subprocess.run(["gcc", "-O2", "-o", "ref", "main.c", "lolwut.c", "lolwut5.c",
                    "lolwut6.c", "-lm"], cwd=work, check=True, capture_output=True)
    return work / "ref"


@pytest.mark.parametrize("args", [
    [], ["version", "5"], ["version", "6"], ["version", "5", "1"], ["version", "5", "7", "3", "40"],
    ["version", "5", "1000", "200", "200"], ["version", "5", "33", "1", "17"],
    ["version", "6", "1000", "60"], ["version", "6", "3", "1000"], ["version", "6", "47", "9"],
    ["version", "6", "-4", "0"], ["version", "4294967302", "20", "20"],
])
def test_lolwut_art_equals_redis_sources(reference, args):
    for seed in (1, 424242, 3_000_000_001):
        want = subprocess.run([str(reference), str(seed), *args], capture_output=True,
                              check=True).stdout
        assert lolwut([b"lolwut", *(a.encode() for a in args)], seed) == want, (args, seed)


def test_lolwut_is_random_between_calls(node):
    first, second = raw_replies(node.port, [("LOLWUT", "VERSION", "6")] * 2)
    assert first != second
