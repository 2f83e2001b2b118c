"""Downtime of a redeploy, and the time from a saved file to the new version answering in dev.

(a) Redeploy under load: a deployment (local process mode by default, `--strategy docker`
    for containers) gets a steady stream of calls
    (one every --interval ms, from a caller thread) while a new version of the same name is
    deployed. Side by side: `deploy --name N` again (versions: k+1 beside k, switch once
    healthy) with the caller holding one handle, the same with a fresh `attach(N)` per call,
    and the way it was done before versions existed: `rm N` then `deploy`. Printed: calls
    made, calls failed (the target is 0), the longest time without a successful answer, and
    how long the redeploy took.
(b) Dev mode: `deployer dev` runs as a subprocess; main.py is saved with a new reply and the
    time until `attach(N).run()` returns it is measured (--saves times), beside the wall time
    of `deployer deploy --name N` run by hand after a save.

Run: `python benchmarks/bench_redeploy.py [--json] [--rounds N] [--saves N] [--interval MS]
[--strategy local|docker] [--base-image IMAGE]` from the repository root. Needs
deployer-local (or deployer-docker and an engine on DOCKER_HOST; `--base-image` names an image
the engine has, and wheels come from the host), and deployer-core[dev] for (b).
"""

from __future__ import annotations

import itertools
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _common import (
    Stats,
    child_env,
    deployer_command,
    emit_json,
    format_table,
    isolated_home,
    parse_args,
    print_header,
    progress,
)


def write_solution(root: Path, reply: str) -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / "main.py").write_text(f"def predict(name):\n    return {{'reply': '{reply}'}}\n")


class Caller:
    """Calls `call()` every `interval` seconds until stopped; records outcome times."""

    def __init__(self, call: Callable[[], dict[str, Any]], interval: float) -> None:
        self.call, self.interval = call, interval
        self.ok: list[float] = []
        self.failed: list[tuple[float, str]] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self.stop.is_set():
            started = time.perf_counter()
            try:
                result = self.call()
            except Exception as exc:  # a benchmark counts, never crashes
                result = {"status": "error", "error": repr(exc)}
            now = time.perf_counter()
            if result.get("status") == "success":
                self.ok.append(now)
            else:
                self.failed.append((now, str(result.get("error", ""))[:120]))
            time.sleep(max(0.0, self.interval - (now - started)))

    def __enter__(self) -> Caller:
        self.thread.start()
        time.sleep(0.5)  # a steady stream before the redeploy starts
        return self

    def __exit__(self, *_: object) -> None:
        time.sleep(0.5)
        self.stop.set()
        self.thread.join(30)

    def longest_gap(self) -> float:
        times = sorted(self.ok)
        return max((b - a for a, b in itertools.pairwise(times)), default=0.0)


KINDS = ("versions, one handle", "versions, attach per call", "rm, then deploy (before)")


def kinds_index(kind: str) -> int:
    return KINDS.index(kind)


def strategy_options(strategy: str, base_image: str) -> dict[str, Any]:
    """The deploy options a strategy needs here: docker builds on the given base image with
    the host's wheels (no registry needed)."""
    if strategy != "docker":
        return {}
    return {
        "wheelhouse": True,
        "remove_image": True,
        **({"base_image": base_image} if base_image else {}),
    }


def redeploy_round(
    kind: str, root: Path, interval: float, index: int, strategy: str, options: dict[str, Any]
) -> dict[str, Any]:
    import deployer
    from deployer.deployment.factory import DeploymentFactory

    name = f"bench-{kinds_index(kind)}-{index}"
    write_solution(root, "old")
    held = deployer.deploy(root, strategy, name=name, **options)
    write_solution(root, "new")
    if kind == "versions, one handle":
        call: Callable[[], dict[str, Any]] = lambda: held.run({"name": "x"})  # noqa: E731
    else:
        call = lambda: deployer.attach(name).run({"name": "x"})  # noqa: E731
    with Caller(call, interval) as caller:
        started = time.perf_counter()
        if kind == "rm, then deploy (before)":
            DeploymentFactory().remove(name)
        deployer.deploy(root, strategy, name=name, **options)
        took = time.perf_counter() - started
    assert deployer.attach(name).run({"name": "x"})["output"] == {"reply": "new"}
    DeploymentFactory().remove(name, force=True)
    return {
        "calls": len(caller.ok) + len(caller.failed),
        "failed": len(caller.failed),
        "longest_gap_ms": caller.longest_gap() * 1000,
        "redeploy_s": took,
        "first_error": caller.failed[0][1] if caller.failed else "",
    }


def dev_round(
    root: Path, saves: int, strategy: str, options: dict[str, Any]
) -> tuple[list[float], list[float]]:
    import deployer
    from deployer.deployment.factory import DeploymentFactory

    flags = ["--strategy", strategy] + [
        f"--option={k}={str(v).lower()}" if isinstance(v, bool) else f"--option={k}={v}"
        for k, v in options.items()
    ]
    write_solution(root, "r0")
    proc = subprocess.Popen(
        [*deployer_command(), "dev", str(root), "--name", "bench-dev", *flags],
        env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    latencies: list[float] = []
    by_hand: list[float] = []
    patience = 120 if strategy == "local" else 900
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if "watching" in line:
                break
        else:
            raise SystemExit("deployer dev ended before watching")
        for index in range(1, saves + 1):
            write_solution(root, f"r{index}")
            saved = time.perf_counter()
            while True:
                try:
                    output = deployer.attach("bench-dev").run({"name": "x"}).get("output")
                except Exception:
                    output = None
                if output == {"reply": f"r{index}"}:
                    latencies.append(time.perf_counter() - saved)
                    break
                if time.perf_counter() - saved > patience:  # an image build takes minutes
                    raise SystemExit(f"save {index} not answered within {patience} s")
                time.sleep(0.02)
            time.sleep(1.0)  # let the loop settle before the next save
    finally:
        proc.terminate()
        proc.wait(60)
    hand = root.parent / "by-hand"
    for index in range(saves):
        write_solution(hand, f"h{index}")
        started = time.perf_counter()
        subprocess.run(
            [*deployer_command(), "-q", "deploy", str(hand), "--name", "bench-hand", *flags],
            env=child_env(), check=True, capture_output=True,
        )  # fmt: skip
        by_hand.append(time.perf_counter() - started)
    DeploymentFactory().remove("bench-hand", force=True)
    return latencies, by_hand


def main() -> None:
    args = parse_args(
        __doc__.splitlines()[0],
        {
            "rounds": (int, 3, "redeploys per way"),
            "saves": (int, 3, "saved files in dev mode"),
            "interval": (float, 20.0, "milliseconds between calls"),
            "strategy": (str, "local", "the strategy to redeploy on (local or docker)"),
            "base-image": (str, "", "docker: an image the engine has to build on"),
        },
    )
    options = strategy_options(args.strategy, args.base_image)
    kinds = KINDS
    results: dict[str, list[dict[str, Any]]] = {kind: [] for kind in kinds}
    with isolated_home() as home:
        for index in range(args.rounds):
            for kind in kinds:
                progress(f"redeploy round {index + 1}/{args.rounds}: {kind}")
                results[kind].append(
                    redeploy_round(
                        kind, home / "sol", args.interval / 1000, index, args.strategy, options
                    )
                )
        dev_latency: list[float] = []
        by_hand: list[float] = []
        try:
            import watchfiles  # noqa: F401
        except ImportError:
            progress("watchfiles is missing (pip install 'deployer-core[dev]'): dev part skipped")
        else:
            progress(f"dev mode: {args.saves} saves")
            dev_latency, by_hand = dev_round(home / "dev-sol", args.saves, args.strategy, options)
    summary = {
        kind: {
            "calls": sum(r["calls"] for r in rows),
            "failed": sum(r["failed"] for r in rows),
            "longest_gap_ms": Stats.of([r["longest_gap_ms"] for r in rows]).as_dict(),
            "redeploy_s": Stats.of([r["redeploy_s"] for r in rows]).as_dict(),
            "first_error": next((r["first_error"] for r in rows if r["first_error"]), ""),
        }
        for kind, rows in results.items()
    }
    dev = {
        "save_to_answer_s": Stats.of(dev_latency).as_dict() if dev_latency else None,
        "deploy_by_hand_s": Stats.of(by_hand).as_dict() if by_hand else None,
    }
    if args.json:
        emit_json(
            {
                "redeploy": summary,
                "dev": dev,
                "interval_ms": args.interval,
                "strategy": args.strategy,
            }
        )
        return
    print_header(
        f"Redeploy under a steady stream of calls (one every {args.interval:g} ms, "
        f"{args.rounds} rounds each, {args.strategy}"
        f"{' process mode' if args.strategy == 'local' else ''})"
    )
    rows = [
        [
            kind,
            data["calls"],
            data["failed"],
            f"{data['longest_gap_ms']['median']:.0f} / {data['longest_gap_ms']['max']:.0f}",
            f"{data['redeploy_s']['median']:.2f}",
        ]
        for kind, data in summary.items()
    ]
    print(
        format_table(
            ["way", "calls", "failed", "longest gap ms (median / max)", "redeploy s (median)"],
            rows,
        )
    )
    before = summary["rm, then deploy (before)"]
    if before["first_error"]:
        print(f"\nfirst failure the old way: {before['first_error']}")
    if dev["save_to_answer_s"]:
        latency, hand = dev["save_to_answer_s"], dev["deploy_by_hand_s"]
        print(f"\nDev mode: saved file -> new version answering ({args.saves} saves)")
        print(
            format_table(
                ["", "median s", "min s", "max s"],
                [
                    [
                        "deployer dev (watch + redeploy)",
                        f"{latency['median']:.2f}",
                        f"{latency['min']:.2f}",
                        f"{latency['max']:.2f}",
                    ],
                    [
                        "deployer deploy --name by hand",
                        f"{hand['median']:.2f}",
                        f"{hand['min']:.2f}",
                        f"{hand['max']:.2f}",
                    ],
                ],
            )
        )
        print(f"ratio dev / by hand: {latency['median'] / hand['median']:.2f}")


if __name__ == "__main__":
    main()
