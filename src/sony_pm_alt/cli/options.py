"""A flag for every setting, generated from the schema in ``settings.py`` (``--dest``,
``--cooldown``, ``--ftp-port`` …), for the commands that read the settings (``sync``, ``watch``).

The flags are added when click first asks for the command's parameters, so that importing the
CLI (``--help`` of another command) does not import the engine. A flag not given is None; the
command passes them all to :func:`~sony_pm_alt.settings.load`, which parses and names them.
"""

from __future__ import annotations

from typing import Any

import click


class SettingsCommand(click.Command):
    """A command whose keyword arguments also hold one value (or None) per setting."""

    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        # Made on each call (a few per run) from the schema itself, never from a copy of it.
        own = self.params
        try:
            self.params = [*own, *(_option(setting) for setting in _settings())]
            return super().get_params(ctx)
        finally:
            self.params = own


def _settings() -> list[Any]:
    from ..settings import all_settings

    return all_settings()


def _option(setting: Any) -> click.Option:
    name = setting.flag[2:].replace("-", "_")
    if setting.type is bool:
        return click.Option([f"{setting.flag}/--no-{setting.flag[2:]}", name], default=None,
                            help=setting.help)  # fmt: skip
    metavar = setting.key.upper() if setting.flag.startswith("--ftp-") else None
    return click.Option([setting.flag, *setting.aliases, name], default=None,
                        help=setting.help, metavar=metavar)  # fmt: skip
