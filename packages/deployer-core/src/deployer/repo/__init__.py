"""The read-only solution: path checks, scan, manifests, requirements, entry points and ignore rules."""
