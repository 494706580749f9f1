"""Which system libraries Qt's platform plugins need, and how to install them.

Qt aborts with a bare message when a library of its platform plugin is missing.
We look first and name the Debian/Ubuntu packages to install instead. This file
imports no Qt and runs under any Python 3 (the Makefile calls it before the
virtual environment exists): ``python3 gui/system_check.py [--offscreen] [--install]``.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import sys

# Library → Debian package. "offscreen" needs the first group; a real window (xcb) all.
OFFSCREEN_LIBS = {
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libfontconfig.so.1": "libfontconfig1",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libdbus-1.so.3": "libdbus-1-3",
}
XCB_LIBS = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-randr.so.0": "libxcb-randr0",
}


def missing_packages(offscreen: bool = False) -> list[str]:
    """Debian packages whose libraries cannot be loaded (Linux only; else empty)."""
    if not sys.platform.startswith("linux"):
        return []
    libs = dict(OFFSCREEN_LIBS)
    if not offscreen:
        libs.update(XCB_LIBS)
    missing = []
    for lib, package in libs.items():
        try:
            ctypes.CDLL(lib)
        except OSError:
            missing.append(package)
    return missing


def install_hint(packages: list[str]) -> str:
    return "sudo apt-get install -y " + " ".join(packages)


def has_display() -> bool:
    """Whether a window can be shown (always true off Linux)."""
    if not sys.platform.startswith("linux"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _install(packages: list[str]) -> bool:
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return False
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], check=False, env=env)
    done = subprocess.run(["apt-get", "install", "-y", "-qq", *packages], check=False, env=env)
    return done.returncode == 0


def main(argv: list[str]) -> int:
    offscreen = "--offscreen" in argv
    missing = missing_packages(offscreen)
    if not missing:
        return 0
    if "--install" in argv and _install(missing) and not missing_packages(offscreen):
        return 0
    print("Qt needs system libraries that are missing. Install them with:\n  "
          + install_hint(missing), file=sys.stderr)
    return 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
