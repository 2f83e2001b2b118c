import mlflow.pyfunc


class KeywordScorer(mlflow.pyfunc.PythonModel):
    def load_context(self, context):
        self.keywords = {"good": 1.0, "great": 2.0, "bad": -1.0}

    def predict(self, context, model_input, params=None):
        rows = model_input.to_dict("records") if hasattr(model_input, "to_dict") else model_input
        if isinstance(rows, dict):
            rows = [rows]
        return [
            sum(self.keywords.get(w, 0.0) for w in str(row.get("text", "")).lower().split())
            for row in rows
        ]
