"""From an entry spec to something the server calls: every entry kind and flavor, loaded once.

`resolve(spec)` imports the entry point and reads its interface without running anything of
the solution's beyond the import (what `inspect` prints); `Entry.start()` then instantiates and
runs the setup methods (`setup()`, `load()`, `load_context()`, a web app's lifespan) once, and
returns the call that serves each request.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import json
import os
import pathlib
from collections.abc import Callable, Mapping
from typing import Any

from . import aio
from .schema import (
    MISSING,
    Param,
    Validator,
    annotation_text,
    input_schema,
    json_schema,
    params_from_spec,
    params_of,
    validate_whole,
)
from .spec import EntrySpec

Call = Callable[[dict[str, Any]], Any]

CLASS_FLAVORS = ("cog", "truss", "mlflow", "bentoml", "plain")
_PLAIN_SETUP = ("setup", "load", "load_model")
_PLAIN_METHODS = ("predict", "run", "__call__")


class LoadError(Exception):
    """The entry point cannot be served as described; the message is one line saying why."""


class ImportFailed(LoadError):
    """Importing the entry point's module raised; `root` is the root-cause exception."""

    def __init__(self, message: str, root: BaseException) -> None:
        super().__init__(message)
        self.root = root


def root_cause(exc: BaseException) -> BaseException:
    """The innermost exception of a chain (the one a user can act on)."""
    seen = set()
    while id(exc) not in seen:
        seen.add(id(exc))
        inner = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
        if inner is None:
            break
        exc = inner
    return exc


def import_entrypoint(entrypoint: str) -> tuple[Any, list[Any]]:
    """(the object named, the chain of objects from the module to it)."""
    module_name, sep, qualname = entrypoint.partition(":")
    if not sep or not module_name or not qualname:
        raise LoadError(f"entry point {entrypoint!r} must look like 'module:name'")
    try:
        module = importlib.import_module(module_name)
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt):
            raise
        root = root_cause(exc)
        raise ImportFailed(f"{type(root).__name__}: {root}", root) from exc
    chain = [module]
    current: Any = module
    for part in qualname.split("."):
        try:
            current = getattr(current, part)
        except AttributeError:
            where = (
                module_name if len(chain) == 1 else f"{module_name}:{qualname.rsplit('.', 1)[0]}"
            )
            raise LoadError(f"{where} has no attribute {part!r}") from None
        chain.append(current)
    return current, chain


def _module_of(obj: Any) -> str:
    return getattr(type(obj), "__module__", "") or ""


def _mro_modules(cls: type) -> list[str]:
    return [f"{c.__module__}.{c.__qualname__}" for c in getattr(cls, "__mro__", ())]


def detect_kind(obj: Any) -> tuple[str, str | None]:
    """(entry kind, flavor) of an imported object, when the spec does not say."""
    module = _module_of(obj)
    if "bentoml" in module and hasattr(obj, "inner"):
        return "class", "bentoml"
    if module.startswith("modal") and hasattr(obj, "local"):
        return "modal_function", "modal"
    if module.startswith("gradio") and hasattr(obj, "fns"):
        return "gradio", "gradio"
    if isinstance(obj, type):
        return "class", class_flavor(obj)
    if (hasattr(obj, "invoke") and hasattr(obj, "stream")) or (
        hasattr(obj, "compile") and hasattr(obj, "add_node")
    ):
        return "graph", "langgraph"
    if hasattr(obj, "url_map") and hasattr(obj, "wsgi_app"):
        return "wsgi", "flask"
    if hasattr(obj, "routes") and callable(obj) and inspect.iscoroutinefunction(type(obj).__call__):
        return "asgi", "fastapi"
    return "function", None


def class_flavor(cls: type) -> str:
    names = _mro_modules(cls)
    if any(n.startswith("cog.") for n in names):
        return "cog"
    if any("mlflow" in n and n.endswith("PythonModel") for n in names):
        return "mlflow"
    return "plain"


@dataclasses.dataclass
class Entry:
    """A resolved entry point: what it is, its inputs, and how to start serving it."""

    spec: EntrySpec
    kind: str
    flavor: str | None
    method: str | None = None
    setup: list[str] = dataclasses.field(default_factory=list)
    route: str | None = None
    convention: str = "kwargs"
    params: list[Param] = dataclasses.field(default_factory=list)
    var_keyword: bool = False
    whole_body: bool = False
    body_annotation: Any = MISSING
    streaming: bool = False
    schema_override: dict[str, Any] | None = None
    starter: Callable[[], Call] | None = None
    streamer: Callable[[], Call] | None = None
    fill_defaults: bool = False

    def validator(self) -> Callable[[dict[str, Any]], Any]:
        """Checks and converts a request body into what the call takes."""
        if self.whole_body:
            annotation = self.body_annotation
            if _object_shaped(annotation):
                return lambda body: validate_whole(body, annotation)
            return lambda body: body
        return Validator(
            self.params, var_keyword=self.var_keyword, fill_defaults=self.fill_defaults
        )

    def input_schema(self) -> dict[str, Any]:
        if self.schema_override is not None:
            return self.schema_override
        if self.whole_body:
            if self.body_annotation is not MISSING:
                defs: dict[str, Any] = {}
                schema = dict(json_schema(self.body_annotation, defs))
                if defs:
                    schema["$defs"] = defs
                if schema:
                    return schema
            return {"type": "object"}
        return input_schema(self.params, additional=self.var_keyword)

    def describe(self) -> dict[str, Any]:
        """What `inspect` prints."""
        return {
            "entrypoint": self.spec.entrypoint,
            "entry_kind": self.kind,
            "flavor": self.flavor,
            "method": self.method,
            "setup": self.setup,
            "route": self.route,
            "calling_convention": self.convention,
            "streaming": self.streaming,
            "signature": [p.as_json() for p in self.params],
            "input_schema": self.input_schema(),
        }


def _object_shaped(annotation: Any) -> bool:
    """Annotations a whole JSON object body can be validated into."""
    if annotation is MISSING:
        return False
    if callable(getattr(annotation, "model_validate", None)):
        return True
    return isinstance(annotation, type) and (
        dataclasses.is_dataclass(annotation)
        or (issubclass(annotation, dict) and hasattr(annotation, "__total__"))
    )


def _is_streaming(function: Any) -> bool:
    function = inspect.unwrap(function) if callable(function) else function
    return inspect.isgeneratorfunction(function) or inspect.isasyncgenfunction(function)


def _first_param_annotation(function: Callable[..., Any], skip: int) -> Any:
    params, _, _ = params_of(function, skip=skip)
    return params[0].annotation if params else MISSING


def resolve(spec: EntrySpec) -> Entry:
    """Import the entry point and read its interface (only the import runs solution code)."""
    obj, chain = import_entrypoint(spec.entrypoint)
    kind, flavor = spec.entry_kind, spec.flavor
    detected_kind, detected_flavor = detect_kind(obj)
    owner = chain[-2] if len(chain) > 2 else None
    if kind == "class" or (kind == "function" and detected_kind == "class"):
        if isinstance(owner, type) and not isinstance(obj, type):
            return _resolve_class(
                spec, owner, flavor or class_flavor(owner), spec.method or chain_name(spec)
            )
        return _resolve_class(spec, obj, flavor or detected_flavor or "plain", spec.method)
    if kind == "function" and detected_kind not in ("function", "class"):
        kind, flavor = detected_kind, flavor or detected_flavor
    if kind == "function" and isinstance(owner, type):
        return _resolve_class(spec, owner, flavor or class_flavor(owner), chain_name(spec))
    resolvers = {
        "function": _resolve_function,
        "graph": _resolve_graph,
        "asgi": _resolve_asgi,
        "wsgi": _resolve_wsgi,
        "modal_function": _resolve_modal,
        "gradio": _resolve_gradio,
    }
    if kind not in resolvers:
        raise LoadError(f"unknown entry kind {kind!r}")
    return resolvers[kind](spec, obj, flavor)


def chain_name(spec: EntrySpec) -> str:
    return spec.entrypoint.rsplit(".", 1)[-1]


def _signature_params(spec: EntrySpec, function: Any, skip: int) -> tuple[list[Param], bool]:
    params, var_keyword, readable = params_of(function, skip=skip)
    if not readable and spec.signature:
        return params_from_spec(spec.signature), False
    _merge_spec(params, spec)
    return params, var_keyword


def _merge_spec(params: list[Param], spec: EntrySpec) -> None:
    """Descriptions and constraints the static detection found that the signature lacks."""
    known = {str(entry.get("name")): entry for entry in spec.signature if isinstance(entry, dict)}
    for param in params:
        entry = known.get(param.name)
        if not entry:
            continue
        for field in ("description", "choices", "ge", "le"):
            if getattr(param, field) is None and entry.get(field) is not None:
                setattr(param, field, entry[field])


def _call_result(result: Any) -> Any:
    """Awaitables run on the shared loop; generators are returned to the server as they are."""
    if inspect.isawaitable(result) and not inspect.isasyncgen(result):
        return _Awaiting(result)
    return result


class _Awaiting:
    """A coroutine the server runs on the shared loop (so it can be cancelled on timeout)."""

    def __init__(self, awaitable: Any) -> None:
        self.awaitable = awaitable

    async def run(self) -> Any:
        return await self.awaitable


# ---------------------------------------------------------------------------- functions


def _resolve_function(spec: EntrySpec, function: Any, flavor: str | None) -> Entry:
    if not callable(function):
        raise LoadError(f"{spec.entrypoint} is a {type(function).__name__}, not a function")
    convention = spec.calling_convention
    params, var_keyword = _signature_params(spec, function, 0)
    whole = convention == "dict"
    body_annotation = params[0].annotation if whole and params else MISSING
    if whole:
        call: Call = lambda inputs: _call_result(function(inputs))  # noqa: E731
    else:
        call = lambda inputs: _call_result(function(**inputs))  # noqa: E731
    return Entry(
        spec=spec,
        kind="function",
        flavor=flavor,
        convention=convention,
        params=[] if whole else params,
        var_keyword=var_keyword,
        whole_body=whole,
        body_annotation=body_annotation,
        streaming=_is_streaming(function),
        starter=lambda: call,
    )


# ---------------------------------------------------------------------------- classes


def _accepts(function: Any, name: str) -> bool:
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == name or p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters)


def _defined(cls: type, name: str, *, skip_modules: tuple[str, ...] = ()) -> bool:
    for owner in cls.__mro__:
        if owner is object or owner.__module__.startswith(skip_modules):
            continue
        if name in owner.__dict__:
            return True
    return False


def _resolve_class(spec: EntrySpec, obj: Any, flavor: str, method: str | None) -> Entry:
    if flavor == "bentoml":
        return _resolve_bentoml(spec, obj, method)
    if not isinstance(obj, type):
        raise LoadError(f"{spec.entrypoint} is a {type(obj).__name__}, not a class")
    cls = obj
    setup = list(spec.setup)
    whole = False
    if flavor == "cog":
        method = method or ("run" if _defined(cls, "run", skip_modules=("cog",)) else "predict")
        if not spec.setup and _defined(cls, "setup", skip_modules=("cog",)):
            setup = ["setup"]
    elif flavor == "truss":
        method = method or "predict"
        if not spec.setup and hasattr(cls, "load"):
            setup = ["load"]
        whole = True
    elif flavor == "mlflow":
        method = method or "predict"
        if not spec.setup and _defined(cls, "load_context", skip_modules=("mlflow",)):
            setup = ["load_context"]
        whole = True
    else:
        method = method or next((m for m in _PLAIN_METHODS if _defined(cls, m)), None)
        if method is None:
            raise LoadError(
                f"class {cls.__qualname__} has none of the methods {', '.join(_PLAIN_METHODS)}: "
                "name the method in the entry point ('module:Class.method')"
            )
        if not spec.setup:
            setup = [m for m in _PLAIN_SETUP if _defined(cls, m)][:1]
    function = getattr(cls, method, None)
    if not callable(function):
        raise LoadError(f"class {cls.__qualname__} has no method {method!r}")
    for name in setup:
        if not callable(getattr(cls, name, None)):
            raise LoadError(f"class {cls.__qualname__} has no setup method {name!r}")

    skip = 0 if isinstance(inspect.getattr_static(cls, method), staticmethod) else 1
    convention = spec.calling_convention
    body_annotation: Any = MISSING
    if flavor == "mlflow":
        mlflow_params = params_of(function, skip=skip)[0]
        with_context = bool(mlflow_params) and mlflow_params[0].name == "context"
        body_index = 1 if with_context else 0
        body_annotation = (
            mlflow_params[body_index].annotation if len(mlflow_params) > body_index else MISSING
        )
        params: list[Param] = []
        var_keyword = False
    elif flavor == "truss":
        # as in Truss's model wrapper: the body is parsed for the first step that gets it,
        # preprocess when the model has one, else predict
        first = getattr(cls, "preprocess", None)
        body_annotation = _first_param_annotation(first if callable(first) else function, skip)
        params, var_keyword = [], False
    else:
        whole = convention == "dict"
        params, var_keyword = _signature_params(spec, function, skip)
        if whole:
            body_annotation = params[0].annotation if params else MISSING
            params = []
    fill_defaults = flavor == "cog"

    def start() -> Call:
        instance = _instantiate(cls, flavor, spec)
        context = _MlflowContext() if flavor == "mlflow" else None
        for name in setup:
            step = getattr(instance, name)
            if flavor == "mlflow" and name == "load_context":
                _finish(step(context))
            else:
                _finish(step())
        bound = getattr(instance, method)
        if flavor == "truss":
            return _truss_call(instance, bound)
        if flavor == "mlflow":
            if with_context:
                return lambda body: _call_result(bound(context, body))
            return lambda body: _call_result(bound(body))
        if whole:
            return lambda body: _call_result(bound(body))
        return lambda inputs: _call_result(bound(**inputs))

    return Entry(
        spec=spec,
        kind="class",
        flavor=flavor,
        method=method,
        setup=setup,
        convention="dict" if flavor in ("truss", "mlflow") else convention,
        params=params,
        var_keyword=var_keyword,
        whole_body=whole or flavor in ("truss", "mlflow"),
        body_annotation=body_annotation,
        streaming=_is_streaming(function),
        starter=start,
        fill_defaults=fill_defaults,
    )


def _finish(result: Any) -> Any:
    """A setup method may be async (Truss allows `async def load`)."""
    if inspect.isawaitable(result):
        return aio.run(_Awaiting(result).run())
    return result


class _MlflowContext:
    """What `mlflow.pyfunc.PythonModel.load_context` and `predict` receive: no artifacts here."""

    def __init__(self) -> None:
        self.artifacts: dict[str, str] = {}
        self.model_config: dict[str, Any] = {}


class _Secrets(Mapping[str, str]):
    """Truss' `secrets`: read from the environment (where deployer puts `--env` values)."""

    def __getitem__(self, key: str) -> str:
        return os.environ[key]

    def __iter__(self):
        return iter(os.environ)

    def __len__(self) -> int:
        return len(os.environ)


def _truss_config() -> dict[str, Any]:
    path = pathlib.Path("config.yaml")
    if not path.is_file():
        return {}
    try:
        import yaml  # Truss environments have it; the runtime does not need it otherwise.
    except ImportError:
        return {}
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except Exception:
        return {}
    return loaded if isinstance(loaded, dict) else {}


def _instantiate(cls: type, flavor: str, spec: EntrySpec) -> Any:
    kwargs: dict[str, Any] = {}
    if flavor == "truss":
        init = cls
        if _accepts(init, "config"):
            kwargs["config"] = _truss_config()
        if _accepts(init, "data_dir"):
            kwargs["data_dir"] = pathlib.Path("data").resolve()
        if _accepts(init, "secrets"):
            kwargs["secrets"] = _Secrets()
    try:
        inspect.signature(cls).bind(**kwargs)
    except TypeError:
        required = [
            p.name
            for p in inspect.signature(cls).parameters.values()
            if p.default is inspect.Parameter.empty
            and p.kind not in (inspect.Parameter.VAR_KEYWORD, inspect.Parameter.VAR_POSITIONAL)
            and p.name not in kwargs
        ]
        raise LoadError(
            f"cannot create {cls.__qualname__}(): its constructor needs {', '.join(required)}"
        ) from None
    except ValueError:
        pass
    return cls(**kwargs)


def _truss_call(instance: Any, predict: Callable[[Any], Any]) -> Call:
    preprocess = getattr(instance, "preprocess", None)
    postprocess = getattr(instance, "postprocess", None)

    def call(body: Any) -> Any:
        value = _finish(preprocess(body)) if callable(preprocess) else body
        result = predict(value)
        if callable(postprocess):
            result = _finish(result)
            return _call_result(postprocess(result))
        return _call_result(result)

    return call


def _resolve_bentoml(spec: EntrySpec, service: Any, method: str | None) -> Entry:
    inner = getattr(service, "inner", None)
    if not isinstance(inner, type):
        raise LoadError(f"{spec.entrypoint} is not a @bentoml.service class")
    apis = getattr(service, "apis", None) or {}
    if method is None:
        names = list(apis)
        if len(names) != 1:
            listed = ", ".join(names) or "none"
            raise LoadError(
                f"service {inner.__qualname__} has {len(names)} @bentoml.api methods ({listed}): "
                "name one in the entry point ('module:Service.method')"
            )
        method = names[0]
    api = apis.get(method)
    function = getattr(api, "func", None) or getattr(inner, method, None)
    if function is None:
        raise LoadError(f"service {inner.__qualname__} has no @bentoml.api method {method!r}")
    params, var_keyword = _signature_params(spec, function, 1)

    def start() -> Call:
        instance = inner()
        bound = function.__get__(instance, inner)
        return lambda inputs: _call_result(bound(**inputs))

    return Entry(
        spec=spec,
        kind="class",
        flavor="bentoml",
        method=method,
        params=params,
        var_keyword=var_keyword,
        streaming=_is_streaming(function),
        starter=start,
    )


# ---------------------------------------------------------------------------- graphs


def _resolve_graph(spec: EntrySpec, graph: Any, flavor: str | None) -> Entry:
    if not hasattr(graph, "invoke") and hasattr(graph, "compile"):
        graph = graph.compile()
    elif not hasattr(graph, "invoke") and callable(graph):
        try:
            graph = graph()
        except TypeError as exc:
            raise LoadError(
                f"{spec.entrypoint} is not a graph and cannot make one: {exc}"
            ) from None
        if hasattr(graph, "compile") and not hasattr(graph, "invoke"):
            graph = graph.compile()
    if not hasattr(graph, "invoke"):
        raise LoadError(f"{spec.entrypoint} has no .invoke(): not a LangGraph graph")
    schema = None
    get_schema = getattr(graph, "get_input_jsonschema", None)
    if callable(get_schema):
        try:
            schema = get_schema()
        except Exception:  # pydantic refuses typing.TypedDict states on Python < 3.12
            schema = None
    if schema is None:
        builder = getattr(graph, "builder", None)
        state = getattr(builder, "input_schema", None) or getattr(builder, "state_schema", None)
        if state is not None:
            try:
                schema = json_schema(state) or None
            except Exception:
                schema = None
    compiled = graph

    def stream_start() -> Call:
        return lambda inputs: compiled.stream(inputs)

    return Entry(
        spec=spec,
        kind="graph",
        flavor=flavor or "langgraph",
        method="invoke",
        convention="dict",
        var_keyword=True,
        whole_body=True,
        schema_override=schema,
        starter=lambda: lambda inputs: _call_result(compiled.invoke(inputs)),
        streamer=stream_start,
    )


# ---------------------------------------------------------------------------- web apps


def _pick_route(spec: EntrySpec, routes: list[str], what: str) -> str:
    templated = any("{" in r or "<" in r for r in routes)
    if spec.route and (spec.route in routes or templated or not routes):
        return spec.route
    if spec.route:
        raise LoadError(
            f"{what} {spec.entrypoint} has no POST route {spec.route} "
            f"(its POST routes: {', '.join(routes)}): name one of them as 'route'"
        )
    if len(routes) == 1:
        return routes[0]
    if not routes:
        raise LoadError(f"{what} {spec.entrypoint} has no POST route: name one as 'route'")
    raise LoadError(
        f"{what} {spec.entrypoint} has {len(routes)} POST routes ({', '.join(routes)}): "
        "name one as 'route'"
    )


def _asgi_schema(app: Any, route: str) -> dict[str, Any] | None:
    openapi = getattr(app, "openapi", None)
    if not callable(openapi):
        return None
    try:
        document = openapi()
        body = document["paths"][route]["post"]["requestBody"]["content"]["application/json"]
        schema = dict(body["schema"])
    except Exception:
        return None
    if "$ref" in json.dumps(schema):
        schema["components"] = document.get("components", {})
    return schema


def _resolve_asgi(spec: EntrySpec, app: Any, flavor: str | None) -> Entry:
    if not callable(app):
        raise LoadError(f"{spec.entrypoint} is not an ASGI app")
    from . import webapps  # asyncio and the web app plumbing: only for web apps

    route = _pick_route(spec, webapps.post_routes_asgi(app), "the app")

    def start() -> Call:
        client = webapps.AsgiClient(app, route)
        client.startup()
        return lambda body: _web_call(client.post, body)

    return _web_entry(spec, "asgi", flavor or "fastapi", route, start, _asgi_schema(app, route))


def _resolve_wsgi(spec: EntrySpec, app: Any, flavor: str | None) -> Entry:
    if not callable(app):
        raise LoadError(f"{spec.entrypoint} is not a WSGI app")
    from . import webapps

    route = _pick_route(spec, webapps.post_routes_wsgi(app), "the app")

    def start() -> Call:
        client = webapps.WsgiClient(app, route)
        return lambda body: _web_call(client.post, body)

    return _web_entry(spec, "wsgi", flavor or "flask", route, start)


def _web_entry(
    spec: EntrySpec,
    kind: str,
    flavor: str,
    route: str,
    start: Callable[[], Call],
    schema: dict[str, Any] | None = None,
) -> Entry:
    """A web app's entry: its one POST route takes the whole body, as the app decides."""
    return Entry(
        spec=spec,
        kind=kind,
        flavor=flavor,
        route=route,
        convention="dict",
        var_keyword=True,
        whole_body=True,
        schema_override=schema,
        starter=start,
    )


def _web_call(post: Callable[[bytes], tuple[int, list[tuple[str, str]], bytes]], body: Any) -> Any:
    from . import webapps

    status, headers, content = post(json.dumps(body).encode())
    if not 200 <= status < 300:
        raise webapps.AppError(status, content)
    return webapps.decode_body(headers, content)


# ---------------------------------------------------------------------------- modal, gradio


def _resolve_modal(spec: EntrySpec, function: Any, flavor: str | None) -> Entry:
    local = getattr(function, "local", None)
    if not callable(local):
        raise LoadError(f"{spec.entrypoint} is not a Modal function (no .local())")
    raw = getattr(function, "_raw_f_", None)  # modal 1.x keeps the decorated function here
    if raw is None:
        raw = getattr(getattr(function, "info", None), "raw_f", None)
    params, var_keyword = _signature_params(spec, raw, 0) if raw else ([], True)
    return Entry(
        spec=spec,
        kind="modal_function",
        flavor="modal",
        method="local",
        params=params,
        var_keyword=var_keyword,
        streaming=_is_streaming(raw) if raw else False,
        starter=lambda: lambda inputs: _call_result(local(**inputs)),
    )


def _gradio_fn(blocks: Any, entrypoint: str) -> Callable[..., Any]:
    fn = getattr(blocks, "fn", None)
    if callable(fn):
        return fn
    fns = getattr(blocks, "fns", None)
    values = list(fns.values()) if isinstance(fns, dict) else list(fns or [])
    functions = [getattr(f, "fn", None) for f in values]
    functions = [f for f in functions if callable(f)]
    if len(functions) != 1:
        names = ", ".join(getattr(f, "__name__", "?") for f in functions) or "none"
        raise LoadError(
            f"{entrypoint} registers {len(functions)} functions ({names}): "
            "name the function itself as the entry point"
        )
    return functions[0]


def _resolve_gradio(spec: EntrySpec, blocks: Any, flavor: str | None) -> Entry:
    function = _gradio_fn(blocks, spec.entrypoint)
    params, var_keyword = _signature_params(spec, function, 0)
    return Entry(
        spec=spec,
        kind="gradio",
        flavor="gradio",
        method=getattr(function, "__name__", None),
        params=params,
        var_keyword=var_keyword,
        streaming=_is_streaming(function),
        starter=lambda: lambda inputs: _call_result(function(**inputs)),
    )


__all__ = [
    "Entry",
    "ImportFailed",
    "LoadError",
    "annotation_text",
    "detect_kind",
    "import_entrypoint",
    "resolve",
    "root_cause",
]
