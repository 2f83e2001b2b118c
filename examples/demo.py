"""The quick-start demo: select, adapt, deploy and call a solution offline, then clean up.

Run with `hatch run demo` (or `python examples/demo.py` where deployer is installed).
"""

from __future__ import annotations

import sys
from pathlib import Path

from rich.console import Console

import deployer
from deployer.selector.agent import SelectorAgent, format_setting

EXAMPLE = Path(__file__).resolve().parent / "sentiment"


def main() -> int:
    console = Console(highlight=False)
    solution = deployer.SolutionResult(code_path=EXAMPLE)
    console.rule("1. select")
    console.print(format_setting(SelectorAgent().select(solution)))

    console.rule("2. adapt + deploy (strategy=auto)")
    with console.status("deploying") as status:
        software = deployer.deploy(EXAMPLE, strategy="auto", progress=status.update)
    info = software.info
    console.print(f"deployed [bold]{info.name}[/] with {info.strategy} at {info.endpoint}")
    console.print(f"adapted copy: {info.adapted_path}")
    try:
        console.rule("3. run")
        for text in ("what a lovely, wonderful day", "dull, broken and useless"):
            result = software.run({"text": text})
            console.print(f"run({{'text': {text!r}}}) -> {result}")
        bad = software.run({"txt": "typo in the key"})
        console.print(f"run with a wrong key -> {bad}")
        console.rule("4. logs (last 3 lines)")
        console.print(software.logs(tail=3).rstrip())
    finally:
        console.rule("5. clean up")
        software.remove()
        console.print(f"removed {info.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
