"""A pure function: greets someone. No dependencies."""


def predict(name: str, greeting: str = "Hello") -> dict:
    return {"message": f"{greeting}, {name}!", "length": len(name)}
