import bentoml
from fastapi import FastAPI

app = FastAPI()


@app.get("/health")
def health() -> dict:
    return {"ok": True}


@app.post("/echo")
def echo(payload: dict) -> dict:
    return {"echo": payload}


@bentoml.service
@bentoml.asgi_app(app, path="/")
class EchoService:
    pass
