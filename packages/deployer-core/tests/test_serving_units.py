"""The runtime's pure parts in-process: JSON Schema, validation, output encoding, the spec, the
watchdog and the metrics text (the same modules that are copied into workspaces)."""

from __future__ import annotations

import dataclasses
import enum
import importlib.util
import json
import math
import pathlib
import threading
import time
from typing import Literal, Optional, TypedDict

import pytest

from deployer.runtime.serving import encode, schema
from deployer.runtime.serving.observe import Metrics
from deployer.runtime.serving.spec import EntrySpec, SpecError, read_spec
from deployer.runtime.serving.watchdog import Watchdog


class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Pair(TypedDict):
    a: int
    b: str


@dataclasses.dataclass
class Box:
    width: float
    tags: list[str] = dataclasses.field(default_factory=list)


def sample(
    text: str,
    count: int = 2,
    ratio: float = 0.5,
    flag: bool = False,
    mode: Literal["x", "y"] = "x",
    maybe: Optional[int] = None,  # noqa: UP045 - the spelling solutions use
    items: list[int] | None = None,
    table: dict[str, float] | None = None,
    pair: Pair | None = None,
    box: Box | None = None,
    colour: Colour = Colour.RED,
    pairs: tuple[int, str] = (1, "a"),
) -> None:
    """Every annotation kind the runtime knows."""


@pytest.fixture(scope="module")
def params() -> list[schema.Param]:
    found, var_keyword, readable = schema.params_of(sample)
    assert readable and not var_keyword
    return found


def test_params_read_annotations_and_defaults(params) -> None:
    by_name = {p.name: p for p in params}
    assert by_name["text"].required and by_name["text"].annotation is str
    assert by_name["count"].default == 2 and not by_name["count"].required
    assert by_name["mode"].choices == ["x", "y"]
    assert by_name["maybe"].annotation_text == "Optional[int]"
    assert by_name["items"].annotation_text == "list[int] | None"


def test_json_schema_covers_every_annotation_kind(params) -> None:
    result = schema.input_schema(params, additional=False)
    props = result["properties"]
    assert result["required"] == ["text"]
    assert props["count"] == {"type": "integer", "default": 2}
    assert props["ratio"] == {"type": "number", "default": 0.5}
    assert props["flag"] == {"type": "boolean", "default": False}
    assert props["mode"] == {"enum": ["x", "y"], "default": "x"}
    assert props["maybe"] == {"anyOf": [{"type": "integer"}, {"type": "null"}], "default": None}
    assert {"type": "array", "items": {"type": "integer"}} in props["items"]["anyOf"]
    assert {"type": "object", "additionalProperties": {"type": "number"}} in props["table"]["anyOf"]
    pair = props["pair"]["anyOf"][0]
    assert pair["required"] == ["a", "b"] and pair["properties"]["b"] == {"type": "string"}
    box = props["box"]["anyOf"][0]
    assert box["required"] == ["width"] and box["title"] == "Box"
    assert props["colour"]["enum"] == ["red", "blue"]
    assert props["pairs"]["prefixItems"] == [{"type": "integer"}, {"type": "string"}]


def test_pydantic_model_schema_and_validation() -> None:
    pydantic = pytest.importorskip("pydantic")

    class Query(pydantic.BaseModel):
        question: str
        top_k: int = 3

    assert schema.json_schema(Query)["required"] == ["question"]
    assert schema.convert({"question": "q"}, Query, "query") == Query(question="q")
    with pytest.raises(schema.InputError) as caught:
        schema.convert({"top_k": 1}, Query, "query")
    assert caught.value.field == "query.question"


@pytest.mark.parametrize(
    ("value", "annotation", "expected"),
    [
        (3, int, 3),
        (3.0, int, 3),
        (3, float, 3.0),
        ("a", Literal["a", "b"], "a"),
        (None, Optional[int], None),  # noqa: UP045
        ([1, 2], list[int], [1, 2]),
        ([1, "a"], tuple[int, str], (1, "a")),
        ({"a": 1, "b": "x"}, Pair, {"a": 1, "b": "x"}),
        ({"width": 2}, Box, Box(width=2.0)),
        ("blue", Colour, Colour.BLUE),
        ("aGk=", bytes, b"hi"),
        ("/tmp/x", pathlib.Path, pathlib.Path("/tmp/x")),
        ({"any": [1]}, dict, {"any": [1]}),
    ],
)
def test_convert_accepts_and_converts(value, annotation, expected) -> None:
    assert schema.convert(value, annotation, "field") == expected


@pytest.mark.parametrize(
    ("value", "annotation", "field", "words"),
    [
        ("3", int, "f", "expected int, got a string"),
        (True, int, "f", "expected int, got a boolean"),
        (1.5, int, "f", "expected int, got a number"),
        (1, str, "f", "expected str"),
        (1, Literal[True], "f", "one of True"),
        ([1, "x"], list[int], "f[1]", "expected int"),
        ({"a": 1}, Pair, "f.b", "required field missing"),
        ({"a": 1, "b": "x", "c": 0}, Pair, "f.c", "unknown field"),
        ({"width": "w"}, Box, "f.width", "expected float"),
        ("green", Colour, "f", "one of 'red', 'blue'"),
        ("***", bytes, "f", "base64"),
        ([1], tuple[int, str], "f", "expected 2 items"),
    ],
)
def test_convert_refuses_naming_the_field(value, annotation, field, words) -> None:
    with pytest.raises(schema.InputError) as caught:
        schema.convert(value, annotation, "f")
    assert caught.value.field == field
    assert words in str(caught.value)


def test_validator_fills_defaults_only_when_asked(params) -> None:
    strict = schema.Validator(params, var_keyword=False, fill_defaults=False)
    assert strict({"text": "a"}) == {"text": "a"}
    filling = schema.Validator(params, var_keyword=False, fill_defaults=True)
    assert filling({"text": "a"})["count"] == 2
    with pytest.raises(schema.InputError, match="unknown field"):
        strict({"text": "a", "nope": 1})
    loose = schema.Validator(params, var_keyword=True, fill_defaults=False)
    assert loose({"text": "a", "extra": 1}) == {"text": "a", "extra": 1}


def test_validator_checks_constraints() -> None:
    param = schema.Param(name="t", annotation=float, ge=0, le=1, required=True)
    check = schema.Validator([param], var_keyword=False, fill_defaults=False)
    assert check({"t": 1}) == {"t": 1.0}
    with pytest.raises(schema.InputError, match=">= 0"):
        check({"t": -0.1})
    with pytest.raises(schema.InputError, match="<= 1"):
        check({"t": 2})


def test_params_from_spec_when_the_signature_cannot_be_read() -> None:
    found = schema.params_from_spec(
        [{"name": "n", "annotation": "int", "required": False, "default": 4, "ge": 1}]
    )
    assert found[0].annotation is int and found[0].default == 4 and found[0].ge == 1
    assert schema.params_of(len)[2] in (True, False)


def test_annotation_text() -> None:
    assert schema.annotation_text(int) == "int"
    assert schema.annotation_text(list[str]) == "list[str]"
    assert schema.annotation_text(Literal["a"]) == "Literal['a']"
    assert schema.annotation_text(schema.MISSING) is None


# ---------------------------------------------------------------- encode


def test_dumps_plain_and_special_values(tmp_path: pathlib.Path) -> None:
    file = tmp_path / "out.bin"
    file.write_bytes(b"\x00\x01")
    value = {"b": b"hi", "p": file, "d": Box(width=1.0), "s": frozenset([1]), "e": Colour.RED}
    assert json.loads(encode.dumps(value)) == {
        "b": "aGk=",
        "p": {"name": "out.bin", "content_base64": "AAE="},
        "d": {"width": 1.0, "tags": []},
        "s": [1],
        "e": "red",
    }


def test_dumps_numpy_values() -> None:
    """In a fresh interpreter: numpy's C extension cannot be imported twice in one process,
    and other suites in the same session may already have imported (and dropped) it."""
    if importlib.util.find_spec("numpy") is None:  # never import it here (see above)
        pytest.skip("numpy is not installed")
    probe = (
        "import json, numpy\n"
        "from deployer.runtime.serving import encode\n"
        "value = {'array': numpy.arange(3), 'scalar': numpy.float32(1.5), 'int': numpy.int64(7)}\n"
        "text = encode.dumps(value)\n"
        "print(text.decode() if isinstance(text, bytes) else text)\n"
        "try:\n"
        "    encode.dumps({'status': 'success', 'output': [numpy.float64('nan')]})\n"
        "except encode.EncodeError as exc:\n"
        "    print(exc)\n"
    )
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    first, second = out.stdout.strip().splitlines()
    assert json.loads(first) == {"array": [0, 1, 2], "scalar": 1.5, "int": 7}
    assert "nan at output" in second


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_dumps_refuses_non_finite_numbers_naming_where(bad: float) -> None:
    with pytest.raises(encode.EncodeError) as caught:
        encode.dumps({"status": "success", "output": {"a": [0, bad]}})
    assert f"{bad!r} at output['a'][1]" in str(caught.value)


def test_dumps_names_a_non_serialisable_type() -> None:
    class Model:
        pass

    with pytest.raises(encode.EncodeError, match="type test_dumps_names_a_non_serialisable_type"):
        encode.dumps({"output": Model()})


def test_dumps_a_missing_output_file_is_an_error(tmp_path: pathlib.Path) -> None:
    with pytest.raises(encode.EncodeError, match="'gone.txt' cannot be read"):
        encode.dumps(tmp_path / "gone.txt")


def test_loads_refuses_nan_and_infinity() -> None:
    for text in (b"NaN", b'{"a": Infinity}', b"[-Infinity]"):
        with pytest.raises(ValueError, match="not valid JSON"):
            encode.loads(text)
    assert encode.loads(b'{"a": 1.5}') == {"a": 1.5}


# ---------------------------------------------------------------- spec


def test_spec_ignores_unknown_fields_and_validates_known_ones(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "deployer_entry.json"
    path.write_text(json.dumps({"entrypoint": "m:f", "parameters": ["x"], "source": "cog.yaml"}))
    spec = read_spec(path)
    assert spec == EntrySpec(entrypoint="m:f")
    for bad, words in (
        ({"entrypoint": "nocolon"}, "module:name"),
        ({"entrypoint": "m:f", "setup": "load"}, "setup must be a list"),
        ({"entrypoint": "m:f", "calling_convention": "args"}, "calling_convention"),
        ({"entrypoint": "m:f", "route": 3}, "route must be"),
        ([], "JSON object"),
    ):
        with pytest.raises(SpecError, match=words):
            EntrySpec.from_dict(bad)
    path.write_text("{not json")
    with pytest.raises(SpecError, match="not valid JSON"):
        read_spec(path)
    with pytest.raises(SpecError, match="no entry spec"):
        read_spec(tmp_path / "missing.json")


def test_spec_matches_core_run_interface_fields() -> None:
    from deployer.models import RunInterface

    fields = set(EntrySpec.__dataclass_fields__)
    assert fields <= set(RunInterface.model_fields)
    interface = RunInterface(entrypoint="m:Cls.predict", entry_kind="class", flavor="cog")
    spec = EntrySpec.from_dict(interface.model_dump(mode="json"))
    assert (spec.entry_kind, spec.flavor) == ("class", "cog")


# ---------------------------------------------------------------- watchdog and metrics


def test_watchdog_fires_only_for_calls_that_overrun() -> None:
    dog = Watchdog(0.2)
    fired: list[str] = []
    on_time = dog.arm(lambda: fired.append("on time"))
    assert on_time.disarm() is True
    late = dog.arm(lambda: fired.append("late"))
    time.sleep(0.5)
    assert late.disarm() is False
    assert fired == ["late"]


def test_watchdog_keeps_its_queue_short_under_load() -> None:
    dog = Watchdog(60)
    for _ in range(10_000):
        dog.arm(lambda: None).disarm()
    assert len(dog.queue) <= 2


def test_metrics_text_format() -> None:
    metrics = Metrics()
    metrics.observe("/run", 200, 0.003)
    metrics.observe("/run", 200, 0.2)
    metrics.observe("/weird", 404, 0.001)
    text = metrics.render()
    assert 'deployer_requests_total{path="/run",code="200"} 2' in text
    assert 'deployer_requests_total{path="other",code="404"} 1' in text
    assert 'deployer_request_duration_seconds_bucket{path="/run",code="200",le="0.005"} 1' in text
    assert 'deployer_request_duration_seconds_bucket{path="/run",code="200",le="0.25"} 2' in text
    assert 'deployer_request_duration_seconds_count{path="/run",code="200"} 2' in text


def test_metrics_are_thread_safe() -> None:
    metrics = Metrics()
    threads = [
        threading.Thread(target=lambda: [metrics.observe("/run", 200, 0.001) for _ in range(1000)])
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert 'deployer_requests_total{path="/run",code="200"} 4000' in metrics.render()
