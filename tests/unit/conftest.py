"""Unit tests run in a temporary directory: a node made in process with the default save
points writes dump.rdb on FLUSHALL (as Redis does), which must not land in the tree."""
from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _in_tmp_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
