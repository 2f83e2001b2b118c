"""One Runner class per value of the `target` option: `local` and `bentocloud`."""
