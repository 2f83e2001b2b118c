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
  - deployer_${name}_entry.py
capabilities: []
# What must be present for this strategy to work here: binaries, python_modules,
# env_all (all must be set), env_any (one must be set).
requirements: {}
# Strategy-specific options: --option key=value on the command line.
options:
  timeout:
    type: integer
    default: 60
    description: Seconds one call may take
# Evidence that a solution fits: each matched signal adds its weight to the score.
signals:
  baseline: 0.0
  dependencies: {}
  imports: {}
  files: {}
  code_patterns: {}
  goal_words:
    $name: 2.0
