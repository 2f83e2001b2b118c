"""The `wheelhouse` option: dependencies downloaded as wheels on the host, for the image.

Air-gapped engines and private indexes: `pip download` runs here, with the host's pip
configuration (pip.conf, PIP_INDEX_URL, certificates), for the image's Python version, ABI
and platform, and the image installs the wheels with `--no-index`. Wheelhouses are cached by
the hash of (requirements, target), so an unchanged solution rebuilds from the layer cache.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

from deployer.plugin import DeployFailedError, cache_dir, failed_requirement, pip_error_lines

DOWNLOAD_TIMEOUT = 1800.0
# Run inside the base image: what the wheels must fit. Standard library only.
PROBE = (
    "import json, platform, sys, sysconfig; "
    "libc, libc_version = platform.libc_ver(); "
    "print(json.dumps({'version': '%d.%d' % sys.version_info[:2], "
    "'implementation': sys.implementation.name, 'machine': platform.machine(), "
    "'libc': libc or 'musl', 'libc_version': libc_version, "
    "'abiflags': getattr(sys, 'abiflags', '')}))"
)


@dataclass(frozen=True)
class Target:
    """The interpreter inside the image that the wheels are for."""

    version: str  # "3.11"
    implementation: str  # "cpython"
    machine: str  # "x86_64"
    libc: str  # "glibc" or "musl"
    libc_version: str  # "2.36"
    abiflags: str = ""

    @classmethod
    def parse(cls, text: str) -> Target:
        data = json.loads(text.strip().splitlines()[-1])
        return cls(**{key: str(data.get(key, "")) for key in cls.__dataclass_fields__})

    @property
    def matches_host(self) -> bool:
        import platform

        return (
            self.version == f"{sys.version_info[0]}.{sys.version_info[1]}"
            and self.implementation == sys.implementation.name
            and self.machine == platform.machine()
            and sys.platform == "linux"
        )

    def platforms(self) -> list[str]:
        """Every platform tag a wheel for this target may carry, newest first."""
        arch = self.machine
        if self.libc == "glibc":
            try:
                major, minor = (int(part) for part in self.libc_version.split(".")[:2])
            except ValueError:
                major, minor = 2, 17
            tags = [f"manylinux_{major}_{m}_{arch}" for m in range(minor, 4, -1)]
            legacy = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}
            tags += [f"{name}_{arch}" for m, name in legacy.items() if m <= minor]
        else:
            tags = [f"musllinux_1_{m}_{arch}" for m in (2, 1, 0)]
        return [*tags, f"linux_{arch}"]

    def download_args(self) -> list[str]:
        nodot = self.version.replace(".", "")
        impl = "cp" if self.implementation == "cpython" else "pp"
        args = ["--only-binary=:all:", "--python-version", self.version, "--implementation", impl]
        args += ["--abi", f"{impl}{nodot}{self.abiflags}"]
        for tag in self.platforms():
            args += ["--platform", tag]
        return args


def wheelhouse_key(requirements_text: str, target: Target) -> str:
    payload = json.dumps({"requirements": requirements_text, "target": asdict(target)})
    return hashlib.sha256(payload.encode()).hexdigest()[:24]


def _run_pip(args: list[str], log_path: Path, env: dict[str, str] | None = None) -> tuple[int, str]:
    command = [sys.executable, "-m", "pip", *args]
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("a", encoding="utf-8") as log:
        log.write(f"$ {' '.join(command)}\n")
    try:
        proc = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=DOWNLOAD_TIMEOUT,
            stdin=subprocess.DEVNULL,
            check=False,
            env={**os.environ, **env} if env else None,
        )
    except subprocess.TimeoutExpired:
        return -1, f"pip took longer than {DOWNLOAD_TIMEOUT:.0f}s"
    except OSError as exc:
        return -2, f"cannot run pip: {exc}"
    output = proc.stdout + proc.stderr
    with log_path.open("a", encoding="utf-8") as log:
        log.write(output)
    return proc.returncode, output


def download_error(output: str, log_path: Path, target: Target) -> DeployFailedError:
    """Name the requirement pip could not get as a wheel for the image; else quote pip."""
    if "No module named pip" in output:
        return DeployFailedError(
            "the wheelhouse option needs pip in deployer's own Python environment",
            hint=f"{sys.executable} -m ensurepip, or turn the option off",
        )
    requirement = failed_requirement(output)
    if requirement is not None:
        return DeployFailedError(
            f"downloading the dependencies as wheels failed: no wheel of {requirement!r} "
            f"for Python {target.version} on {target.libc} {target.machine} (the image's)",
            hint=f"check the name and version, or build without --option wheelhouse=true; "
            f"full log: {log_path}",
        )
    return DeployFailedError(
        f"downloading the dependencies as wheels failed:\n{pip_error_lines(output)}",
        hint=f"full log: {log_path}",
    )


def build_wheelhouse(requirements_text: str, target: Target, log_path: Path) -> Path:
    """A directory of wheels satisfying the requirements for the target (cached)."""
    root = cache_dir("docker-wheelhouses")
    final = root / wheelhouse_key(requirements_text, target)
    if (final / ".complete").is_file():
        with log_path.open("a", encoding="utf-8") as log:
            log.write(f"reusing the cached wheelhouse {final}\n")
        return final
    staging = root / f".{final.name}-{uuid.uuid4().hex[:8]}"
    staging.mkdir(parents=True)
    try:
        requirements = staging / "requirements.txt"
        requirements.write_text(requirements_text, encoding="utf-8")
        wheels = staging / "wheels"
        args = ["download", "--disable-pip-version-check", "--dest", str(wheels)]
        code, output = _run_pip([*args, *target.download_args(), "-r", str(requirements)], log_path)
        if code != 0 and target.matches_host and "No matching distribution" in output:
            # an sdist-only package: the host's Python is the image's, so build it here
            code, output = _run_pip(
                ["wheel", "--disable-pip-version-check", "--wheel-dir", str(wheels), "-r",
                 str(requirements)],
                log_path,
            )  # fmt: skip
        if code != 0:
            raise download_error(output, log_path, target)
        (wheels / ".complete").touch()
        shutil.rmtree(final, ignore_errors=True)
        wheels.rename(final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return final


def fill_context(wheelhouse: Path, destination: Path) -> list[str]:
    """Copy the wheels into the build context's deployer-wheels/ (hard links when possible)."""
    destination.mkdir(parents=True, exist_ok=True)
    names: list[str] = []
    for wheel in sorted(wheelhouse.glob("*.whl")):
        target = destination / wheel.name
        if not target.exists():
            try:
                target.hardlink_to(wheel)
            except OSError:
                shutil.copy2(wheel, target)
        names.append(wheel.name)
    return names


def build_project_wheel(
    workspace: Path,
    leave_out: frozenset[str],
    env: dict[str, str],
    destination: Path,
    log_path: Path,
) -> str:
    """The solution's own project built as a wheel here (`pip wheel --no-deps`, from a copy
    without deployer's build files, so a flat layout discovers only the author's packages),
    put in `destination`; its file name. `env` supplies a version a copy without `.git`
    cannot compute (setuptools-scm, hatch-vcs)."""
    staging = Path(cache_dir("docker-project-builds")) / uuid.uuid4().hex[:12]
    try:
        source = staging / "source"
        shutil.copytree(
            workspace,
            source,
            ignore=lambda folder, names: [
                n for n in names if Path(folder) == workspace and n in leave_out
            ],
        )
        wheels = staging / "wheels"
        args = ["wheel", "--no-deps", "--disable-pip-version-check", "--wheel-dir", str(wheels)]
        code, output = _run_pip([*args, str(source)], log_path, env)
        built = sorted(wheels.glob("*.whl")) if code == 0 else []
        if not built:
            if "No module named pip" in output:
                raise DeployFailedError(
                    "installing the solution's own project needs pip in deployer's own Python "
                    "environment",
                    hint=f"{sys.executable} -m ensurepip",
                )
            raise DeployFailedError(
                "building the solution's own project (pip wheel .) failed:\n"
                + pip_error_lines(output),
                hint=f"full log: {log_path}",
            )
        destination.mkdir(parents=True, exist_ok=True)
        for old in destination.glob(f"{built[0].name.split('-', 1)[0]}-*.whl"):
            old.unlink()  # an earlier build of the project in this workspace
        shutil.copy2(built[0], destination / built[0].name)
        return built[0].name
    finally:
        shutil.rmtree(staging, ignore_errors=True)
