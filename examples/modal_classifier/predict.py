"""A topic classifier (sport, tech, food) with a separate load step.

`load()` builds the model from the bundled corpus; it stands in for loading real weights. The
modal strategy runs it once per container in `@modal.enter()`, before the first call.
`predict()` still loads on first use when nothing called `load()` (so the example also works
with strategies that know no load step), and reports how its model got loaded.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from pathlib import Path

_WORD = re.compile(r"[a-z']+")
MODEL: dict | None = None
LOAD_CALLS = 0
CALLS = 0


def _tokens(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def load() -> None:
    """Build the word counts per topic (the expensive, once-per-container part)."""
    global MODEL, LOAD_CALLS
    counts: dict[str, Counter[str]] = {}
    docs: Counter[str] = Counter()
    corpus = Path(__file__).with_name("corpus.tsv").read_text(encoding="utf-8")
    for line in corpus.splitlines():
        label, _, text = line.partition("\t")
        counts.setdefault(label, Counter()).update(_tokens(text))
        docs[label] += 1
    vocabulary = set().union(*counts.values())
    MODEL = {"counts": counts, "docs": docs, "vocabulary": vocabulary}
    MODEL["loaded_before_call"] = CALLS == 0
    LOAD_CALLS += 1


def predict(text: str) -> dict:
    """The most likely topic of `text`, with its probability."""
    global CALLS
    if MODEL is None:
        load()
        MODEL["loaded_before_call"] = False
    CALLS += 1
    total = sum(MODEL["docs"].values())
    scores = {}
    for label, counter in MODEL["counts"].items():
        denominator = sum(counter.values()) + len(MODEL["vocabulary"])
        score = math.log(MODEL["docs"][label] / total)
        for token in _tokens(text):
            score += math.log((counter[token] + 1) / denominator)
        scores[label] = score
    best = max(scores, key=scores.__getitem__)
    top = max(scores.values())
    weights = {label: math.exp(value - top) for label, value in scores.items()}
    return {
        "topic": best,
        "probability": round(weights[best] / sum(weights.values()), 4),
        "load_calls": LOAD_CALLS,
        "loaded_before_first_call": MODEL["loaded_before_call"],
        "calls": CALLS,
    }
