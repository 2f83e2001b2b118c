"""One Runner class per value of the `target` option: `dev` and `cloud` (`auto` picks one)."""
