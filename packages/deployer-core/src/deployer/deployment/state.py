"""The deployment state store: one SQLite database under the deployer home.

Each name has one live record (table `deployments`, the version that `run` reaches) and the
history of its versions (table `versions`: one row per version, its own record and status) and
events (table `events`: created, adapting, ..., ready, failed with the reason, stopped). A
record written before versions existed has no rows there: it reads as version 1.

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
from typing import Literal

from pydantic import Field, ValidationError

from deployer.errors import (
    DeploymentNotFoundError,
    NameTakenError,
    StateError,
    validation_parts,
)
from deployer.models import DeferredModel, DeploymentInfo
from deployer.paths import deployer_home

_SCHEMA = """
CREATE TABLE IF NOT EXISTS deployments (
    name TEXT PRIMARY KEY,
    info TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS versions (
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    info TEXT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (name, version)
);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    kind TEXT NOT NULL,
    reason TEXT,
    at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_name ON events (name, id);
"""

VersionStatus = Literal["deploying", "running", "stopped", "failed"]
EventKind = Literal[
    "created", "adapting", "building", "loading", "ready", "failed", "stopped", "live"
]


class VersionRecord(DeferredModel):
    """One version of a deployment as history shows it."""

    version: int
    status: VersionStatus
    live: bool = False
    reason: str | None = Field(default=None, description="Why it failed, if it did")
    info: DeploymentInfo
    created_at: datetime
    updated_at: datetime


class DeploymentEvent(DeferredModel):
    """Something that happened to a deployment, recorded as it happened."""

    name: str
    version: int
    kind: EventKind
    reason: str | None = None
    at: datetime


class StateStore:
    """Records deployments so that any process can find, run, stop and remove them."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or deployer_home() / "state.db"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.executescript(_SCHEMA)

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
        """Forget a deployment: its live record, its versions and its events."""
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            for table in ("deployments", "versions", "events"):
                db.execute(f"DELETE FROM {table} WHERE name = ?", (name,))
            db.execute("COMMIT")

    # -- versions ----------------------------------------------------------------------------

    def save_version(
        self, info: DeploymentInfo, status: VersionStatus, reason: str | None = None
    ) -> None:
        """Record (or update) the row of version `info.version` of `info.name`."""
        now = datetime.now(UTC).isoformat()
        text = _checked_json(info)
        with self._connect() as db:
            db.execute(
                "INSERT INTO versions (name, version, info, status, reason, created_at, "
                "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name, version) DO UPDATE "
                "SET info = excluded.info, status = excluded.status, reason = excluded.reason, "
                "updated_at = excluded.updated_at",
                (info.name, info.version, text, status, reason, now, now),
            )

    def versions(self, name: str) -> list[VersionRecord]:
        """Every recorded version of `name`, oldest first; the live one marked. A record from
        before versions existed is version 1."""
        live = self.get(name)
        with self._connect() as db:
            rows = db.execute(
                "SELECT version, info, status, reason, created_at, updated_at FROM versions "
                "WHERE name = ? ORDER BY version",
                (name,),
            ).fetchall()
        found: list[VersionRecord] = []
        for version, text, status, reason, created, updated in rows:
            is_live = version == live.version
            try:
                info = live if is_live else self._parse(name, text)
            except StateError:
                continue
            if is_live and live.status in ("running", "stopped", "failed"):
                status = live.status
            found.append(
                VersionRecord(
                    version=version,
                    status=status,
                    live=is_live,
                    reason=reason,
                    info=info,
                    created_at=datetime.fromisoformat(created),
                    updated_at=datetime.fromisoformat(updated),
                )
            )
        if not any(record.live for record in found):
            found.append(
                VersionRecord(
                    version=live.version,
                    status="deploying" if live.status == "deploying" else live.status,
                    live=True,
                    info=live,
                    created_at=live.created_at,
                    updated_at=live.updated_at,
                )
            )
            found.sort(key=lambda record: record.version)
        return found

    def version(self, name: str, version: int) -> VersionRecord | None:
        return next((r for r in self.versions(name) if r.version == version), None)

    def next_version(self, name: str) -> int:
        """One more than any version `name` ever had (a removed number is never reused)."""
        live = self.get(name).version
        with self._connect() as db:
            row = db.execute("SELECT MAX(version) FROM versions WHERE name = ?", (name,)).fetchone()
            seen = db.execute("SELECT MAX(version) FROM events WHERE name = ?", (name,)).fetchone()
        return max(live, row[0] or 0, seen[0] or 0) + 1

    def has_version_row(self, name: str, version: int) -> bool:
        with self._connect() as db:
            row = db.execute(
                "SELECT 1 FROM versions WHERE name = ? AND version = ?", (name, version)
            ).fetchone()
        return row is not None

    def delete_version(self, name: str, version: int) -> None:
        with self._connect() as db:
            db.execute("DELETE FROM versions WHERE name = ? AND version = ?", (name, version))

    def version_infos(self) -> list[DeploymentInfo]:
        """The record of every version row of a recorded deployment (for `doctor` and the
        cache: what a kept version holds is accounted for; rows whose deployment record is
        gone account for nothing)."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT v.name, v.info FROM versions v JOIN deployments d ON d.name = v.name"
            ).fetchall()
        found = []
        for name, text in rows:
            try:
                found.append(self._parse(name, text))
            except StateError:
                continue
        return found

    # -- events ------------------------------------------------------------------------------

    def add_event(
        self, name: str, version: int, kind: EventKind, reason: str | None = None
    ) -> None:
        with self._connect() as db:
            db.execute(
                "INSERT INTO events (name, version, kind, reason, at) VALUES (?, ?, ?, ?, ?)",
                (name, version, kind, reason, datetime.now(UTC).isoformat()),
            )

    def events(self, name: str, limit: int | None = None) -> list[DeploymentEvent]:
        """The events of `name`, oldest first (the last `limit` of them if given)."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT version, kind, reason, at FROM events WHERE name = ? "
                "ORDER BY id DESC LIMIT ?",
                (name, -1 if limit is None else limit),
            ).fetchall()
        return [
            DeploymentEvent(name=name, version=v, kind=k, reason=r, at=datetime.fromisoformat(at))
            for v, k, r, at in reversed(rows)
        ]

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
