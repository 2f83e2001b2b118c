from .counting import count_words


def predict(text: str, top: int = 3) -> dict:
    counts = count_words(text)
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
    return {"words": sum(counts.values()), "top": [word for word, _ in ranked]}
