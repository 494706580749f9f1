"""Icons drawn for the theme: enabled icons stand out, disabled ones recede."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QIcon

from gui.resources import icon


def _lightness(qicon: QIcon, mode: QIcon.Mode) -> float:
    image = qicon.pixmap(24, 24, mode).toImage()
    values = [image.pixelColor(x, y) for x in range(24) for y in range(24)]
    inked = [c.lightnessF() for c in values if c.alphaF() > 0.5]
    assert inked, "the icon drew nothing"
    return sum(inked) / len(inked)


@pytest.mark.parametrize("name", ["undo", "train", "stop"])
def test_dark_icons_are_light_and_dim_when_disabled(qtbot, name):
    drawn = icon(name, "dark")
    assert _lightness(drawn, QIcon.Mode.Disabled) < _lightness(drawn, QIcon.Mode.Normal)
    if name == "undo":
        assert _lightness(drawn, QIcon.Mode.Normal) > 0.7  # ink that reads on #25282e


@pytest.mark.parametrize("name", ["undo", "train", "stop"])
def test_light_icons_are_dark_and_pale_when_disabled(qtbot, name):
    drawn = icon(name, "light")
    assert _lightness(drawn, QIcon.Mode.Disabled) > _lightness(drawn, QIcon.Mode.Normal)


def test_switching_theme_redraws_the_toolbar_icons(window):
    undo = window.window_actions.undo
    window.set_theme("dark")
    dark = _lightness(undo.icon(), QIcon.Mode.Normal)
    window.set_theme("light")
    assert _lightness(undo.icon(), QIcon.Mode.Normal) < dark
