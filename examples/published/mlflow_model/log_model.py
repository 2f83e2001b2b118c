"""The MLproject entry point: logs the model (run with `mlflow run .`)."""

import argparse

import mlflow
from model import KeywordScorer

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--threshold", type=float, default=0.5)
    args = parser.parse_args()
    with mlflow.start_run():
        mlflow.log_param("threshold", args.threshold)
        mlflow.pyfunc.log_model("model", python_model=KeywordScorer())
