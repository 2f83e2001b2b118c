# Adapting a solution for the $name strategy

The adapted workspace must contain:

1. The solution's own code, unchanged wherever possible.
2. An entry point `module:function` importable from the workspace root.
3. `deployer_${name}_entry.py`, rendered from this strategy's template.

Do not hard-code secrets: they arrive as environment variables.

End your output with the run interface:

<run_interface>{"kind": "function", "entrypoint": "module:function", "calling_convention": "dict|kwargs"}</run_interface>
