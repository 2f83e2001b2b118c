import bentoml


@bentoml.service(resources={"cpu": "1"}, traffic={"timeout": 10})
class Summarization:
    def __init__(self) -> None:
        self.limit = 8

    @bentoml.api
    def summarize(self, text: str, words: int = 5) -> str:
        kept = text.split()[: min(words, self.limit)]
        return " ".join(kept)
