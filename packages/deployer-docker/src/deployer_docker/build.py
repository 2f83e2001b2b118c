"""Building the image with the SDK, the build log streamed as progress and to build.log.

A failed build raises DeployFailedError naming the failing step (`Step 4/9 : RUN ...`), the
engine's error and that step's last output lines: what a user needs to fix the Dockerfile or
the requirements without opening the log.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deployer.plugin import DeployFailedError
from deployer_docker import sdk

BUILD_TIMEOUT = 3600
STEP_LINE = re.compile(r"^Step (\d+)/(\d+) : (.*)$")
STEP_TAIL = 15
Progress = Callable[[str], None]


@dataclass
class BuildLog:
    """The build's output, split into steps as it streams in."""

    path: Path
    steps: list[tuple[str, list[str]]] = field(default_factory=list)
    image_id: str | None = None
    pending: str = ""

    def add(self, text: str, progress: Progress) -> None:
        """Record streamed text; only whole lines are split into steps (chunks may cut one)."""
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(text)
        *lines, self.pending = (self.pending + text).replace("\r", "\n").split("\n")
        self._lines(lines, progress)

    def flush(self, progress: Progress) -> None:
        if self.pending:
            self._lines([self.pending], progress)
            self.pending = ""

    def _lines(self, lines: list[str], progress: Progress) -> None:
        for line in lines:
            line = line.rstrip()
            match = STEP_LINE.match(line)
            if match:
                self.steps.append((line, []))
                progress(f"building image: {_shorten(line)}")
            elif line.strip():
                if not self.steps:
                    self.steps.append(("(before the first step)", []))
                self.steps[-1][1].append(line)

    def failure(self, error: str, base_image: str | None) -> DeployFailedError:
        step, lines = self.steps[-1] if self.steps else ("(no step started)", [])
        shown = [line for line in lines if not line.startswith(" ---> ")][-STEP_TAIL:]
        output = "\n".join(f"  | {line}" for line in shown)
        message = f"building the image failed at {step}\n  error: {error}"
        if output:
            message += f"\n  last lines of that step:\n{output}"
        hint = f"full build log: {self.path}"
        instruction = STEP_LINE.match(step)
        if instruction and instruction.group(3).upper().startswith("FROM") and base_image:
            hint = (
                f"the base image {base_image!r} is neither on the engine nor pullable; build "
                f"or load it first, or pass --option base_image=<an image the engine has>; {hint}"
            )
        return DeployFailedError(message, hint=hint)


def _shorten(line: str, limit: int = 100) -> str:
    return line if len(line) <= limit else line[: limit - 3] + "..."


def build_image(
    client: Any,
    context_dir: Path,
    *,
    tag: str,
    log_path: Path,
    progress: Progress,
    buildargs: dict[str, str] | None = None,
    network_mode: str | None = None,
    base_image: str | None = None,
    nocache: bool = False,
) -> str:
    """Build context_dir's Dockerfile; return the image id. Streams every line."""
    log = BuildLog(log_path)
    log_path.write_text("", encoding="utf-8")
    progress("building image: sending the build context")
    try:
        stream = sdk.build_stream(
            client,
            path=str(context_dir),
            tag=tag,
            rm=True,
            forcerm=True,
            buildargs=buildargs or {},
            network_mode=network_mode,
            nocache=nocache,
            timeout=BUILD_TIMEOUT,
        )
        for chunk in stream:
            if "stream" in chunk:
                log.add(str(chunk["stream"]), progress)
            elif "error" in chunk:
                detail = chunk.get("errorDetail") or {}
                error = str(detail.get("message") or chunk["error"]).strip()
                log.flush(progress)
                with log_path.open("a", encoding="utf-8") as handle:
                    handle.write(f"ERROR: {error}\n")
                raise log.failure(error, base_image)
            elif "aux" in chunk and isinstance(chunk["aux"], dict) and "ID" in chunk["aux"]:
                log.image_id = str(chunk["aux"]["ID"])
            elif "status" in chunk:  # pulling the base image
                progress(f"building image: {_shorten(str(chunk['status']))}")
    except DeployFailedError:
        raise
    except Exception as exc:
        raise DeployFailedError(
            f"building the image failed: {sdk.describe(exc)}", hint=f"full build log: {log_path}"
        ) from None
    if log.image_id is None:
        try:
            log.image_id = client.images.get(tag).id
        except Exception as exc:
            raise DeployFailedError(
                f"the build finished but the image {tag} is not there: {sdk.describe(exc)}",
                hint=f"full build log: {log_path}",
            ) from None
    progress(f"built image {tag} ({log.image_id[7:19] if log.image_id else '?'})")
    return log.image_id
