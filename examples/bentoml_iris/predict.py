"""An iris classifier served with BentoML: the model is trained once, in the load step.

`load()` trains a scikit-learn logistic regression on the tiny iris table bundled beside this
file (no download); deployer-bentoml calls it once in the BentoML service's constructor, so
every request after that only predicts.
"""

from __future__ import annotations

import csv
import time
from pathlib import Path

DATA = Path(__file__).with_name("iris.csv")
SPECIES = ("setosa", "versicolor", "virginica")
FEATURES = ("sepal_length", "sepal_width", "petal_length", "petal_width")
_model = None
_load_seconds = 0.0
_calls = 0


def load() -> None:
    """Train the model (stands in for loading weights): once per serving process."""
    global _model, _load_seconds
    from sklearn.linear_model import LogisticRegression

    started = time.perf_counter()
    with DATA.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    features = [[float(row[k]) for k in FEATURES] for row in rows]
    labels = [SPECIES.index(row["species"]) for row in rows]
    _model = LogisticRegression(max_iter=1000).fit(features, labels)
    _load_seconds = time.perf_counter() - started


def predict(measurements: list[list[float]]) -> dict:
    """Species for each row of [sepal_length, sepal_width, petal_length, petal_width] (cm)."""
    global _calls
    if _model is None:
        raise RuntimeError("the model is not loaded: load() was not called")
    if not measurements or any(len(row) != len(FEATURES) for row in measurements):
        raise ValueError(f"each row needs {len(FEATURES)} numbers: {', '.join(FEATURES)}")
    _calls += 1
    found = _model.predict(measurements)
    return {
        "species": [SPECIES[int(i)] for i in found],
        "load_seconds": round(_load_seconds, 4),
        "calls_served_by_this_process": _calls,
    }
