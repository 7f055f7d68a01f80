"""The schema is the one place a setting is declared: file, variables, flags of `sync` and
`watch`, `config show` and the README's table all come from it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import pytest
from click.testing import CliRunner

from sony_pm_alt import settings
from sony_pm_alt.cli import main
from sony_pm_alt.cli.sync import sync
from sony_pm_alt.cli.watch import watch
from sony_pm_alt.settings import CameraSettings, Section, describe, key, load

README = Path(__file__).resolve().parent.parent / "README.md"


class WithColour(CameraSettings, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """[defaults] with one more key: the one edit a new setting needs."""

    colour: Annotated[str, key("The colour of the test.", "a colour name")] = "red"


@pytest.fixture
def colour_schema(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(settings.SECTIONS, "defaults", Section("defaults", WithColour, ""))


@pytest.fixture
def loaded(monkeypatch: pytest.MonkeyPatch) -> list[settings.Settings]:
    """What the commands load; the command stops right after (no camera, no network)."""
    seen: list[settings.Settings] = []
    real = settings.load

    def spy(*args: Any, **kwargs: Any) -> settings.Settings:
        seen.append(real(*args, **kwargs))
        raise SystemExit(0)

    monkeypatch.setattr(settings, "load", spy)
    return seen


def _colour(value: settings.CameraSettings) -> str:
    assert isinstance(value, WithColour)
    return value.colour


@pytest.mark.usefixtures("colour_schema")
def test_a_new_field_is_reachable_from_file_environment_and_flags(
    tmp_path: Path, loaded: list[settings.Settings]
) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[defaults]\ncolour = "blue"\n[[camera]]\nmatch = "1"\n', encoding="utf-8")
    assert _colour(load(path, {}).defaults) == "blue"
    assert _colour(load(path, {}).for_camera("1", "")) == "blue"
    assert _colour(load(path, {"SONY_PM_ALT_COLOUR": "green"}).defaults) == "green"
    assert 'colour = "blue"' in describe(load(path, {}))

    runner = CliRunner()
    for argv in (["sync", "--host", "127.0.0.1"], ["watch"]):
        result = runner.invoke(main, [*argv, "--config", str(path), "--colour", "violet"])
        assert result.exit_code == 0, result.output
        assert _colour(loaded[-1].defaults) == "violet"
        assert loaded[-1].flags_applied == ("--colour",)
    help_text = runner.invoke(main, ["watch", "--help"]).output
    assert "--colour" in help_text
    assert "The colour of the test." in help_text


@pytest.mark.usefixtures("colour_schema")
def test_a_new_field_is_checked_like_the_others(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[defaults]\ncolour = 5\n", encoding="utf-8")
    with pytest.raises(settings.ConfigError) as info:
        load(path, {})
    assert str(info.value) == f"{path}: defaults.colour: must be a colour name, not a number (5)"


def test_sync_and_watch_take_a_flag_for_every_setting_they_use() -> None:
    """watch: every section; sync (one camera at a known address): [defaults]."""
    ctx = main.make_context("sony-pm-alt", ["--help"], resilient_parsing=True)
    for command, sections in ((watch, set(settings.SECTIONS)), (sync, {"defaults"})):
        flags = {opt for param in command.get_params(ctx) for opt in param.opts}
        for setting in settings.all_settings():
            assert (setting.flag in flags) == (setting.section in sections), setting.flag
            assert set(setting.aliases) <= flags


def test_every_variable_is_named_after_its_flag() -> None:
    for variable, setting in settings.ENV_VARS.items():
        assert variable == "SONY_PM_ALT_" + setting.flag[2:].replace("-", "_").upper()


def test_the_readme_lists_every_setting() -> None:
    """The table is generated: `python -c "from sony_pm_alt.settings import markdown_table as
    t; print(t())"` prints the text to paste."""
    assert settings.markdown_table() in README.read_text(encoding="utf-8")
