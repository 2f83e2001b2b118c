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
4. Implement `src/$package/runner.py` (import your platform's SDK inside its methods only),
   then set `round_trip_options = {}` in `tests/test_${name}_conformance.py`.
