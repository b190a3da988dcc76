"""Parse an instance's INFO reply into the fields the sentinel uses."""
from __future__ import annotations


def parse_info(text: str) -> dict:
    out: dict = {"slaves": []}
    for line in text.split("\n"):
        line = line.strip("\r")
        if not line or line[0] == "#" or ":" not in line:
            continue
        key, _, value = line.partition(":")
        if key.startswith("slave") and key[5:].isdigit():
            fields = dict(p.partition("=")[::2] for p in value.split(","))
            try:
                out["slaves"].append((fields["ip"], int(fields["port"])))
            except (KeyError, ValueError):
                pass
            continue
        out[key] = value
    return out


def int_field(info: dict, key: str, default: int = 0) -> int:
    try:
        return int(info.get(key, default))
    except ValueError:
        return default
