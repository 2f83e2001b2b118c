from fastapi import FastAPI
from pydantic import BaseModel

app = FastAPI(title="sentence stats")


class Sentence(BaseModel):
    text: str


@app.get("/")
def index() -> dict:
    return {"service": "sentence stats"}


@app.post("/predict")
def predict(sentence: Sentence) -> dict:
    words = sentence.text.split()
    return {"words": len(words), "longest": max(words, key=len) if words else ""}
