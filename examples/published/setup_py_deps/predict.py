from slugify import slugify


def predict(text: str, separator: str = "-") -> str:
    return slugify(text, separator=separator)
