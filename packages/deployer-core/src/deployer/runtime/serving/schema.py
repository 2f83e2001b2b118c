"""Typed inputs: parameters read from a signature, JSON Schema for them, and validation.

Validation happens before the call and converts as it checks: a dataclass or pydantic model
parameter receives an instance, a `Path` a path. A wrong type names the field and the type it
expects. Unknown fields are refused when the entry point declares its parameters and has no
`**kwargs`; an entry point that takes the whole body (dict convention, Truss, MLflow, graphs,
web apps) gets the body as is and its own model decides.
"""

from __future__ import annotations

import dataclasses
import enum
import inspect
import pathlib
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any

MISSING: Any = inspect.Parameter.empty

_SIMPLE_TEXT = {
    "str": str,
    "int": int,
    "float": float,
    "bool": bool,
    "list": list,
    "dict": dict,
    "Any": Any,
    "bytes": bytes,
}


class InputError(ValueError):
    """An input does not fit the entry point: `field` names where, the message what."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field


@dataclasses.dataclass
class Param:
    """One input of the entry point."""

    name: str
    annotation: Any = MISSING
    annotation_text: str | None = None
    required: bool = True
    default: Any = None
    description: str | None = None
    choices: list[Any] | None = None
    ge: float | None = None
    le: float | None = None
    min_length: int | None = None
    max_length: int | None = None

    def as_json(self) -> dict[str, Any]:
        """The `Parameter` shape of core's models (annotation as a string)."""
        default = self.default if _plain_json(self.default) else repr(self.default)
        return {
            "name": self.name,
            "annotation": self.annotation_text,
            "required": self.required,
            "default": None if self.required else default,
            "description": self.description,
            "choices": self.choices,
            "ge": self.ge,
            "le": self.le,
        }


def _plain_json(value: Any) -> bool:
    if value is None or isinstance(value, bool | int | float | str):
        return True
    if isinstance(value, list | tuple):
        return all(_plain_json(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain_json(v) for k, v in value.items())
    return False


def annotation_text(annotation: Any) -> str | None:
    """An annotation as people write it: `int`, `list[str]`, `Literal['a', 'b']`."""
    if annotation is MISSING:
        return None
    if isinstance(annotation, str):
        return annotation
    if isinstance(annotation, type) and not typing.get_args(annotation):
        return annotation.__qualname__
    text = repr(annotation).replace("typing.", "")
    return text


def _is_cog_input(value: Any) -> bool:
    """Cog's `Input(...)` (its own FieldInfo dataclass, or pydantic's in older Cog)."""
    return type(value).__name__ == "FieldInfo" and hasattr(value, "default")


def _is_optional(annotation: Any) -> bool:
    return _origin(annotation) in (typing.Union, types.UnionType) and type(None) in typing.get_args(
        annotation
    )


def _origin(annotation: Any) -> Any:
    return typing.get_origin(annotation)


def _constraint(info: Any, name: str) -> Any:
    """ge/le from Cog's FieldInfo, or from pydantic's metadata list (older Cog)."""
    value = getattr(info, name, None)
    if value is not None:
        return value
    for item in getattr(info, "metadata", None) or []:
        found = getattr(item, name, None)
        if found is not None:
            return found
    return None


def params_of(function: Callable[..., Any], *, skip: int = 0) -> tuple[list[Param], bool, bool]:
    """(parameters, takes **kwargs, could be read) for `function`; `skip` leading ones dropped."""
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        return [], True, False
    try:
        hints = typing.get_type_hints(function, include_extras=False)
    except Exception:
        hints = {}
    params: list[Param] = []
    var_keyword = False
    for index, parameter in enumerate(signature.parameters.values()):
        if index < skip:
            continue
        if parameter.kind is inspect.Parameter.VAR_KEYWORD:
            var_keyword = True
            continue
        if parameter.kind is inspect.Parameter.VAR_POSITIONAL:
            continue
        annotation = hints.get(parameter.name, parameter.annotation)
        if isinstance(annotation, str):
            annotation = _SIMPLE_TEXT.get(annotation, MISSING)
            text = parameter.annotation
        else:
            text = annotation_text(parameter.annotation if annotation is MISSING else annotation)
        param = Param(name=parameter.name, annotation=annotation, annotation_text=text)
        default = parameter.default
        if _is_cog_input(default):
            info = default
            param.description = getattr(info, "description", None)
            choices = getattr(info, "choices", None)
            param.choices = list(choices) if choices else None
            param.ge = _constraint(info, "ge")
            param.le = _constraint(info, "le")
            param.min_length = _constraint(info, "min_length")
            param.max_length = _constraint(info, "max_length")
            default = getattr(info, "default", None)
            if type(default).__name__ == "PydanticUndefinedType" or default is Ellipsis:
                default = None
            if default is None and not _is_optional(annotation):
                default = MISSING
            elif default is None:
                param.required = False
        if default is not MISSING:
            param.required = False
            param.default = default
        if _origin(annotation) is typing.Literal and param.choices is None:
            param.choices = list(typing.get_args(annotation))
        params.append(param)
    return params, var_keyword, True


def params_from_spec(entries: Sequence[Mapping[str, Any]]) -> list[Param]:
    """Parameters as the static detection recorded them (used when the signature cannot be read)."""
    params = []
    for entry in entries:
        text = entry.get("annotation")
        params.append(
            Param(
                name=str(entry.get("name")),
                annotation=_SIMPLE_TEXT.get(text, MISSING) if isinstance(text, str) else MISSING,
                annotation_text=text,
                required=bool(entry.get("required", True)),
                default=entry.get("default"),
                description=entry.get("description"),
                choices=entry.get("choices"),
                ge=entry.get("ge"),
                le=entry.get("le"),
            )
        )
    return params


# ---------------------------------------------------------------------------- JSON Schema


def json_schema(annotation: Any, defs: dict[str, Any] | None = None) -> dict[str, Any]:
    """The JSON Schema of values of `annotation` (plain types, Literal, Optional, containers,
    TypedDict, dataclasses, enums, pydantic models)."""
    if annotation is MISSING or annotation is Any or annotation is object:
        return {}
    if annotation is None or annotation is type(None):
        return {"type": "null"}
    origin = _origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return json_schema(args[0], defs)
    if origin is typing.Literal:
        return {"enum": list(args)}
    if origin in (typing.Union, types.UnionType):
        return {"anyOf": [json_schema(arg, defs) for arg in args]}
    if origin in (list, set, frozenset, Sequence, typing.List) or annotation in (list, set):  # noqa: UP006
        schema: dict[str, Any] = {"type": "array"}
        if args:
            schema["items"] = json_schema(args[0], defs)
        return schema
    if origin is tuple or annotation is tuple:
        if args and args[-1] is not Ellipsis:
            return {
                "type": "array",
                "prefixItems": [json_schema(arg, defs) for arg in args],
                "minItems": len(args),
                "maxItems": len(args),
            }
        return {"type": "array", "items": json_schema(args[0], defs)} if args else {"type": "array"}
    if origin in (dict, Mapping) or annotation is dict:
        schema = {"type": "object"}
        if len(args) == 2:
            schema["additionalProperties"] = json_schema(args[1], defs)
        return schema
    if annotation is bool:
        return {"type": "boolean"}
    if annotation is int:
        return {"type": "integer"}
    if annotation is float:
        return {"type": "number"}
    if annotation is str:
        return {"type": "string"}
    if annotation is bytes:
        return {"type": "string", "contentEncoding": "base64"}
    if isinstance(annotation, type) and issubclass(annotation, pathlib.PurePath):
        return {"type": "string", "format": "uri", "description": "a path or URL"}
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return {"enum": [member.value for member in annotation]}
    model_schema = getattr(annotation, "model_json_schema", None)
    if callable(model_schema):
        schema = model_schema()
        if defs is not None and "$defs" in schema:
            defs.update(schema.pop("$defs"))
        return schema
    if _is_typeddict(annotation):
        hints = typing.get_type_hints(annotation)
        required = sorted(getattr(annotation, "__required_keys__", hints))
        return {
            "type": "object",
            "title": annotation.__name__,
            "properties": {k: json_schema(v, defs) for k, v in hints.items()},
            "required": required,
        }
    if dataclasses.is_dataclass(annotation) and isinstance(annotation, type):
        hints = typing.get_type_hints(annotation)
        properties = {}
        required = []
        for field in dataclasses.fields(annotation):
            properties[field.name] = json_schema(hints.get(field.name, MISSING), defs)
            if (
                field.default is dataclasses.MISSING
                and field.default_factory is dataclasses.MISSING
            ):
                required.append(field.name)
        return {
            "type": "object",
            "title": annotation.__name__,
            "properties": properties,
            "required": required,
        }
    return {}


def _is_typeddict(annotation: Any) -> bool:
    return (
        isinstance(annotation, type)
        and issubclass(annotation, dict)
        and hasattr(annotation, "__total__")
    )


def input_schema(params: list[Param], *, additional: bool) -> dict[str, Any]:
    """The JSON Schema of a request body for these parameters."""
    defs: dict[str, Any] = {}
    properties: dict[str, Any] = {}
    for param in params:
        schema = dict(json_schema(param.annotation, defs))
        if param.description:
            schema["description"] = param.description
        if param.choices is not None:
            schema["enum"] = list(param.choices)
        if param.ge is not None:
            schema["minimum"] = param.ge
        if param.le is not None:
            schema["maximum"] = param.le
        if param.min_length is not None:
            schema["minLength"] = param.min_length
        if param.max_length is not None:
            schema["maxLength"] = param.max_length
        if not param.required and _plain_json(param.default):
            schema["default"] = param.default
        properties[param.name] = schema
    result: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "required": [p.name for p in params if p.required],
        "additionalProperties": additional,
    }
    if defs:
        result["$defs"] = defs
    return result


# ---------------------------------------------------------------------------- validation


def _type_name(annotation: Any) -> str:
    return annotation_text(annotation) or "any value"


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _wrong(field: str, annotation: Any, value: Any) -> InputError:
    return InputError(field, f"expected {_type_name(annotation)}, got {_json_kind(value)}")


def convert(value: Any, annotation: Any, field: str) -> Any:
    """`value` (parsed JSON) checked against `annotation` and converted to what the code expects."""
    if annotation is MISSING or annotation is Any or annotation is object:
        return value
    if annotation is None or annotation is type(None):
        if value is not None:
            raise _wrong(field, annotation, value)
        return None
    if annotation is str:
        if not isinstance(value, str):
            raise _wrong(field, annotation, value)
        return value
    if annotation is bool:
        if not isinstance(value, bool):
            raise _wrong(field, annotation, value)
        return value
    if annotation is int:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                return int(value)
            raise _wrong(field, annotation, value)
        return value
    if annotation is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _wrong(field, annotation, value)
        return float(value)
    origin = _origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return convert(value, args[0], field)
    if origin is typing.Literal:
        if not any(value == arg and type(value) is type(arg) for arg in args):
            choices = ", ".join(repr(arg) for arg in args)
            raise InputError(field, f"expected one of {choices}, got {value!r}"[:300])
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        options = [arg for arg in args if arg is not type(None)]
        if len(options) == 1:
            return convert(value, options[0], field)
        for arg in args:
            if arg is type(None):
                continue
            try:
                return convert(value, arg, field)
            except InputError:
                continue
        raise _wrong(field, annotation, value)
    if origin in (list, set, frozenset, tuple, Sequence) or annotation in (list, set, tuple):
        if not isinstance(value, list):
            raise _wrong(field, annotation, value)
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(value) != len(args):
                raise InputError(field, f"expected {len(args)} items, got {len(value)}")
            return tuple(
                convert(v, a, f"{field}[{i}]")
                for i, (v, a) in enumerate(zip(value, args, strict=True))
            )
        item = args[0] if args else MISSING
        items = [convert(v, item, f"{field}[{i}]") for i, v in enumerate(value)]
        if origin in (set, frozenset) or annotation is set:
            return set(items)
        return tuple(items) if origin is tuple or annotation is tuple else items
    if origin in (dict, Mapping) or annotation is dict:
        if not isinstance(value, dict):
            raise _wrong(field, annotation, value)
        if len(args) == 2:
            return {k: convert(v, args[1], f"{field}.{k}") for k, v in value.items()}
        return value
    if annotation is bytes:
        if not isinstance(value, str):
            raise _wrong(field, "base64 string", value)
        import base64
        import binascii

        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise InputError(field, "expected a base64 string") from None
    if isinstance(annotation, type) and issubclass(annotation, pathlib.PurePath):
        if not isinstance(value, str):
            raise _wrong(field, "a path or URL (string)", value)
        try:
            return annotation(value)
        except Exception:
            return pathlib.Path(value)
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        try:
            return annotation(value)
        except ValueError:
            choices = ", ".join(repr(m.value) for m in annotation)
            raise InputError(field, f"expected one of {choices}, got {value!r}"[:300]) from None
    validate = getattr(annotation, "model_validate", None)
    if callable(validate):
        return _pydantic(validate, value, field)
    if _is_typeddict(annotation):
        if not isinstance(value, dict):
            raise _wrong(field, annotation, value)
        hints = typing.get_type_hints(annotation)
        for key in getattr(annotation, "__required_keys__", hints):
            if key not in value:
                raise InputError(f"{field}.{key}", "required field missing")
        unknown = sorted(set(value) - set(hints))
        if unknown:
            raise InputError(f"{field}.{unknown[0]}", "unknown field")
        return {k: convert(v, hints[k], f"{field}.{k}") for k, v in value.items()}
    if dataclasses.is_dataclass(annotation) and isinstance(annotation, type):
        if not isinstance(value, dict):
            raise _wrong(field, annotation, value)
        hints = typing.get_type_hints(annotation)
        fields = {f.name: f for f in dataclasses.fields(annotation) if f.init}
        unknown = sorted(set(value) - set(fields))
        if unknown:
            raise InputError(f"{field}.{unknown[0]}", "unknown field")
        kwargs = {}
        for name, spec in fields.items():
            if name in value:
                kwargs[name] = convert(value[name], hints.get(name, MISSING), f"{field}.{name}")
            elif (
                spec.default is dataclasses.MISSING and spec.default_factory is dataclasses.MISSING
            ):
                raise InputError(f"{field}.{name}", "required field missing")
        return annotation(**kwargs)
    return value


def _pydantic(validate: Callable[[Any], Any], value: Any, field: str) -> Any:
    try:
        return validate(value)
    except Exception as exc:
        errors = getattr(exc, "errors", None)
        if callable(errors):
            try:
                first = errors()[0]
                where = ".".join(str(p) for p in first.get("loc", ()))
                name = f"{field}.{where}" if field and where else (field or where)
                raise InputError(name, str(first.get("msg", "invalid value"))) from None
            except (IndexError, TypeError, KeyError):
                pass
        raise InputError(field, str(exc).splitlines()[0]) from None


def validate_whole(value: Any, annotation: Any) -> Any:
    """A body given whole to a single typed parameter (pydantic model, TypedDict, dataclass)."""
    return convert(value, annotation, "")


class Validator:
    """Checks a request's fields against the parameters, fills defaults, converts values."""

    def __init__(self, params: list[Param], *, var_keyword: bool, fill_defaults: bool) -> None:
        self.params = params
        self.names = {p.name for p in params}
        self.var_keyword = var_keyword
        self.fill_defaults = fill_defaults
        self.plain = all(p.annotation is MISSING and p.choices is None for p in params)

    def __call__(self, inputs: dict[str, Any]) -> dict[str, Any]:
        if not self.var_keyword:
            for key in inputs:
                if key not in self.names:
                    expected = ", ".join(p.name for p in self.params) or "none"
                    raise InputError(key, f"unknown field (expected fields: {expected})")
        out = dict(inputs) if self.var_keyword else {}
        for param in self.params:
            if param.name in inputs:
                value = inputs[param.name]
                if not self.plain:
                    value = self._check(param, value)
                out[param.name] = value
            elif param.required:
                expected = _type_name(param.annotation)
                raise InputError(param.name, f"required field missing (expected {expected})")
            elif self.fill_defaults:
                out[param.name] = param.default
        return out

    @staticmethod
    def _check(param: Param, value: Any) -> Any:
        value = convert(value, param.annotation, param.name)
        if param.choices is not None and value not in param.choices:
            choices = ", ".join(repr(c) for c in param.choices)
            raise InputError(param.name, f"expected one of {choices}, got {value!r}"[:300])
        if isinstance(value, int | float) and not isinstance(value, bool):
            if param.ge is not None and value < param.ge:
                raise InputError(param.name, f"must be >= {param.ge}, got {value!r}")
            if param.le is not None and value > param.le:
                raise InputError(param.name, f"must be <= {param.le}, got {value!r}")
        if isinstance(value, str):
            if param.min_length is not None and len(value) < param.min_length:
                raise InputError(param.name, f"must be at least {param.min_length} characters")
            if param.max_length is not None and len(value) > param.max_length:
                raise InputError(param.name, f"must be at most {param.max_length} characters")
        return value


def validator_for(function: Callable[..., Any]) -> Validator | None:
    """A validator of keyword inputs for `function` (None when its signature cannot be read):
    what the runtime checks before a call, for callers that call the function directly. It
    raises InputError (a ValueError with `field`)."""
    params, var_keyword, readable = params_of(function)
    return Validator(params, var_keyword=var_keyword, fill_defaults=False) if readable else None
