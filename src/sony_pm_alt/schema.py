"""How a setting is declared: its metadata (:func:`key`) and the context its text is read in.

``settings.py`` reads every section of the schema; a section declared elsewhere (``[ftp]`` in
``ftp/settings.py``) uses the same pieces.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import msgspec


@dataclasses.dataclass(frozen=True)
class Context:
    """Relative paths are read against ``base`` (the config file's folder; None: the current
    one), ``$VARS`` from ``environ``."""

    base: Path | None
    environ: Mapping[str, str]


Parse = Callable[[object, Context], object]
_VARIABLE = re.compile(r"\$(?:\{([^}]*)\}|([A-Za-z_][A-Za-z0-9_]*))")


def text_value(value: object, lists: bool = False) -> str:
    """The text of a value; TypeError (msgspec then names the type) for any other type."""
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if lists and isinstance(value, list) and all(isinstance(item, str) for item in value):
        value = ",".join(value)  # filters may be TOML arrays
    if not isinstance(value, str):
        raise TypeError
    return value


def expand(text: str, context: Context) -> Path:
    """``~`` and ``$VAR``/``${VAR}`` expanded, made absolute. An unset variable is an error:
    a literal ``$NAS`` folder is never what was meant."""
    if text == "~" or text.startswith("~/"):
        text = (context.environ.get("HOME") or str(Path.home())) + text[1:]
    elif text.startswith("~"):
        text = os.path.expanduser(text)

    def variable(match: re.Match[str]) -> str:
        value = context.environ.get(match.group(1) or match.group(2))
        if value is None:
            raise ValueError(f"{match.group(0)} in {text!r} is not set in the environment")
        return value

    path = Path(_VARIABLE.sub(variable, text))
    return Path(os.path.normpath((context.base or Path.cwd()) / path))


def path_value(value: object, context: Context) -> Path:
    """A parser for a path setting."""
    return expand(text_value(value), context)


def key(
    help: str,
    expect: str,
    parse: Parse | None = None,
    *,
    aliases: tuple[str, ...] = (),
    gt: float | None = None,
    ge: float | None = None,
    le: float | None = None,
) -> msgspec.Meta:
    """A setting's metadata: ``help`` for flags and docs, ``expect`` for "must be …" messages,
    ``parse`` for text msgspec cannot check, older flag spellings in ``aliases``."""
    limits: dict[str, Any] = {
        k: v for k, v in (("gt", gt), ("ge", ge), ("le", le)) if v is not None
    }
    extra = {"expect": expect, "parse": parse, "aliases": aliases}
    meta: msgspec.Meta = msgspec.Meta(description=help, extra=extra, **limits)
    return meta
