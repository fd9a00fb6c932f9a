"""The ``lc-otel`` command: ``demo`` shows a traced LangChain run, ``traces`` finds spans by tag.

Every failure the user can cause or meet (a bad argument, an unreachable server, an unreadable file) ends
in one line on stderr and a non-zero exit status, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from typing import Final, NoReturn, TextIO

from lc_otel._cli.traces.file import read_spans_file
from lc_otel._cli.traces.jaeger_client import DEFAULT_JAEGER_URL, JaegerError, search_jaeger
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
    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {text!r}")
    return value


def _duration(text: str) -> float:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _attr(text: str) -> AttrFilter:
    try:
        return AttrFilter.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


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
    demo.add_argument("--endpoint", help="export over OTLP to this URL (e.g. http://localhost:4317)")
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
        metavar="URL",
        help=f"Jaeger query URL (default: ${LC_OTEL_JAEGER_URL} or {DEFAULT_JAEGER_URL})",
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
    return parser


def _fail(message: str) -> int:
    print(f"{PROG}: {message}", file=sys.stderr)
    return EXIT_FAILURE


def _read_file(path: str) -> list[Span] | str:
    try:
        contents = read_spans_file(path)
    except IsADirectoryError:
        return f"cannot read {path}: it is a directory"
    except OSError as exc:
        return f"cannot read {path}: {exc.strerror or exc}"
    for bad in contents.bad_lines[:_MAX_BAD_LINES_SHOWN]:
        print(f"{PROG}: {path}:{bad.number}: skipped a corrupt line: {bad.reason}", file=sys.stderr)
    hidden = len(contents.bad_lines) - _MAX_BAD_LINES_SHOWN
    if hidden > 0:
        print(f"{PROG}: {path}: skipped {hidden} more corrupt lines", file=sys.stderr)
    if contents.lines and len(contents.bad_lines) == contents.lines:
        return f"{path} holds no OTLP JSON lines ({contents.lines} lines, none readable)"
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
        spans = _read_file(args.file)
        if isinstance(spans, str):
            return _fail(spans)
    else:
        url = args.jaeger or os.environ.get(LC_OTEL_JAEGER_URL) or DEFAULT_JAEGER_URL
        try:
            spans = search_jaeger(url, query, now_ns=now_ns)
        except JaegerError as exc:
            return _fail(str(exc))
    result = search(query, spans, now_ns=now_ns)
    if args.json:
        json.dump(traces_to_json(result.traces, result.matched), stdout, indent=2)
        stdout.write("\n")
    elif result.traces:
        write_traces(result.traces, stdout, matched=result.matched)
    if not result.traces:
        print(f"{PROG}: no matching spans", file=sys.stderr)
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
        if args.command == "demo":
            return _run_demo(args)
        return _run_traces(args, sys.stdout)
    except KeyboardInterrupt:
        return _fail("interrupted")
    except BrokenPipeError:
        # `lc-otel traces | head`: the reader left; nothing more to say.
        return EXIT_OK
