"""A sentiment classifier that trains once at start-up and then answers many calls.

Training a naive Bayes model on the bundled corpus stands in for loading real model weights:
it happens once when the module is imported, so a long-lived process (deployer-local's process
mode) pays for it once, while calling a fresh process every time would pay for it on each call.
"""

from __future__ import annotations

import math
import re
import time
from collections import Counter
from pathlib import Path

_STARTED = time.perf_counter()
_WORD = re.compile(r"[a-z']+")


def _tokens(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _train(path: Path, rounds: int = 12000) -> tuple[dict[str, Counter[str]], Counter[str]]:
    counts: dict[str, Counter[str]] = {"positive": Counter(), "negative": Counter()}
    labels: Counter[str] = Counter()
    rows = [line.split("\t", 1) for line in path.read_text(encoding="utf-8").splitlines() if line]
    for _ in range(rounds):  # repeated passes: the "expensive" part of loading
        for label, text in rows:
            counts[label].update(_tokens(text))
            labels[label] += 1
    return counts, labels


COUNTS, LABELS = _train(Path(__file__).with_name("corpus.tsv"))
VOCABULARY = set(COUNTS["positive"]) | set(COUNTS["negative"])
LOAD_SECONDS = time.perf_counter() - _STARTED
_calls = 0


def predict(text: str) -> dict:
    """Classify `text` as positive or negative, with the model's confidence."""
    global _calls
    _calls += 1
    total = sum(LABELS.values())
    scores = {}
    for label, counter in COUNTS.items():
        denominator = sum(counter.values()) + len(VOCABULARY)
        score = math.log(LABELS[label] / total)
        for token in _tokens(text):
            score += math.log((counter[token] + 1) / denominator)
        scores[label] = score
    best = max(scores, key=scores.__getitem__)
    top = max(scores.values())
    exp = {label: math.exp(value - top) for label, value in scores.items()}
    confidence = exp[best] / sum(exp.values())
    return {
        "label": best,
        "confidence": round(confidence, 4),
        "load_seconds": round(LOAD_SECONDS, 4),
        "calls_served_by_this_process": _calls,
    }
