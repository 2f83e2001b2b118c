[build-system]
requires = ["hatchling>=1.25"]
build-backend = "hatchling.build"

[project]
name = "deployer-$name_dash"
version = "0.1.0"
description = "deployer strategy: $summary"
readme = "README.md"
requires-python = ">=3.11"
dependencies = ["deployer-core>=0.1.0"]

[project.optional-dependencies]
test = ["pytest>=8"]

# The entry point name is the strategy name; the value is the plugin module.
[project.entry-points."deployer.strategies"]
$name = "$package"

[tool.hatch.build.targets.wheel]
packages = ["src/$package"]
