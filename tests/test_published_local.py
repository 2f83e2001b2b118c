"""Published shapes deployed with the real local strategy and no --entrypoint (issue 12):
those whose entry point is a plain function today; classes, graphs and apps follow once the
serving runtime loads them."""

from __future__ import annotations

import pytest

from deployer.testing import tree_hash
from e2e_support import EXAMPLES, Cli

PUBLISHED = EXAMPLES / "published"


@pytest.mark.slow
def test_dependencies_only_in_setup_py_are_installed(cli: Cli) -> None:
    source = PUBLISHED / "setup_py_deps"
    before = tree_hash(source)
    deployed = cli("deploy", str(source), "--name", "setuppy")
    assert deployed.code == 0, deployed.err
    result = cli("run", "setuppy", '{"text": "Hello World", "separator": "_"}')
    assert result.json() == {"status": "success", "output": "hello_world"}
    assert tree_hash(source) == before  # the solution is never modified


def test_class_shape_is_refused_in_one_line_naming_the_directory(cli: Cli) -> None:
    source = PUBLISHED / "cog_predictor"
    refused = cli("deploy", str(source), "--name", "cogp")
    assert refused.code == 2
    assert "predict:Predictor (cog class, from cog.yaml predict)" in refused.err
    assert str(source) in refused.err and "Traceback" not in refused.err
