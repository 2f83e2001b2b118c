# $name — $summary

Choose **$name** when ... (describe the solutions this strategy fits: their dependencies,
their shape, the words in their goal).

Good fit:
- ...

Poor fit:
- ... (and which strategy fits better)
