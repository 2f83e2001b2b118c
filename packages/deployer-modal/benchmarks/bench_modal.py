"""deployer-modal figures: adaptation time, and run() overhead with target=local.

1. Adaptation: `AdapterAgent.adapt()` of examples/hello (a function) and
   examples/modal_classifier (a load step), repeated; then importing the generated
   modal_app.py (modal already imported), and a cold `import modal` in a fresh interpreter
   (what the first deploy or local run in a process pays once).
2. Deploy to ready with target=local: `deployer.deploy(..., strategy="modal", target="local")`
   (adapt, write settings, import the app, run the load step), repeated; removed afterwards.
3. run() overhead over N calls (default 1,000, after a warm-up), interleaved in blocks so
   machine drift hits all alike, for each example:
   - direct: the example's entry function called yourself (`predict(name="Ada")`);
   - .local(): the generated app's function called with Modal's `.local()` (the signature
     check and JSON check of the generated code included);
   - runner.run(): ModalRunner.run (envelope included);
   - software.run(): DeployedSoftware.run, what users call.
4. Streaming, target=local: a generator of 5 items, 20 ms apart — time to the first item
   through `software.stream()` (Modal's generator `stream`, `.local()`) beside the whole
   answer through `software.run()` and the generator called yourself.
5. Redeploy downtime, target=local: calls made one after another through one handle while
   `deployer.deploy` replaces version k by k+1 under the same name — calls made, failed,
   and the longest wait for an answer.

Per-call figures in microseconds (mean, median, p95), adaptation in milliseconds.
DEPLOYER_HOME is a temporary directory. No Modal account or network is used.
Run: `python packages/deployer-modal/benchmarks/bench_modal.py [--calls N] [--repeats N]`.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / "benchmarks"))  # the shared helpers, benchmarks/_common.py
from _common import interleaved, isolated_home  # noqa: E402

EXAMPLES = {
    "hello": (REPO / "examples" / "hello", "main.py", {"name": "Ada"}),
    "modal_classifier": (
        REPO / "examples" / "modal_classifier",
        "predict.py",
        {"text": "the striker scored twice before half time"},
    ),
}
BLOCK = 100
WARMUP = 100


def summary(values: list[float], unit: str) -> str:
    ordered = sorted(values)
    p95 = ordered[max(0, -(-95 * len(ordered) // 100) - 1)]
    return (
        f"n={len(ordered):5d}  mean {statistics.fmean(ordered):9.2f}  "
        f"median {statistics.median(ordered):9.2f}  p95 {p95:9.2f} {unit}"
    )


def direct_function(path: Path, filename: str) -> Callable[..., Any]:
    """The example's entry function, imported under a private name, load step run."""
    spec = importlib.util.spec_from_file_location(f"_bench_{path.name}", path / filename)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if hasattr(module, "load"):
        module.load()
    return module.predict


def adaptation(repeats: int) -> None:
    from deployer.adapter.agent import AdapterAgent
    from deployer.models import DeploymentSetting, SolutionResult
    from deployer.plugins.registry import StrategyRegistry
    from deployer_modal import sdk

    print("== adaptation (milliseconds) ==")
    registry = StrategyRegistry(enabled=["modal"])
    setting = DeploymentSetting(strategy="modal", reasoning="benchmark")
    agent = AdapterAgent(registry)
    agent.adapt(SolutionResult(code_path=EXAMPLES["hello"][0]), setting)  # warm caches
    for label, (path, _, _) in EXAMPLES.items():
        adapt_ms, load_ms = [], []
        for _ in range(repeats):
            started = time.perf_counter()
            result = agent.adapt(SolutionResult(code_path=path), setting)
            adapt_ms.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            module = sdk.load_app(result.adapted_path)
            load_ms.append((time.perf_counter() - started) * 1000)
            sdk.unload(module)
        print(f"adapt {label:17s} {summary(adapt_ms, 'ms')}")
        print(f"import modal_app  {label:17s} {summary(load_ms, 'ms')}")
    cold = []
    for _ in range(max(3, repeats // 5)):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import modal"], check=True)
        cold.append((time.perf_counter() - started) * 1000)
    bare = []
    for _ in range(max(3, repeats // 5)):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        bare.append((time.perf_counter() - started) * 1000)
    print(f"python -c 'import modal'         {summary(cold, 'ms')}")
    print(f"python -c 'pass'                 {summary(bare, 'ms')}")


def deploy_to_ready(repeats: int) -> None:
    import deployer

    print("\n== deploy to ready, target=local (milliseconds) ==")
    for label, (path, _, inputs) in EXAMPLES.items():
        times = []
        for i in range(repeats):
            started = time.perf_counter()
            software = deployer.deploy(path, strategy="modal", name=f"d-{i}", target="local")
            times.append((time.perf_counter() - started) * 1000)
            assert software.run(inputs)["status"] == "success"
            software.remove()
        print(f"{label:17s} {summary(times, 'ms')}")


def overhead(calls: int) -> None:
    print(f"\n== run() overhead, target=local, {calls} calls each (microseconds) ==")
    for label, (path, filename, inputs) in EXAMPLES.items():
        measure(label, path, filename, inputs, calls)


def measure(label: str, path: Path, filename: str, inputs: dict[str, Any], calls: int) -> None:
    import deployer

    software = deployer.deploy(path, strategy="modal", name=f"o-{label}", target="local")
    try:
        runner = software.runner
        local = runner._ensure_loaded().run  # the generated app's .local(), as the runner holds it
        predict = direct_function(path, filename)
        contenders: dict[str, Callable[[], Any]] = {
            "direct": lambda: predict(**inputs),
            ".local()": lambda: local(inputs),
            "runner.run()": lambda: runner.run(inputs),
            "software.run()": lambda: software.run(inputs),
        }
        assert software.run(inputs)["status"] == "success"
        samples = interleaved(calls, contenders, WARMUP, BLOCK)
        base = statistics.median(samples["direct"])
        print(f"-- {label}")
        for name, values in samples.items():
            extra = statistics.median(values) - base
            print(f"{name:15s} {summary(values, 'us')}  overhead (median) {extra:8.2f} us")
    finally:
        software.remove()


STREAMER = (
    "import time\n\n\n"
    "def predict(n: int = 5):\n"
    "    for i in range(n):\n"
    "        time.sleep(0.02)\n"
    "        yield {'i': i}\n"
)


def streaming(repeats: int, root: Path) -> None:
    import deployer

    print("\n== streaming, target=local: 5 items 20 ms apart (milliseconds) ==")
    source = root / "streamer"
    source.mkdir()
    (source / "main.py").write_text(STREAMER, encoding="utf-8")
    namespace: dict[str, Any] = {}
    exec(compile(STREAMER, "main.py", "exec"), namespace)
    software = deployer.deploy(source, strategy="modal", name="streamer", target="local")
    try:
        first, whole, direct = [], [], []
        for _ in range(repeats):
            started = time.perf_counter()
            next(iter(namespace["predict"]()))
            direct.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            items = software.stream({})
            assert next(items)["status"] == "item"
            first.append((time.perf_counter() - started) * 1000)
            assert list(items)[-1] == {"status": "success"}
            started = time.perf_counter()
            assert software.run({})["status"] == "success"
            whole.append((time.perf_counter() - started) * 1000)
        print(f"first item, generator itself  {summary(direct, 'ms')}")
        print(f"first item, software.stream() {summary(first, 'ms')}")
        print(f"whole answer, software.run()  {summary(whole, 'ms')}")
    finally:
        software.remove()


def steady(software: Any, done: Any, results: list[bool], waits: list[float]) -> None:
    """Call one after another until `done` is set: whether each answered, and how long."""
    while not done.is_set():
        started = time.perf_counter()
        results.append(software.run({"name": "x"})["status"] == "success")
        waits.append((time.perf_counter() - started) * 1000)


def redeploy_downtime(rounds: int, root: Path) -> None:
    import threading

    import deployer

    print("\n== redeploy under steady calls, target=local ==")
    source = root / "versioned"
    source.mkdir()
    main = source / "main.py"
    main.write_text("def predict(name: str) -> dict:\n    return {'v1': name}\n", encoding="utf-8")
    software = deployer.deploy(source, strategy="modal", name="versioned", target="local")
    try:
        for round_ in range(2, rounds + 2):
            main.write_text(
                f"def predict(name: str) -> dict:\n    return {{'v{round_}': name}}\n",
                encoding="utf-8",
            )
            results: list[bool] = []
            waits: list[float] = []
            done = threading.Event()
            caller = threading.Thread(target=steady, args=(software, done, results, waits))
            caller.start()
            started = time.perf_counter()
            deployer.deploy(source, strategy="modal", name="versioned", target="local")
            took = (time.perf_counter() - started) * 1000
            done.set()
            caller.join()
            print(
                f"version {round_}: redeploy {took:7.1f} ms, calls {len(results):6d}, "
                f"failed {results.count(False)}, longest wait {max(waits):6.1f} ms"
            )
    finally:
        software.remove()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    with isolated_home() as home:
        print(f"python {sys.version.split()[0]} on {os.cpu_count()} cpus")
        adaptation(args.repeats)
        deploy_to_ready(max(3, args.repeats // 4))
        overhead(args.calls)
        streaming(args.repeats, home)
        redeploy_downtime(3, home)


if __name__ == "__main__":
    main()
