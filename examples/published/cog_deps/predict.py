from cog import BasePredictor, Input
from slugify import slugify


class Predictor(BasePredictor):
    def setup(self) -> None:
        self.separator = "-"

    def predict(self, title: str = Input(description="Title to slugify")) -> str:
        return slugify(title, separator=self.separator)
