# Validated strictly by deployer-core: unknown keys and wrong types are errors.
api_version: 1
name: $name
summary: $summary
provider: $name
interface: function
runner: "$package.runner:${class_name}Runner"
run_interface:
  kind: function
# Files every adapted workspace must contain (checked after templates are rendered).
required_files:
  - deployer_entry.json
# What the runner does beyond deploy/run/stop: `stream` (runner.stream yields items), `logs`.
capabilities: [logs, stream]
# The entry kinds the runner serves, each proven by the conformance kit's round trip for it.
# Core's serving runtime loads them all: add graph, asgi, wsgi, modal_function and gradio
# once the packages their round trips import (langgraph, fastapi, flask, modal, gradio) are
# in your test environment.
entry_kinds: [function, class]
# What must be present for this strategy to work here: binaries, python_modules,
# env_all (all must be set), env_any (one must be set).
requirements: {}
# Strategy-specific options: --option key=value on the command line.
options:
  region:
    type: string
    default: ""
    description: An example option (read it in runner.py as self.context.options["region"])
# Evidence that a solution fits: each matched signal adds its weight to the score.
signals:
  baseline: 0.0
  dependencies: {}
  imports: {}
  files: {}
  code_patterns: {}
  goal_words:
    $name: 2.0
