"""One Runner class per value of the `mode` option: `process` and `inprocess`."""
