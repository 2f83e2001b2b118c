"""A failed install through the real CLI: the rollback removes the deployment, but the log the
error names is kept (the last failed attempt, under <home>/failed/NAME/) and still exists."""

from __future__ import annotations

import re
from pathlib import Path

from deployer.testing import DeployerCli

MISSING = "deployer-no-such-package-xyz==1.0"


def test_the_install_failure_hint_names_a_log_that_exists(cli: DeployerCli, tmp_path: Path) -> None:
    cli.env["DEPLOYER_STRATEGIES"] = "local"
    root = tmp_path / "sol"
    root.mkdir()
    (root / "main.py").write_text("def predict(name='x'):\n    return {'hi': name}\n")
    (root / "requirements.txt").write_text(MISSING + "\n")
    kept: list[Path] = []
    for _attempt in range(2):
        done = cli("deploy", str(root), "--strategy", "local", "--name", "broken")
        assert done.code != 0 and "Traceback" not in done.err, done.err
        assert "cannot install 'deployer-no-such-package-xyz==1.0'" in done.err, done.err
        found = re.search(r"log of the failed attempt: (\S+?);?$", done.err.strip(), re.MULTILINE)
        assert found, done.err
        log = Path(found.group(1))
        assert log.is_file(), f"the hint names {log}, which does not exist"
        assert MISSING.split("==")[0] in log.read_text()
        assert log.parent == cli.home / "failed" / "broken"
        kept.append(log)
    assert kept[0] == kept[1]  # one kept log per deployment: the last failed attempt
    assert list((cli.home / "failed").iterdir()) == [kept[1].parent]
    assert kept[1].name == "install.log"
    assert cli("ls", "--json").json() == []
    assert not (cli.home / "deployments" / "broken").exists()  # the rollback still happened
