# Adapting a solution for the $name strategy

The adapted workspace must contain:

1. The solution's own code, unchanged wherever possible.
2. An entry point `module:function` importable from the workspace root.
3. `deployer_entry.json`, rendered from this strategy's template; the runner completes it and
   serves the entry point with deployer's serving runtime (`deployer_runtime/`, copied in).

Do not hard-code secrets: they arrive as environment variables.

End your output with the run interface:

<run_interface>{"kind": "function", "entrypoint": "module:function", "calling_convention": "dict|kwargs"}</run_interface>
