# deployer-$name_dash

A [deployer](https://pypi.org/project/deployer-core/) strategy: $summary

```bash
pip install -e ".[test]"
deployer strategies            # '$name' is listed
pytest                         # runs the deployer conformance kit against this package
```

Next steps:
1. Describe when to choose this strategy in `src/$package/selector_instruction.md` and how to
   adapt a repository for it in `src/$package/adapter_instruction.md`.
2. Declare options, requirements (binaries, Python modules, environment variables) and
   selection signals in `src/$package/config.yaml`.
3. Put the files your target needs in `src/$package/templates/` (`*.tmpl` files are rendered
   with `$$deployer_entry_module`, `$$deployer_entry_function`, `$$deployer_name`, ...).
4. `src/$package/runner.py` works as generated: it serves the workspace on this machine with
   deployer's serving runtime (`python -m deployer_runtime serve`, token, /readyz, /schema,
   streaming). Change how it starts and reaches the server for your platform (import its SDK
   inside the methods only); set `round_trip_options = None` in
   `tests/test_${name}_conformance.py` if the target cannot run on a test machine.
