"""FLUSHALL's persistence step (flushAllDataAndResetRDB): with save points, the emptied
dataset is saved at once and the dirty counter starts again from 0 (other.tcl)."""
from __future__ import annotations

import os

import pytest

from cluster.commands import registry  # noqa: F401
from cluster.commands.persistence import flushall_save
from cluster.execution.dispatch import execute
from cluster.node import Node
from cluster.persistence import rdb_file as persist_rdb


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)         # `dir`: the working directory holds dump.rdb


def _changes(node) -> int:
    return node.keyspace.dirty - node.persist.dirty_at_last_save


def test_with_save_points_the_empty_dataset_is_saved():
    node = Node()
    client = node.new_client()
    execute(client, [b"SET", b"key", b"value"])
    for db in node.keyspace.dbs:
        db.flush()
    flushall_save(node)
    assert _changes(node) == 0
    assert os.path.exists("dump.rdb")
    again = Node()
    persist_rdb.load_file(again)
    assert again.keyspace.total_keys() == 0


def test_without_save_points_nothing_is_saved():
    node = Node()
    node.config.set("save", "")
    execute(node.new_client(), [b"SET", b"key", b"value"])
    flushall_save(node)
    assert _changes(node) == 1
    assert not os.path.exists("dump.rdb")
