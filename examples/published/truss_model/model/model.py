from pydantic import BaseModel


class WordStatsInput(BaseModel):
    text: str
    lowercase: bool = True


class WordStatsOutput(BaseModel):
    words: int
    unique: int


class Model:
    def __init__(self, **kwargs):
        self._config = kwargs.get("config")
        self._stopwords: set[str] = set()

    def load(self):
        self._stopwords = {"a", "an", "the"}

    def preprocess(self, model_input: dict) -> dict:
        return {**model_input, "text": model_input.get("text", "").strip()}

    def predict(self, model_input: WordStatsInput) -> WordStatsOutput:
        if isinstance(model_input, dict):
            model_input = WordStatsInput.model_validate(model_input)
        text = model_input.text.lower() if model_input.lowercase else model_input.text
        words = [w for w in text.split() if w not in self._stopwords]
        return WordStatsOutput(words=len(words), unique=len(set(words)))

    def postprocess(self, model_output: WordStatsOutput) -> dict:
        return model_output.model_dump()
