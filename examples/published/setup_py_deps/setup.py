from setuptools import setup

REQUIREMENTS = [
    "python-slugify>=8",
]

setup(
    name="slug-maker",
    version="0.1.0",
    py_modules=["predict"],
    install_requires=REQUIREMENTS,
    python_requires=">=3.9",
)
