"""The embedded default's file: OTLP/JSON lines written by lc_otel's own exporter, read back as users read them."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import pytest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link, SpanKind, Status, StatusCode, format_span_id, format_trace_id

from lc_otel._cli.traces.file import read_spans_file
from lc_otel._export.file import EncoderMissingError, file_exporter, open_file_exporter
from lc_otel.cli import main


def _write_two_spans(path: Path) -> tuple[str, str, str]:
    """A root and a child (link, event, error status) through the file exporter; their hex ids."""
    provider = TracerProvider(resource=Resource.create({"service.name": "file-test"}))
    provider.add_span_processor(SimpleSpanProcessor(open_file_exporter(path)))
    tracer = provider.get_tracer("file-test-scope", "1.0")
    attributes = {"count": 42, "ratio": 0.5, "ok": True, "names": ["a", "b"], "big": 2**62}
    with tracer.start_as_current_span("root", kind=SpanKind.SERVER, attributes=attributes) as root:  # noqa: SIM117
        with tracer.start_as_current_span("child", links=[Link(root.get_span_context())]) as child:
            child.add_event("retry", {"attempt": 2})
            child.set_status(Status(StatusCode.ERROR, "boom"))
    provider.shutdown()
    return (
        format_trace_id(root.get_span_context().trace_id),
        format_span_id(root.get_span_context().span_id),
        format_span_id(child.get_span_context().span_id),
    )


def _spans(path: Path) -> list[dict[str, object]]:
    found = []
    for line in path.read_text(encoding="utf-8").splitlines():
        request = json.loads(line)
        assert list(request) == ["resourceSpans"]  # one ExportTraceServiceRequest per line
        for resource_spans in request["resourceSpans"]:
            for scope_spans in resource_spans["scopeSpans"]:
                assert scope_spans["scope"] == {"name": "file-test-scope", "version": "1.0"}
                found.extend(scope_spans["spans"])
    return found


def test_the_file_is_otlp_json_with_hex_ids_integer_enums_and_string_int64(tmp_path: Path) -> None:
    path = tmp_path / "spans.jsonl"
    trace_id, root_id, child_id = _write_two_spans(path)
    assert len(path.read_text(encoding="utf-8").splitlines()) == 2  # one line per export batch
    child, root = _spans(path)
    assert (root["traceId"], root["spanId"], root.get("parentSpanId")) == (trace_id, root_id, None)
    assert (child["traceId"], child["spanId"], child["parentSpanId"]) == (trace_id, child_id, root_id)
    assert child["links"] == [{"traceId": trace_id, "spanId": root_id, "flags": 256}]
    assert root["kind"] == 2  # SPAN_KIND_SERVER, as an integer
    assert child["kind"] == 1
    assert child["status"] == {"code": 2, "message": "boom"}
    assert child["events"][0]["name"] == "retry"
    assert child["events"][0]["attributes"] == [{"key": "attempt", "value": {"intValue": "2"}}]
    assert isinstance(root["startTimeUnixNano"], str)
    assert root["attributes"] == [
        {"key": "count", "value": {"intValue": "42"}},
        {"key": "ratio", "value": {"doubleValue": 0.5}},
        {"key": "ok", "value": {"boolValue": True}},
        {"key": "names", "value": {"arrayValue": {"values": [{"stringValue": "a"}, {"stringValue": "b"}]}}},
        {"key": "big", "value": {"intValue": str(2**62)}},
    ]


def test_lc_otel_traces_reads_the_file_back(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "spans.jsonl"
    trace_id, root_id, _ = _write_two_spans(path)
    contents = read_spans_file(path)
    assert contents.bad_lines == []
    by_name = {span.name: span for span in contents.spans}
    assert (by_name["root"].span_id, by_name["root"].parent_id, by_name["root"].kind) == (root_id, None, "SERVER")
    assert (by_name["child"].parent_id, by_name["child"].status) == (root_id, "ERROR")
    assert by_name["root"].attributes["big"] == 2**62
    assert by_name["root"].resource["service.name"] == "file-test"

    assert main(["traces", "--file", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"trace {trace_id}  service file-test  2 spans" in out
    assert "child" in out
    assert "ERROR boom" in out


def test_batches_append_and_a_failing_write_is_logged_once(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    folder = tmp_path / "spans"
    exporter = file_exporter(folder / "out.jsonl")  # creates the directory
    assert exporter is not None
    finished = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(finished))
    for name in ("a", "b", "c", "d", "e"):
        provider.get_tracer("t").start_span(name).end()
    spans = finished.get_finished_spans()
    assert exporter.export([spans[0]]) is SpanExportResult.SUCCESS
    (folder / "out.jsonl").unlink()
    folder.rmdir()  # the file cannot be opened any more
    caplog.clear()
    assert exporter.export([spans[1]]) is SpanExportResult.FAILURE
    assert exporter.export([spans[2]]) is SpanExportResult.FAILURE
    warnings = [r.getMessage() for r in caplog.records if r.name == "lc_otel"]
    assert len(warnings) == 1
    assert "cannot write spans to" in warnings[0]
    assert "FileNotFoundError" in warnings[0]
    folder.mkdir()  # back: written again, and the next failure is news again
    assert exporter.export([spans[3]]) is SpanExportResult.SUCCESS
    assert [s["name"] for s in _spans_any(folder / "out.jsonl")] == ["d"]
    exporter.shutdown()
    assert exporter.export([spans[4]]) is SpanExportResult.FAILURE


def _spans_any(path: Path) -> list[dict[str, object]]:
    return [
        span
        for line in path.read_text(encoding="utf-8").splitlines()
        for resource_spans in json.loads(line)["resourceSpans"]
        for scope_spans in resource_spans["scopeSpans"]
        for span in scope_spans["spans"]
    ]


def test_an_unwritable_path_is_one_warning_and_no_exporter(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "a-file").write_text("")
    assert file_exporter(tmp_path / "a-file" / "spans.jsonl") is None
    warnings = [r.getMessage() for r in caplog.records if r.name == "lc_otel"]
    assert len(warnings) == 1
    assert warnings[0].startswith(f"lc_otel: cannot write spans to {tmp_path / 'a-file' / 'spans.jsonl'} (")


def test_a_missing_encoder_is_one_line_naming_the_package(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setitem(sys.modules, "opentelemetry.exporter.otlp.proto.common.trace_encoder", None)
    with pytest.raises(EncoderMissingError, match="pip install --upgrade opentelemetry-exporter-otlp-proto-common"):
        open_file_exporter(tmp_path / "x.jsonl")
    caplog.set_level(logging.WARNING, logger="lc_otel")
    assert file_exporter(tmp_path / "x.jsonl") is None
    [warning] = [r for r in caplog.records if r.name == "lc_otel"]
    assert "pip install --upgrade opentelemetry-exporter-otlp-proto-common" in warning.getMessage()
    assert warning.exc_info is None

    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", raising=False)
    monkeypatch.delenv("LC_OTEL_ENDPOINT", raising=False)
    monkeypatch.setenv("LC_OTEL_EXPORT_FILE", str(tmp_path / "demo.jsonl"))
    assert main(["demo"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1
    assert "pip install --upgrade opentelemetry-exporter-otlp-proto-common" in err
