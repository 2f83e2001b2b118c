import modal

app = modal.App("deployer-published-modal")
image = modal.Image.debian_slim()


@app.function(image=image)
def square(x: int) -> int:
    return x * x


@app.function(image=image)
def shout(text: str, times: int = 1) -> str:
    return " ".join([text.upper()] * times)


@app.local_entrypoint()
def main() -> None:
    print(square.remote(4), shout.remote("hi"))
