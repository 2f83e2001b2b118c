"""Runs a coding agent in a workspace until the adaptation validates, or gives up clearly.

Each round: the agent works (first the task, later the problems as feedback); its output must
end with a run interface (missing or invalid: one correction round, then an error); then the
workspace is validated:
- the declared entry point exists (found by reading source, not importing);
- every Python file the agent changed compiles;
- the entry point imports, in a separate interpreter (a dependency that is not installed here is
  noted, not failed: the strategy installs dependencies when it deploys);
- the strategy's templates render (files the agent wrote itself are kept) and the files the
  strategy requires exist;
- the strategy's smoke check (`deployer_smoke_check`) passes.
Problems are fed back for another round, up to DEPLOYER_AGENT_ROUNDS (default 3).

Safety: edits outside the workspace are refused by the LLM editor before they happen; after
every round, symlinks leading out of the workspace that were not in the solution are removed
and reported, and the original solution is checked to be untouched.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deployer.adapter.agents import load_agent
from deployer.adapter.agents.base import AgentLog, AgentTask
from deployer.adapter.agents.edits import outside_symlinks
from deployer.adapter.agents.run_interface import (
    HELP,
    DeclaredRunInterface,
    RunInterfaceError,
    parse_run_interface,
)
from deployer.environ import env_float
from deployer.errors import AdaptationError, EntrypointError
from deployer.llm.client import redact
from deployer.models import RunInterface
from deployer.plugins.registry import Strategy, StrategyRegistry
from deployer.repo.entrypoints import describe_entrypoint, module_file

IMPORT_CHECK = r"""
import importlib, json, sys, traceback
sys.path.insert(0, ".")
module, _, function = sys.argv[1].partition(":")
try:
    loaded = importlib.import_module(module)
    ok = callable(getattr(loaded, function, None))
    print("\n" + json.dumps({"ok": ok, "error": None if ok else f"{function} is not callable"}))
except ModuleNotFoundError as exc:
    print("\n" + json.dumps({"ok": False, "missing": exc.name,
                             "error": f"ModuleNotFoundError: {exc}",
                             "trace": traceback.format_exc()[-1500:]}))
except BaseException as exc:
    print("\n" + json.dumps({"ok": False, "error": f"{type(exc).__name__}: {exc}",
                             "trace": traceback.format_exc()[-1500:]}))
"""
PLACEHOLDER = "deployer-import-check-placeholder"


Snapshot = dict[str, tuple[int, int]]


def snapshot(root: Path) -> Snapshot:
    """Relative path -> (size, mtime_ns) of every file under root (symlinks not followed)."""
    out: Snapshot = {}
    for directory, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != "__pycache__"]
        for name in filenames:
            path = Path(directory) / name
            try:
                info = path.lstat()
            except OSError:
                continue
            out[path.relative_to(root).as_posix()] = (info.st_size, info.st_mtime_ns)
    return out


def changed_files(before: Snapshot, after: Snapshot) -> tuple[list[str], list[str]]:
    """(added or modified, deleted)."""
    changed = sorted(p for p, stat in after.items() if before.get(p) != stat)
    deleted = sorted(p for p in before if p not in after)
    return changed, deleted


@dataclass
class AgentOutcome:
    interface: RunInterface
    changed: list[str]
    notes: list[str] = field(default_factory=list)


@dataclass
class AgentAdaptation:
    """One coding-agent adaptation of `work` (a fresh copy of `source`) for `strategy`."""

    agent_name: str
    registry: StrategyRegistry
    strategy: Strategy
    work: Path
    source: Path
    goal: str
    reason: str
    label: str
    options: dict[str, Any]
    log: AgentLog
    model: str | None = None
    entrypoint: str | None = None
    env_keys: list[str] = field(default_factory=list)
    secrets: list[str] = field(default_factory=list)
    progress: Callable[[str], None] = lambda step: None

    def run(self) -> AgentOutcome:
        agent = load_agent(self.agent_name, self.registry, self.model)
        config = self.strategy.config
        task = AgentTask(
            workspace=self.work,
            strategy=self.strategy.name,
            adapter_instruction=self.strategy.adapter_instruction,
            goal=self.goal,
            reason=self.reason,
            required_files=list(config.required_files),
            run_interface_kind=config.run_interface.kind,
            entrypoint=self.entrypoint,
            env_keys=self.env_keys,
            timeout=env_float("DEPLOYER_AGENT_TIMEOUT", 900.0),
            log=self.log,
            secrets=self.secrets,
        )
        max_rounds = max(1, int(env_float("DEPLOYER_AGENT_ROUNDS", 3)))
        self.log.section(
            f"coding agent {self.agent_name} adapts {self.source} for {self.strategy.name}",
            f"reason: {self.reason}",
        )
        before = snapshot(self.work)
        source_before = snapshot(self.source)
        links_before = set(outside_symlinks(self.work))
        rendered: list[str] = []
        notes: list[str] = []
        feedback: str | None = None
        corrected = False
        rounds = 0
        while True:
            self.progress(f"coding agent {self.agent_name}: round {rounds + 1}")
            turn = agent.run(task, feedback)
            if snapshot(self.source) != source_before:
                raise AdaptationError(
                    f"coding agent {self.agent_name!r} changed the original solution at "
                    f"{self.source}",
                    hint="restore it from version control; the agent must work in the workspace",
                )
            problems = [*turn.refused, *turn.problems]
            notes.extend(turn.refused)
            for link in sorted(set(outside_symlinks(self.work)) - links_before):
                (self.work / link).unlink()
                message = f"refused: {link} is a symlink leading out of the workspace (removed)"
                self.log.write(f"[refused] {message}")
                problems.append(message)
                notes.append(message)
            try:
                declared = parse_run_interface(turn.output)
            except RunInterfaceError as exc:
                self.log.write(f"[run interface] {exc}")
                if corrected:
                    raise AdaptationError(
                        f"coding agent {self.agent_name!r} did not declare a valid run "
                        f"interface: {exc}",
                        hint=f"see the adaptation log: {self.log.path}",
                    ) from None
                corrected = True
                feedback = _bullets([*problems, f"{exc}.\n{HELP}"])
                continue
            rounds += 1
            found, rendered, checks = self._validate(declared, before, rendered)
            problems += found
            if not found:
                self.log.section(f"validated after {rounds} round(s)", "\n".join(checks))
                changed, deleted = changed_files(before, snapshot(self.work))
                notes += checks
                notes += [f"the agent deleted {path}" for path in deleted]
                interface = self._interface(declared, notes)
                return AgentOutcome(interface=interface, changed=changed, notes=notes)
            self.log.section(f"round {rounds}: problems", _bullets(problems))
            if rounds >= max_rounds:
                raise AdaptationError(
                    f"coding agent {self.agent_name!r} did not produce a valid adaptation in "
                    f"{rounds} round(s): " + redact("; ".join(found[:3]), self.secrets),
                    hint=f"see the adaptation log: {self.log.path}",
                )
            feedback = _bullets(problems)

    # -- validation --------------------------------------------------------------------------

    def _validate(
        self, declared: DeclaredRunInterface, before: Snapshot, rendered: list[str]
    ) -> tuple[list[str], list[str], list[str]]:
        """(problems, rendered template files, checks that passed)."""
        from deployer.adapter.templates import render_templates, template_context

        work = self.work
        for relative in rendered:  # rendered for an earlier round's entry point: render again
            (work / relative).unlink(missing_ok=True)
        rendered = []
        checks: list[str] = []
        if self.entrypoint and declared.entrypoint != self.entrypoint:
            return [f"declare the entry point the user chose, {self.entrypoint}"], rendered, checks
        try:
            described = describe_entrypoint(work, declared.entrypoint)
        except EntrypointError as exc:
            return [f"entry point {declared.entrypoint}: {exc.message}"], rendered, checks
        checks.append(f"entry point {declared.entrypoint} defined")
        changed, _ = changed_files(before, snapshot(work))
        problems = _compile([p for p in changed if p.endswith(".py")], work)
        if problems:
            return problems, rendered, checks
        problem, note = self._import_check(declared.entrypoint)
        if problem:
            return [problem], rendered, checks
        checks.append(note)
        context = template_context(
            self.label, declared.entrypoint, described.calling_convention, self.options
        )
        try:
            rendered, template_notes = render_templates(self.strategy, work, context)
        except AdaptationError as exc:
            return [exc.message], rendered, checks
        checks += template_notes
        missing = [f for f in self.strategy.config.required_files if not (work / f).exists()]
        if missing:
            return [f"the workspace lacks {', '.join(missing)}"], rendered, checks
        checks += [f"{f} present" for f in self.strategy.config.required_files]
        problems = _compile([p for p in rendered if p.endswith(".py")], work)
        if problems:
            return problems, rendered, checks
        interface = self._interface(declared, [])
        smoke = self.registry.smoke_check(self.strategy.name, work, interface)
        if smoke:
            return [f"the {self.strategy.name} smoke check failed: {smoke}"], rendered, checks
        if hasattr(self.strategy.plugin, "deployer_smoke_check"):
            checks.append(f"{self.strategy.name} smoke check passed")
        return [], rendered, checks

    def _interface(self, declared: DeclaredRunInterface, notes: list[str]) -> RunInterface:
        interface = describe_entrypoint(self.work, declared.entrypoint)
        defaults = self.strategy.config.run_interface
        if declared.calling_convention != interface.calling_convention:
            notes.append(
                f"the agent declared calling convention {declared.calling_convention!r}; the "
                f"function's signature says {interface.calling_convention!r}, which is used"
            )
        interface.kind = defaults.kind
        interface.http_path = declared.http_path or defaults.http_path
        interface.endpoint = declared.endpoint
        return interface

    def _import_check(self, entrypoint: str) -> tuple[str | None, str]:
        """(problem, note). Runs in a separate interpreter with placeholder env values."""
        env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "PYTHONHOME"}}
        env.update({key: PLACEHOLDER for key in self.env_keys})
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        timeout = env_float("DEPLOYER_IMPORT_CHECK_TIMEOUT", 60.0)
        try:
            proc = subprocess.run(
                [sys.executable, "-B", "-c", IMPORT_CHECK, entrypoint],
                cwd=self.work,
                env=env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                errors="replace",
                timeout=timeout,
            )
        except subprocess.TimeoutExpired:
            return None, f"import check of {entrypoint} timed out after {timeout:g}s (not failed)"
        result = _last_json(proc.stdout)
        if result is None:
            tail = " | ".join((proc.stderr or proc.stdout).strip().splitlines()[-3:])
            return f"importing {entrypoint} crashed the interpreter: {tail}", ""
        if result.get("ok"):
            return None, f"entry point {entrypoint} imports"
        missing = result.get("missing")
        if missing and module_file(self.work, missing.split(".")[0]) is None:
            return None, (
                f"entry point {entrypoint} not import-checked: {missing!r} is not installed "
                "here (the strategy installs dependencies when it deploys)"
            )
        trace = result.get("trace") or ""
        return f"importing {entrypoint} failed: {result.get('error')}\n{trace}".strip(), ""


def _compile(paths: list[str], work: Path) -> list[str]:
    problems = []
    for relative in paths:
        try:
            compile((work / relative).read_text(encoding="utf-8"), relative, "exec")
        except (SyntaxError, UnicodeDecodeError, ValueError) as exc:
            problems.append(f"{relative} does not compile: {exc}")
        except OSError:
            continue
    return problems


def _last_json(text: str) -> dict[str, Any] | None:
    for line in reversed(text.strip().splitlines()):
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    return None


def _bullets(items: list[str]) -> str:
    return "\n".join(f"- {item}" for item in items)
