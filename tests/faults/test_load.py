"""Load through the real CLI (each call its own process): 50 concurrent `deployer run` against
one local deployment, and 20 concurrent deploy/run/rm cycles on distinct names. Every call is
answered or cleanly refused (one `error:` line, no traceback); afterwards the store reads,
`deployer doctor` finds nothing, and no process of this home is left running."""

from __future__ import annotations

import json
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from test_kill import describe, live, marked

from deployer.testing import CliResult, DeployerCli, wait_until

pytestmark = pytest.mark.slow

HELLO = "def predict(name='x'):\n    return {'hi': name}\n"
CALLS, CYCLES = 50, 20


def solution(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "main.py").write_text(HELLO)
    return root


def concurrently(cli: DeployerCli, argv: list[list[str]], timeout: float = 300) -> list[CliResult]:
    """Start every command at once, then collect them all (2 cores: they queue on the CPU,
    which is the point)."""
    procs = [cli.popen(*args, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for args in argv]
    results = []
    deadline = time.monotonic() + timeout  # one bound for the whole batch
    for proc in procs:
        try:
            out, err = proc.communicate(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
            err += "\n<timed out>"
        results.append(CliResult(proc.returncode, out, err))
    return results


def cleanly_refused(result: CliResult) -> bool:
    """A non-zero exit whose stderr starts with one `error:` line (a hint may follow) and whose
    stdout is empty or an error envelope."""
    if result.code == 0 or "Traceback" in result.err + result.out:
        return False
    lines = [line for line in result.err.splitlines() if line.strip()]
    if not lines or not lines[0].startswith("error:") or len(lines) > 2:
        return False
    if result.out.strip():
        try:
            return json.loads(result.out)["status"] == "error"
        except (ValueError, KeyError, TypeError):
            return False
    return True


def nothing_left(cli: DeployerCli) -> None:
    listing = cli("ls", "--json")
    assert listing.code == 0 and "Traceback" not in listing.err, listing.err
    assert listing.json() == [], listing.out
    doctor = cli("doctor", "--json")
    assert doctor.code == 0 and doctor.json() == [], doctor.out
    assert wait_until(lambda: live(marked(cli.home)) == [], limit=30), describe(marked(cli.home))
    workspaces = cli.home / "workspaces"
    assert not workspaces.exists() or list(workspaces.iterdir()) == []


def test_fifty_concurrent_runs_against_one_deployment(cli: DeployerCli, tmp_path: Path) -> None:
    cli.env["DEPLOYER_STRATEGIES"] = "local"
    made = cli("deploy", str(solution(tmp_path / "sol")), "--strategy", "local", "--name", "busy")
    assert made.code == 0, made.err
    results = concurrently(cli, [["run", "busy", json.dumps({"name": f"c{i}"})]
                                 for i in range(CALLS)])  # fmt: skip
    answered = 0
    for index, result in enumerate(results):
        if result.code == 0:
            assert json.loads(result.out) == {"status": "success", "output": {"hi": f"c{index}"}}
            answered += 1
        else:
            assert cleanly_refused(result), (index, result)
    assert answered > 0, [r.err for r in results]
    print(f"{answered} of {CALLS} concurrent runs answered, {CALLS - answered} refused")
    rows = cli("ls", "--json").json()  # the store reads while and after being hammered
    assert [(row["name"], row["status"]) for row in rows] == [("busy", "running")]
    assert cli("run", "busy", '{"name": "after"}').code == 0  # the server survived the load
    assert cli("rm", "busy").code == 0
    nothing_left(cli)


def test_twenty_concurrent_deploy_run_rm_cycles(cli: DeployerCli, tmp_path: Path) -> None:
    cli.env["DEPLOYER_STRATEGIES"] = "local"
    root = solution(tmp_path / "sol")

    def cycle(index: int) -> tuple[CliResult, CliResult | None, CliResult | None]:
        name = f"cycle{index}"
        made = cli("deploy", str(root), "--strategy", "local", "--name", name,
                   "--startup-timeout", "240")  # fmt: skip
        if made.code != 0:
            return made, None, None
        return made, cli("run", name, json.dumps({"name": name})), cli("rm", name)

    with ThreadPoolExecutor(CYCLES) as pool:
        outcomes = list(pool.map(cycle, range(CYCLES)))
    deployed = 0
    for index, (made, ran, removed) in enumerate(outcomes):
        if made.code != 0:
            assert cleanly_refused(made), (index, made)
            continue
        deployed += 1
        assert ran is not None and removed is not None
        assert ran.code == 0 or cleanly_refused(ran), (index, ran)
        if ran.code == 0:
            assert json.loads(ran.out)["output"] == {"hi": f"cycle{index}"}
        assert removed.code == 0, (index, removed)
    assert deployed > 0, [made.err for made, _, _ in outcomes]
    print(f"{deployed} of {CYCLES} concurrent deploy/run/rm cycles deployed")
    nothing_left(cli)
