"""Checks every template adaptation passes before it is handed to a runner."""

from __future__ import annotations

from pathlib import Path

from deployer.errors import AdaptationError
from deployer.plugins.registry import Strategy
from deployer.repo.entrypoints import module_file


def validate_adaptation(
    strategy: Strategy, work: Path, entrypoint: str, changed: list[str]
) -> list[str]:
    notes: list[str] = []
    missing = [f for f in strategy.config.required_files if not (work / f).exists()]
    if missing:
        raise AdaptationError(
            f"adapted workspace for {strategy.name!r} lacks {', '.join(missing)}",
            hint="the strategy's templates should provide these files",
        )
    notes.extend(f"{f} present" for f in strategy.config.required_files)
    for relative in changed:
        if not relative.endswith(".py"):
            continue
        try:
            compile((work / relative).read_text(encoding="utf-8"), relative, "exec")
        except (SyntaxError, UnicodeDecodeError) as exc:
            raise AdaptationError(f"rendered file {relative} does not compile: {exc}") from None
        notes.append(f"{relative} compiles")
    module = entrypoint.partition(":")[0]
    if module_file(work, module) is None and module_file(work / "src", module) is None:
        raise AdaptationError(f"entry point module {module!r} is missing from the workspace")
    notes.append(f"entry point {entrypoint} defined")
    return notes
