"""copy_solution's size accounting: a large copy gets a note naming its biggest parts."""

from __future__ import annotations

from pathlib import Path

import pytest

from deployer.repo.ignore import CopyReport, copy_solution


def test_sizes_are_counted_per_top_level_entry(tmp_path: Path) -> None:
    source = tmp_path / "src"
    (source / "data" / "deep").mkdir(parents=True)
    (source / "main.py").write_bytes(b"x" * 10)
    (source / "data" / "a.bin").write_bytes(b"x" * 1000)
    (source / "data" / "deep" / "b.bin").write_bytes(b"x" * 500)
    (source / "node_modules").mkdir()
    (source / "node_modules" / "ignored.js").write_bytes(b"x" * 9999)
    report = copy_solution(source, tmp_path / "copy")
    assert report.sizes == {"main.py": 10, "data/": 1500}
    assert report.size == 1510


def test_the_note_appears_above_the_limit_only(monkeypatch: pytest.MonkeyPatch) -> None:
    report = CopyReport(sizes={"models/": 250_000_000, "data/": 60_000_000, "main.py": 100})
    monkeypatch.delenv("DEPLOYER_COPY_WARN_MB", raising=False)
    note = report.size_note()
    assert "310.0 MB (over 100 MB)" in note
    assert note.index("models/ (250.0 MB)") < note.index("data/ (60.0 MB)")
    assert "add 'models/' and 'data/' to .deployerignore" in note
    assert "main.py" not in note  # a small part is not worth naming
    assert note in report.notes()
    monkeypatch.setenv("DEPLOYER_COPY_WARN_MB", "1000")
    assert report.size_note() == "" and report.notes() == []
