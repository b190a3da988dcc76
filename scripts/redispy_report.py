"""Side-by-side summary of redis-py's test runs (JUnit XML) against redis-server and ours.

Used by scripts/redispy-suite: `python scripts/redispy_report.py DIR` reads DIR/redis.xml
and DIR/ours.xml (either may be missing), prints passed/failed/skipped per file and per
command family for both servers, and writes DIR/regressions.txt: the tests that pass on
redis-server but fail on ours, with the first line of our failure.
"""

import re
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

# test-name prefix (after "test_") -> family; first match wins.
FAMILIES = [
    ("pubsub", r"^pubsub|.*pubsub"),
    ("streams", r"^x[a-z]"),
    ("geo", r"^geo"),
    ("acl", r"^acl"),
    ("sorted sets", r"^(b?z[a-z]+)"),
    ("hashes", r"^h(set|get|del|exists|len|strlen|keys|vals|incr|randfield|scan|mset|mget|"
               r"setnx|expire|pexpire|ttl|pttl|persist|getdel|getex|setex)"),
    ("blocking", r"^b(lpop|rpop|lmove|lmpop|rpoplpush)"),
    ("lists", r"^(l(push|pop|range|index|insert|len|move|mpop|pos|rem|set|trim)|"
              r"r(pop|push)|rpoplpush|lists)"),
    ("sets", r"^(s(add|rem|card|ismember|mismember|members|randmember|pop|move|inter|union|"
             r"diff|scan)|set_multi)"),
    ("bitmaps", r"^(bit|setbit|getbit)"),
    ("hyperloglog", r"^pf"),
    ("sort", r"^sort"),
    ("lua", r"^(eval|script|register_script)"),
    ("strings/keys", r"^(get|set|mset|msetnx|mget|incr|decr|append|strlen|substr|psetex|lcs|"
                     r"p?expire|p?ttl|persist|rename|copy|delete|exists|keys|scan|type|unlink|"
                     r"randomkey|dump|restore|object|binary|empty|floating|large)"),
]


def family(file: str, name: str) -> str:
    base = re.sub(r"\[.*\]$", "", name)
    base = base[5:] if base.startswith("test_") else base
    if "pubsub" in file:
        return "pubsub"
    for fam, pat in FAMILIES:
        if re.match(pat, base):
            return fam
    return "other"


def load(path: Path):
    """{(file, class, name): (outcome, message)} from a JUnit XML file."""
    result = {}
    if not path.exists():
        return None
    for case in ET.parse(path).getroot().iter("testcase"):
        cls = case.get("classname", "")
        file = cls.split(".")[1] if cls.startswith("tests.") else cls
        key = (file, cls.rsplit(".", 1)[-1], case.get("name", ""))
        outcome, msg = "passed", ""
        for child in case:
            if child.tag in ("failure", "error"):
                outcome, msg = "failed", (child.get("message") or "").splitlines()[:1]
                msg = msg[0] if msg else ""
                break
            if child.tag == "skipped":
                outcome, msg = "skipped", child.get("message") or ""
        result[key] = (outcome, msg)
    return result


def counts(run, select):
    c = Counter(outcome for key, (outcome, _) in run.items() if select(key))
    return f"{c['passed']:4d} / {c['failed']:3d} / {c['skipped']:3d}"


def main() -> int:
    out = Path(sys.argv[1])
    runs = {label: load(out / f"{label}.xml") for label in ("redis", "ours")}
    present = [label for label, run in runs.items() if run is not None]
    if not present:
        print("no results")
        return 1
    keys = set().union(*(runs[label].keys() for label in present))
    files = sorted({k[0] for k in keys})
    fams = sorted({family(k[0], k[2]) for k in keys})
    head = "passed / failed / skipped"
    print()
    print(f"{'':28s}" + "".join(f"{label + ': ' + head:>40s}" for label in present))
    rows = [(f, lambda k, f=f: k[0] == f) for f in files] + [("all", lambda k: True)]
    rows += [("  " + fam, lambda k, fam=fam: family(k[0], k[2]) == fam) for fam in fams]
    for title, sel in rows:
        print(f"{title:28s}" + "".join(f"{counts(runs[label], sel):>40s}" for label in present))
    if len(present) == 2:
        redis, ours = runs["redis"], runs["ours"]
        worse = sorted(k for k in keys if redis.get(k, ("",))[0] == "passed"
                       and ours.get(k, ("",))[0] != "passed")
        lines = [f"{family(k[0], k[2]):12s} {k[0]}::{k[1]}::{k[2]}  [{ours.get(k, ('missing', ''))[0]}]"
                 f"  {ours.get(k, ('', ''))[1][:200]}" for k in worse]
        (out / "regressions.txt").write_text("\n".join(lines) + ("\n" if lines else ""))
        print(f"\n{len(worse)} tests pass on redis-server but not on ours: {out / 'regressions.txt'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
