"""Reading histogram points out of an ``InMemoryMetricReader``, keyed by metric name and attributes."""

from __future__ import annotations

import dataclasses
from typing import Any

from opentelemetry.sdk.metrics.export import HistogramDataPoint, InMemoryMetricReader


@dataclasses.dataclass(frozen=True)
class Point:
    """One histogram point: its attributes, count, sum and bucket layout."""

    attributes: dict[str, Any]
    count: int
    sum: float
    bounds: tuple[float, ...]
    bucket_counts: tuple[int, ...]


def histogram_points(reader: InMemoryMetricReader) -> dict[str, list[Point]]:
    """Every histogram point the reader collects now, by metric name (with its unit checked by callers)."""
    out: dict[str, list[Point]] = {}
    data = reader.get_metrics_data()
    if data is None:
        return out
    for resource_metrics in data.resource_metrics:
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                for point in metric.data.data_points:
                    assert isinstance(point, HistogramDataPoint), metric.name
                    out.setdefault(metric.name, []).append(
                        Point(
                            dict(point.attributes or {}),
                            point.count,
                            point.sum,
                            tuple(point.explicit_bounds),
                            tuple(point.bucket_counts),
                        )
                    )
    return out


def units(reader: InMemoryMetricReader) -> dict[str, str]:
    """Metric name → unit, for what the reader collects now."""
    data = reader.get_metrics_data()
    assert data is not None
    return {
        metric.name: metric.unit or ""
        for resource_metrics in data.resource_metrics
        for scope_metrics in resource_metrics.scope_metrics
        for metric in scope_metrics.metrics
    }


def point(points: dict[str, list[Point]], name: str, **attributes: Any) -> Point:
    """The one point of ``name`` whose attributes include ``attributes`` (dots spelled as ``__``)."""
    wanted = {key.replace("__", "."): value for key, value in attributes.items()}
    found = [p for p in points.get(name, []) if all(p.attributes.get(k) == v for k, v in wanted.items())]
    assert len(found) == 1, (name, wanted, points.get(name))
    return found[0]
