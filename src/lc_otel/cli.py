"""The ``lc-otel`` command: ``demo`` shows a traced LangChain run, ``traces`` finds spans by tag.

Every failure the user can cause or meet (a bad argument, an unreachable or hostile server, an unreadable or
corrupt file) ends in one line on stderr and a non-zero exit status, never a traceback: 2 for bad arguments,
1 for everything else. Text that comes from data (span names, server messages, paths) is printed with its
control characters escaped, so it can neither forge output lines nor send commands to the terminal.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from collections.abc import Callable, Sequence
from typing import Final, NoReturn, TextIO, TypeVar

from lc_otel._cli.http import (
    DEFAULT_MAX_BYTES,
    DEFAULT_TIMEOUT_SECONDS,
    check_url,
    display_url,
    format_size,
    parse_size,
    url_problem,
)
from lc_otel._cli.terminal import printable, shorten, write_line
from lc_otel._cli.traces.file import read_spans_file
from lc_otel._cli.traces.jaeger_client import DEFAULT_JAEGER_URL, JaegerError, Limits, search_jaeger
from lc_otel._cli.traces.json_out import traces_to_json
from lc_otel._cli.traces.model import Span
from lc_otel._cli.traces.query import AttrFilter, Query, parse_duration, search
from lc_otel._cli.traces.tree import write_traces
from lc_otel._version import __version__

PROG: Final = "lc-otel"
EXIT_OK: Final = 0
EXIT_FAILURE: Final = 1
EXIT_USAGE: Final = 2
_MAX_BAD_LINES_SHOWN: Final = 10
LC_OTEL_JAEGER_URL: Final = "LC_OTEL_JAEGER_URL"
"""Default for ``lc-otel traces --jaeger``."""


class _Parser(argparse.ArgumentParser):
    # argparse prints the whole usage on an error; one line says it better and keeps scripts' logs short.
    # Its messages quote the arguments as typed ("unrecognized arguments: ..."), so they are escaped too.
    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {shorten(message, 400)} (see --help)\n")


def _quoted(text: str) -> str:
    return f"'{shorten(text, 60)}'"


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:  # also for integers of thousands of digits
        raise argparse.ArgumentTypeError(f"not a whole number: {_quoted(text)}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {_quoted(text)}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        try:
            value = parse_duration(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number of seconds: {_quoted(text)}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds: {_quoted(text)}")
    return value


_T = TypeVar("_T")


def _argument(parse: Callable[[str], _T]) -> Callable[[str], _T]:
    """An argparse type: ``parse``, with the ValueError it raises for bad text as argparse's usage error."""

    def convert(text: str) -> _T:
        try:
            return parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return convert


_size = _argument(parse_size)
_jaeger_url = _argument(check_url)
_duration = _argument(parse_duration)
_attr = _argument(AttrFilter.parse)


def _endpoint(text: str) -> str:
    # What configure() accepts: an http(s) URL, or a bare host:port meaning http://host:port.
    url = text.strip()
    problem = url_problem(url if "://" in url else f"http://{url}")
    if problem is not None:
        raise argparse.ArgumentTypeError(f"{problem}: '{display_url(url)}' (expected e.g. http://localhost:4317)")
    return url


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``lc-otel``."""
    parser = _Parser(prog=PROG, description="OpenTelemetry tracing for LangChain: demo and span search.")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    demo = commands.add_parser(
        "demo",
        help="run a small offline LangChain app with tracing and show its trace",
        description="Run a built-in offline LangChain app (prompt, chat model, tool call, retriever, a streamed "
        "answer, a failing tool) with tracing, and show the trace as a tree. Without an endpoint the spans go "
        "to an OTLP-JSON-lines file (LC_OTEL_EXPORT_FILE, default lc-otel-spans.jsonl).",
    )
    demo.add_argument("--endpoint", type=_endpoint, help="export over OTLP to this URL (e.g. http://localhost:4317)")
    demo.add_argument(
        "--protocol", choices=("grpc", "http/protobuf"), help="OTLP protocol (default: from the endpoint)"
    )
    demo.add_argument(
        "--tag", dest="tags", action="append", default=[], metavar="T", help="add a tag to the run (repeatable)"
    )

    traces = commands.add_parser(
        "traces",
        help="find spans by tag or attribute and print their traces",
        description="Find spans by tag and attribute, in Jaeger or in a local OTLP-JSON-lines file, and print "
        "them in their trace trees (matches marked with ») or as JSON. All conditions must hold on one span.",
    )
    source = traces.add_mutually_exclusive_group()
    source.add_argument(
        "--jaeger",
        type=_jaeger_url,
        metavar="URL",
        help=f"Jaeger query URL (default: ${LC_OTEL_JAEGER_URL} or {DEFAULT_JAEGER_URL}); "
        "user:password@ in it is sent as Basic authentication",
    )
    source.add_argument("--file", metavar="PATH", help="read an OTLP-JSON-lines file (as `lc-otel demo` writes)")
    traces.add_argument("--service", metavar="S", help="resource service.name")
    traces.add_argument(
        "--tag",
        dest="tags",
        action="append",
        default=[],
        metavar="T",
        help="LangChain tag: matches langchain.tag.T=true (repeatable)",
    )
    traces.add_argument(
        "--attr",
        dest="attrs",
        action="append",
        default=[],
        type=_attr,
        metavar="KEY=VALUE",
        help="attribute value; true/false and numbers are typed (repeatable)",
    )
    traces.add_argument(
        "--since", type=_duration, metavar="DURATION", help="only spans started this long ago: 30m, 1h, 2d"
    )
    traces.add_argument(
        "--limit", type=_positive_int, default=20, metavar="N", help="at most N traces, newest first (20)"
    )
    traces.add_argument("--json", action="store_true", help="print JSON instead of trees")
    traces.add_argument(
        "--timeout",
        type=_seconds,
        default=DEFAULT_TIMEOUT_SECONDS,
        metavar="SECONDS",
        help=f"give up on Jaeger (or on a pipe's writer) after this long, overall ({DEFAULT_TIMEOUT_SECONDS:g})",
    )
    traces.add_argument(
        "--max-bytes",
        type=_size,
        default=DEFAULT_MAX_BYTES,
        metavar="SIZE",
        help=f"largest Jaeger answer, or file line, read: 1048576, 512k, 64M ({format_size(DEFAULT_MAX_BYTES)})",
    )
    from lc_otel._cli import replay

    replay.add_parser(commands, _endpoint, _seconds, _size)
    return parser


def _say(message: str) -> None:
    # Escaping is idempotent (escapes are printable), so parts escaped earlier stay as they are.
    write_line(sys.stderr, f"{PROG}: {printable(message)}")


def _fail(message: str) -> int:
    _say(message)
    return EXIT_FAILURE


def _read_file(path: str, args: argparse.Namespace) -> list[Span] | str:
    shown = shorten(path)
    try:
        contents = read_spans_file(path, max_line_bytes=args.max_bytes, pipe_wait=args.timeout)
    except IsADirectoryError:
        return f"cannot read {shown}: it is a directory"
    except OSError as exc:
        return f"cannot read {shown}: {exc.strerror or exc}"
    for bad in contents.bad_lines[:_MAX_BAD_LINES_SHOWN]:
        _say(f"{shown}:{bad.number}: skipped a corrupt line: {bad.reason}")
    hidden = len(contents.bad_lines) - _MAX_BAD_LINES_SHOWN
    if hidden > 0:
        _say(f"{shown}: skipped {hidden} more corrupt lines")
    if contents.lines and len(contents.bad_lines) == contents.lines:
        return f"{shown} holds no OTLP JSON lines ({contents.lines} lines, none readable)"
    return contents.spans


def _run_traces(args: argparse.Namespace, stdout: TextIO) -> int:
    query = Query(
        service=args.service,
        tags=tuple(args.tags),
        attrs=tuple(args.attrs),
        since_seconds=args.since,
        limit=args.limit,
    )
    now_ns = time.time_ns()
    if args.file is not None:
        spans = _read_file(args.file, args)
        if isinstance(spans, str):
            return _fail(spans)
    else:
        url = args.jaeger or os.environ.get(LC_OTEL_JAEGER_URL, "").strip() or DEFAULT_JAEGER_URL
        if args.jaeger is None:
            try:
                check_url(url)
            except ValueError as exc:
                _say(f"{LC_OTEL_JAEGER_URL}: {exc}")
                return EXIT_USAGE
        try:
            spans = search_jaeger(url, query, now_ns=now_ns, limits=Limits(args.timeout, args.max_bytes))
        except JaegerError as exc:
            return _fail(str(exc))
    result = search(query, spans, now_ns=now_ns)
    if args.json:
        json.dump(traces_to_json(result.traces, result.matched), stdout, indent=2)
        stdout.write("\n")
    elif result.traces:
        write_traces(result.traces, stdout, matched=result.matched)
    if not result.traces:
        _say("no matching spans")
    return EXIT_OK


def _run_demo(args: argparse.Namespace) -> int:
    from lc_otel._cli.demo import run  # LangChain is imported only when the demo runs

    return run(args.endpoint, args.protocol, tuple(args.tags))


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``lc-otel`` with ``argv`` (default: the process arguments) and return the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version and usage errors
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    try:
        if args.command == "replay":
            from lc_otel._cli import replay

            return replay.run(args)
        if args.command == "demo":
            return _run_demo(args)
        return _run_traces(args, sys.stdout)
    except KeyboardInterrupt:
        return _fail("interrupted")
    except BrokenPipeError:
        # `lc-otel traces | head`: the reader left; nothing more to say.
        return EXIT_OK
    except Exception as exc:  # noqa: BLE001 (the last guard of "never a traceback"; every known case is handled)
        return _fail(f"internal error, please report it: {type(exc).__name__}: {shorten(str(exc))}")
