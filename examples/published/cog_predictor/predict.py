from cog import BasePredictor, Input


class Predictor(BasePredictor):
    def setup(self) -> None:
        """Load the model into memory to make running multiple predictions efficient"""
        self.greeting = "hello"

    def predict(
        self,
        name: str = Input(description="Who to greet", default="world"),
        times: int = Input(description="How many times", default=1, ge=1, le=5),
        punctuation: str = Input(description="End mark", default="!", choices=["!", "."]),
    ) -> str:
        """Run a single prediction on the model"""
        return " ".join([f"{self.greeting} {name}{punctuation}"] * times)
