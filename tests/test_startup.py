"""Start-up stays lazy: `--help` and the CLI module load neither python-gphoto2, rich nor the
engine; the library API still offers every public name (imported on first use)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import sony_pm_alt

HEAVY = ("gphoto2", "rich", "sony_pm_alt.engine.sync", "sony_pm_alt.engine.session", "asyncio")


def _loaded_after(code: str) -> set[str]:
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", probe], check=True, capture_output=True, text=True, timeout=60
    ).stdout
    return set(json.loads(out.splitlines()[-1]))


def test_cli_module_and_help_import_nothing_heavy() -> None:
    loaded = _loaded_after(
        "import sys\nfrom sony_pm_alt.cli import main\nsys.argv = ['sony-pm-alt', '--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass"
    )
    assert "sony_pm_alt.cli" in loaded
    assert not loaded & set(HEAVY), loaded & set(HEAVY)


def test_json_view_does_not_need_rich() -> None:
    loaded = _loaded_after("from sony_pm_alt.console import JsonView, PlainView")
    assert "rich" not in loaded


def test_every_public_name_still_resolves() -> None:
    for name in sony_pm_alt.__all__:
        assert getattr(sony_pm_alt, name) is not None, name
    from sony_pm_alt.engine.sync import sync

    assert sony_pm_alt.sync is sync


def test_unknown_attribute_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_name"):
        sony_pm_alt.no_such_name  # noqa: B018
