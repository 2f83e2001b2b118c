"""One Runner class per value of the `target` option: `cloud` (Modal) and `local` (in-process)."""
