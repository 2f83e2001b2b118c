"""The state store: atomic, concurrent-safe, never holding secret values."""

from __future__ import annotations

import multiprocessing
import sqlite3

import pytest

from deployer.deployment.state import StateStore
from deployer.errors import DeploymentNotFoundError, NameTakenError, StateError
from deployer.models import DeploymentInfo


def _info(name: str, tmp_path) -> DeploymentInfo:
    return DeploymentInfo(name=name, strategy="local", source_path=tmp_path)


def test_reserve_get_save_list_delete(home, tmp_path):
    store = StateStore()
    store.reserve(_info("a", tmp_path))
    store.reserve(_info("b", tmp_path))
    info = store.get("a")
    info.status = "running"
    store.save(info)
    assert store.get("a").status == "running"
    assert [i.name for i in store.list()] == ["a", "b"]
    store.delete("a")
    assert store.names() == ["b"]


def test_name_taken_and_not_found(home, tmp_path):
    store = StateStore()
    store.reserve(_info("dup", tmp_path))
    with pytest.raises(NameTakenError, match="exists already"):
        store.reserve(_info("dup", tmp_path))
    with pytest.raises(DeploymentNotFoundError) as info:
        store.get("nope")
    assert "dup" in info.value.hint
    with pytest.raises(DeploymentNotFoundError):
        store.save(_info("ghost", tmp_path))


def test_unreadable_record_is_a_clear_error(home, tmp_path):
    store = StateStore()
    with sqlite3.connect(store.path) as db:
        db.execute("INSERT INTO deployments VALUES ('bad', '{\"x\": 1}', 'now', 'now')")
    with pytest.raises(StateError, match="unreadable"):
        store.get("bad")


def _race(path: str, name: str, queue) -> None:
    from pathlib import Path

    store = StateStore(Path(path))
    try:
        store.reserve(DeploymentInfo(name=name, strategy="local", source_path=Path("/")))
        queue.put("won")
    except NameTakenError:
        queue.put("taken")


def test_concurrent_reservations_have_one_winner(home, tmp_path):
    path = str(home / "state.db")
    StateStore()
    queue = multiprocessing.get_context("spawn").Queue()
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_race, args=(path, "same", queue)) for _ in range(6)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(60)
    results = sorted(queue.get(timeout=5) for _ in procs)
    assert results == ["taken"] * 5 + ["won"]
    assert StateStore().names() == ["same"]
