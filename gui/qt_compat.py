"""A guard against a PySide6 bug that would abort the editor on Python 3.11.

With PySide6 6.12.0 on Python 3.11, every call of a Qt method that returns
``void`` (``setPos``, ``QPainter.setPen``, …) drops one reference to ``None``.
A few paints of a large canvas make more such calls than ``None`` has
references, and the interpreter aborts with "deallocating None". Python 3.12
made ``None`` immortal, so it is unaffected. Where the bug shows, ``None`` is
given a reserve of references far larger than any session can use up, which
is what 3.12 does for every immortal object. Fixed PySide6 releases pass the
check and are left alone.
"""

from __future__ import annotations

import ctypes
import logging
import sys

log = logging.getLogger(__name__)
RESERVE = 1 << 40  # ~10^12 void calls; a refcount is a 64-bit Py_ssize_t
_PROBE_CALLS = 64
_guarded = False


def void_calls_leak_none() -> bool:
    """True when calling a void Qt method loses a reference to ``None``."""
    from PySide6.QtCore import QPointF

    point = QPointF()
    before = sys.getrefcount(None)
    for _ in range(_PROBE_CALLS):
        point.setX(1.0)
    return sys.getrefcount(None) < before


def guard_none_refcount() -> bool:
    """Apply the guard when this interpreter and PySide6 need it; True when applied."""
    global _guarded
    if _guarded or sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return False
    if not void_calls_leak_none():
        return False
    # ob_refcnt is the first field of every CPython object.
    ctypes.c_ssize_t.from_address(id(None)).value += RESERVE
    _guarded = True
    log.info("PySide6 leaks references to None here; guarded against it")
    return True
