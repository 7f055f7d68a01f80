"""Presentation: what we tell a person (console.text), the one JSON shape of every event
(console.records), and the views of ``sync`` (console.views) and ``watch`` (console.watch)."""

from __future__ import annotations

from .text import shown
from .views import JsonView, PlainView, RichView
from .watch import WatchView

__all__ = ["JsonView", "PlainView", "RichView", "WatchView", "shown"]
