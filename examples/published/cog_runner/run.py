from cog import BaseRunner, Input


class Runner(BaseRunner):
    def setup(self) -> None:
        self.vowels = set("aeiou")

    def run(
        self,
        text: str = Input(description="Text to count vowels in"),
        upper: bool = Input(description="Return the text upper-cased too", default=False),
    ) -> dict:
        count = sum(1 for ch in text.lower() if ch in self.vowels)
        return {"vowels": count, "text": text.upper() if upper else text}
