"""A flag for every setting, generated from the schema in ``settings.py`` (``--dest``,
``--cooldown``, ``--ftp-port`` …), for the commands that read the settings (``sync``, ``watch``).

The flags are made when click asks for the command's parameters, so that importing the CLI
(``--help`` of another command) does not import the engine. A flag not given is None; the
command passes them all to :func:`~sony_pm_alt.settings.load`, which parses and names them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import click


class SettingsCommand(click.Command):
    """A command whose keyword arguments also hold one value (or None) per setting of the
    config ``sections`` it uses (None: all), or only the ``keys`` named."""

    def __init__(
        self,
        *args: Any,
        sections: Sequence[str] | None = None,
        keys: Sequence[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.sections, self.keys = sections, keys

    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        # Made on each call (a few per run) from the schema itself, never from a copy of it.
        from ..settings import all_settings

        own = self.params
        wanted = [s for s in all_settings() if (self.sections is None or s.section in self.sections)
                  and (self.keys is None or s.key in self.keys)]  # fmt: skip
        try:
            self.params = [*own, *(_option(setting) for setting in wanted)]
            return super().get_params(ctx)
        finally:
            self.params = own


def _option(setting: Any) -> click.Option:
    name = setting.flag[2:].replace("-", "_")
    if setting.type is bool:
        flags = f"{setting.flag}/--no-{setting.flag[2:]}"
        return click.Option([flags, name], default=None, help=setting.help)
    return click.Option([setting.flag, *setting.aliases, name], default=None,
                        help=setting.help, metavar=setting.key.upper())  # fmt: skip
