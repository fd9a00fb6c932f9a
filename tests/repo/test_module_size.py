"""Every module of the package does one job, small enough to read in one sitting."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parents[2] / "src" / "lc_otel"
_MAX_LINES = 400


def test_no_module_over_400_lines() -> None:
    """A module that grows past the limit is split by job (docs/design.md maps where each job lives)."""
    sizes = {
        path.relative_to(_PACKAGE).as_posix(): len(path.read_text(encoding="utf-8").splitlines())
        for path in _PACKAGE.rglob("*.py")
    }
    assert len(sizes) > 50  # the walk found the package
    assert {name: lines for name, lines in sizes.items() if lines > _MAX_LINES} == {}
