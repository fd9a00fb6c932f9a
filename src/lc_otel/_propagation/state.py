"""Whether context propagation is on.

A flag of its own so the wrappers (which read it on every call) and :mod:`.install` (which sets it) need not
import each other. A wrapper someone else wrapped after us cannot be removed on ``uninstall``; reading this
flag turns it into a pass-through.
"""

from __future__ import annotations

active: bool = False
"""Set by :func:`lc_otel._propagation.install.install` and ``uninstall``; read on every wrapped call."""
