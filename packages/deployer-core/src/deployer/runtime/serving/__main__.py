"""`python -m deployer_runtime serve|inspect`: serve an entry point, or print its interface.

Exit codes (the runners rely on them): 0 stopped cleanly; 2 bad arguments, spec or token;
3 importing the entry point failed (`inspect`, or `serve --fail-fast-load`); 4 the entry point
imported but cannot be served as described (`inspect`, or `serve --fail-fast-load`);
97 cannot listen on the address; 98 the port is in use.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import pathlib
import signal
import stat
import sys
import threading
import traceback
from collections.abc import Callable
from typing import Any

from . import SPEC_FILE
from .loader import ImportFailed, LoadError, resolve
from .observe import AccessLog
from .server import Handler, Runtime, RuntimeServer, Settings
from .spec import EntrySpec, SpecError, read_spec

EXIT_USAGE = 2
EXIT_IMPORT_FAILED = 3
EXIT_LOAD_FAILED = 4
EXIT_BIND_FAILED = 97
EXIT_PORT_IN_USE = 98
TOKEN_ENV = "DEPLOYER_RUNTIME_TOKEN"
WORKSPACE = pathlib.Path(__file__).resolve().parent.parent


class Terminated(BaseException):
    """Raised by the SIGTERM/SIGINT handler to leave serve_forever cleanly."""


def _terminate(signum: int, frame: Any) -> None:
    raise Terminated()


def _number(text: str, kind: Callable[[str], Any], what: str) -> Any:
    """`text` read as `kind` (int or float); an argparse error naming `what` it should be."""
    try:
        return kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None


def _port(text: str) -> int:
    value = _number(text, int, "a port number")
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port {value} is not between 0 and 65535")
    return value


def _positive(text: str) -> float:
    value = _number(text, float, "a number")
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} must be a finite number above 0")
    return value


def _count(text: str) -> int:
    value = _number(text, int, "a whole number")
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="python -m deployer_runtime", description=__doc__.splitlines()[0]
    )
    commands = top.add_subparsers(dest="command", required=True)
    for name in ("serve", "inspect"):
        sub = commands.add_parser(name)
        sub.add_argument(
            "--workspace",
            type=pathlib.Path,
            default=None,
            help="the adapted solution (default: the folder holding deployer_runtime)",
        )
        sub.add_argument(
            "--spec",
            type=pathlib.Path,
            default=None,
            help=f"entry spec JSON (default: WORKSPACE/{SPEC_FILE})",
        )
        sub.add_argument("--entrypoint", default=None, help="'module:name', instead of a spec file")
        sub.add_argument("--calling-convention", choices=["dict", "kwargs"], default=None)
        if name == "inspect":
            continue
        sub.add_argument("--host", default="127.0.0.1")
        sub.add_argument("--port", type=_port, default=0, help="0 lets the OS choose a free port")
        sub.add_argument(
            "--port-file", type=pathlib.Path, default=None, help="where to write the bound port"
        )
        sub.add_argument(
            "--token-file",
            type=pathlib.Path,
            default=None,
            help=f"file holding the bearer token (mode 0600); else ${TOKEN_ENV}",
        )
        sub.add_argument(
            "--no-auth", action="store_true", help="serve without a token (development only)"
        )
        sub.add_argument(
            "--allow-host",
            action="append",
            default=[],
            help="another accepted Host header value (repeatable; '*' accepts any)",
        )
        sub.add_argument(
            "--max-body",
            type=_count,
            default=32 * 1024 * 1024,
            help="request body limit in bytes (default 32 MiB)",
        )
        sub.add_argument(
            "--run-timeout",
            type=_positive,
            default=300.0,
            help="seconds a call may take before a 504 envelope (default 300)",
        )
        sub.add_argument(
            "--max-concurrency", type=_count, default=64, help="calls running at once (default 64)"
        )
        sub.add_argument(
            "--queue-timeout",
            type=_positive,
            default=2.0,
            help="seconds a call waits for a slot before a 429 envelope (default 2)",
        )
        sub.add_argument(
            "--idle-timeout",
            type=_positive,
            default=30.0,
            help="seconds an idle keep-alive connection stays open (default 30)",
        )
        sub.add_argument(
            "--fail-fast-load",
            action="store_true",
            help="exit (3 or 4) when loading fails instead of reporting it on /readyz",
        )
    return top


def _spec(args: argparse.Namespace, workspace: pathlib.Path) -> EntrySpec:
    if args.spec is None and args.entrypoint:
        data: dict[str, Any] = {"entrypoint": args.entrypoint}
    else:
        spec = read_spec(args.spec or workspace / SPEC_FILE)
        data = {**spec.__dict__}
        if args.entrypoint:
            data["entrypoint"] = args.entrypoint
    if args.calling_convention:
        data["calling_convention"] = args.calling_convention
    return EntrySpec.from_dict(data)


def _enter(workspace: pathlib.Path) -> None:
    """Import the solution from the workspace, with it as the working directory."""
    os.chdir(workspace)
    if str(workspace) not in sys.path:
        sys.path.insert(0, str(workspace))


def _read_token(args: argparse.Namespace) -> bytes | None:
    if args.token_file is not None:
        try:
            info = args.token_file.stat()
            token = args.token_file.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise SpecError(f"cannot read the token file {args.token_file}: {exc}") from None
        if stat.S_IMODE(info.st_mode) & 0o077:
            raise SpecError(
                f"the token file {args.token_file} must be readable by its owner only: chmod 600 it"
            )
    else:
        token = os.environ.get(TOKEN_ENV, "").strip()
    os.environ.pop(TOKEN_ENV, None)  # the solution's code has no business reading it
    if not token:
        if args.no_auth:
            return None
        raise SpecError(
            f"no token: pass --token-file (mode 0600) or set {TOKEN_ENV} (or --no-auth)"
        )
    if not token.isascii() or any(c.isspace() for c in token):
        raise SpecError("the token must be printable ASCII without spaces")
    return token.encode("ascii")


def inspect_command(args: argparse.Namespace) -> int:
    workspace = (args.workspace or WORKSPACE).resolve()
    try:
        spec = _spec(args, workspace)
    except SpecError as exc:
        sys.stderr.write(f"{exc}\n")
        return EXIT_USAGE
    _enter(workspace)
    real_stdout = sys.stdout
    sys.stdout = sys.stderr  # a module that prints at import must not corrupt the JSON
    try:
        entry = resolve(spec)
        description = entry.describe()
    except ImportFailed as exc:
        sys.stdout = real_stdout
        sys.stderr.write(f"{exc}\n")
        traceback.print_exception(type(exc.root), exc.root, exc.root.__traceback__, file=sys.stderr)
        return EXIT_IMPORT_FAILED
    except LoadError as exc:
        sys.stdout = real_stdout
        sys.stderr.write(f"{exc}\n")
        return EXIT_LOAD_FAILED
    except Exception as exc:
        sys.stdout = real_stdout
        sys.stderr.write(
            f"reading the interface of {spec.entrypoint} failed: {type(exc).__name__}: {exc}\n"
        )
        return EXIT_LOAD_FAILED
    finally:
        sys.stdout = real_stdout
    real_stdout.write(json.dumps(description, indent=2, default=repr) + "\n")
    real_stdout.flush()
    return 0


def _allowed_hosts(args: argparse.Namespace, port: int) -> frozenset[str] | None:
    if "*" in args.allow_host:
        return None
    hosts = {f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}"}
    if args.host not in ("0.0.0.0", "", "::"):
        hosts.add(f"{args.host}:{port}")
    hosts.update(h.strip().lower() for h in args.allow_host)
    return frozenset(h.lower() for h in hosts)


def _write_port_file(path: pathlib.Path, port: int) -> None:
    """Write then rename, so the runner never reads a half-written port number."""
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    temporary.write_text(f"{port}\n", encoding="utf-8")
    os.replace(temporary, path)


def serve_command(args: argparse.Namespace) -> int:
    log = AccessLog()
    workspace = (args.workspace or WORKSPACE).resolve()
    try:
        spec = _spec(args, workspace)
        token = _read_token(args)
    except SpecError as exc:
        log.now(str(exc))
        return EXIT_USAGE
    settings = Settings(
        host=args.host,
        port=args.port,
        token=token,
        max_body=args.max_body,
        run_timeout=args.run_timeout,
        max_concurrency=args.max_concurrency,
        queue_timeout=args.queue_timeout,
        idle_timeout=args.idle_timeout,
    )
    _enter(workspace)
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGINT, _terminate)
    Handler.timeout = settings.idle_timeout
    try:
        server = RuntimeServer((args.host, args.port), Handler)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            log.now(f"port {args.port} is already in use")
            return EXIT_PORT_IN_USE
        log.now(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}")
        return EXIT_BIND_FAILED
    port = server.server_address[1]
    settings.port = port
    settings.allowed_hosts = _allowed_hosts(args, port)
    runtime = Runtime(settings, log)
    server.runtime = runtime
    if token is None:
        log.now("warning: serving WITHOUT a token (--no-auth)")
    if args.port_file:
        _write_port_file(args.port_file, port)
    log.now(f"listening on http://{args.host}:{port} (pid {os.getpid()})")
    failed_code: list[int] = []

    def load() -> None:
        runtime.load(spec)
        if runtime.status == "failed" and args.fail_fast_load:
            importing = (runtime.error or "").startswith("importing ")
            failed_code.append(EXIT_IMPORT_FAILED if importing else EXIT_LOAD_FAILED)
            server.shutdown()

    threading.Thread(target=load, name="deployer-runtime-load", daemon=True).start()
    try:
        server.serve_forever(poll_interval=0.5)
    except Terminated:
        pass
    finally:
        server.server_close()
        log.now("stopped")
    return failed_code[0] if failed_code else 0


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command == "inspect":
        return inspect_command(args)
    return serve_command(args)


if __name__ == "__main__":
    sys.exit(main())
