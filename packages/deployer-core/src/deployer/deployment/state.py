"""The deployment state store: one SQLite database under the deployer home.

SQLite gives atomic writes and safe concurrent access from several CLI processes for free: a
crash mid-write never leaves a corrupt store, and a deployment name is reserved by a single
INSERT, so two concurrent `deploy --name x` calls cannot both get it. Secret values are never
stored: `DeploymentInfo` keeps environment variable names only.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from pydantic import ValidationError

from deployer.errors import (
    DeploymentNotFoundError,
    NameTakenError,
    StateError,
    validation_parts,
)
from deployer.models import DeploymentInfo
from deployer.paths import deployer_home

_SCHEMA = """
CREATE TABLE IF NOT EXISTS deployments (
    name TEXT PRIMARY KEY,
    info TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
)
"""


class StateStore:
    """Records deployments so that any process can find, run, stop and remove them."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or deployer_home() / "state.db"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute(_SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        try:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        except sqlite3.Error as exc:
            raise StateError(f"cannot open the state store {self.path}: {exc}") from None
        try:
            db.execute("PRAGMA busy_timeout = 30000")
            yield db
        except sqlite3.DatabaseError as exc:
            raise StateError(
                f"state store {self.path} failed: {exc}",
                hint="set DEPLOYER_HOME to use another location",
            ) from None
        finally:
            db.close()

    def reserve(self, info: DeploymentInfo) -> None:
        """Record a new deployment; fails if the name is taken."""
        now = datetime.now(UTC).isoformat()
        text = _checked_json(info)
        try:
            with self._connect() as db:
                db.execute(
                    "INSERT INTO deployments (name, info, created_at, updated_at) "
                    "VALUES (?, ?, ?, ?)",
                    (info.name, text, now, now),
                )
        except StateError as exc:
            if "UNIQUE constraint failed" in exc.message:
                raise NameTakenError(
                    f"a deployment named {info.name!r} exists already",
                    hint=f"choose another --name, or remove it first: deployer rm {info.name}",
                ) from None
            raise

    def save(self, info: DeploymentInfo) -> None:
        info.updated_at = datetime.now(UTC)
        text = _checked_json(info)
        with self._connect() as db:
            cursor = db.execute(
                "UPDATE deployments SET info = ?, updated_at = ? WHERE name = ?",
                (text, info.updated_at.isoformat(), info.name),
            )
        if cursor.rowcount == 0:
            raise DeploymentNotFoundError(f"deployment {info.name!r} was removed meanwhile")

    def get(self, name: str) -> DeploymentInfo:
        with self._connect() as db:
            row = db.execute("SELECT info FROM deployments WHERE name = ?", (name,)).fetchone()
        if row is None:
            known = self.names()
            hint = f"known deployments: {', '.join(known)}" if known else "deployer ls is empty"
            raise DeploymentNotFoundError(f"no deployment named {name!r}", hint=hint)
        return self._parse(name, row[0])

    def list(self) -> list[DeploymentInfo]:
        """Every readable record; an unreadable one is left out (see `unreadable`), so one
        bad record never hides the others."""
        found = []
        for name, text in self._rows():
            try:
                found.append(self._parse(name, text))
            except StateError:
                continue
        return found

    def unreadable(self) -> list[str]:
        """Names of records that cannot be read back (removable with rm --force)."""
        bad = []
        for name, text in self._rows():
            try:
                self._parse(name, text)
            except StateError:
                bad.append(name)
        return bad

    def _rows(self) -> list[tuple[str, str]]:
        with self._connect() as db:
            return db.execute("SELECT name, info FROM deployments ORDER BY created_at").fetchall()

    def names(self) -> list[str]:
        with self._connect() as db:
            rows = db.execute("SELECT name FROM deployments ORDER BY name").fetchall()
        return [row[0] for row in rows]

    def delete(self, name: str) -> None:
        with self._connect() as db:
            db.execute("DELETE FROM deployments WHERE name = ?", (name,))

    def _parse(self, name: str, text: str) -> DeploymentInfo:
        try:
            return DeploymentInfo.model_validate_json(text)
        except ValidationError:
            raise StateError(
                f"the record of deployment {name!r} is unreadable (written by another version?)",
                hint=f"remove it with: deployer rm {name} --force",
            ) from None


def _checked_json(info: DeploymentInfo) -> str:
    """The record as JSON, proven to read back before it is written: a record no command could
    read (an infinite timeout written as null, say) is never stored."""
    text = info.model_dump_json()
    try:
        DeploymentInfo.model_validate_json(text)
    except ValidationError as exc:
        where, message, _ = validation_parts(exc)
        raise StateError(
            f"refusing to record deployment {info.name!r}: {where}: {message}"
        ) from None
    return text


def write_private_json(path: Path, text: str) -> None:
    """Write a file only the owner can read (the deployment's env values), atomically."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, path)
