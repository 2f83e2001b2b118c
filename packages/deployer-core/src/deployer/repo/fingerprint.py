"""A digest of what a deploy would ship: the files the ignore rules keep, names and contents.

History shows it per version, so two versions built from the same code are seen to be the
same, and `deployer dev` can tell a save that changed nothing from one that did.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from deployer.repo.ignore import IgnoreRules


def source_hash(root: Path, include: tuple[str, ...] | list[str] = ()) -> str:
    """sha256 over the shipped files' relative paths and bytes (first 12 hex digits)."""
    digest = hashlib.sha256()
    rules = IgnoreRules(Path(root), include)
    for relative, entry in rules.walk():
        if rules.secret(relative):
            continue  # never shipped, so never part of what a version is
        digest.update(relative.encode("utf-8", "surrogateescape") + b"\0")
        try:
            if entry.is_symlink():
                digest.update(b"link:" + str(Path(entry.path).readlink()).encode())
            elif entry.is_file(follow_symlinks=False):
                digest.update(Path(entry.path).read_bytes())
            else:  # a FIFO, socket or device: opening it could block; the copy refuses it
                digest.update(b"special")
        except OSError:
            digest.update(b"unreadable")
        digest.update(b"\0")
    return digest.hexdigest()[:12]
