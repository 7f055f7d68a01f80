"""What the commands share: loading the config. (The error boundary, exit statuses and
cancellation by signal are in ``errors.py``.)"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from .errors import ExitCode, fail

if TYPE_CHECKING:
    from ..config import Config


def load_config_or_exit(config_path: Path | None, **flags: object) -> Config:
    from ..config import ConfigError, apply_overrides, load_config

    try:
        return apply_overrides(load_config(config_path), **flags)
    except ConfigError as exc:
        fail(str(exc), ExitCode.BAD_INPUT)
