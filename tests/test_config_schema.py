"""The schema is the one place a setting is declared: file, variables, flags of `sync` and
`watch`, `config show` and the README's table all come from it."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import pytest
from click.testing import CliRunner

from sony_pm_alt import settings
from sony_pm_alt.cli import main
from sony_pm_alt.cli.sync import sync
from sony_pm_alt.cli.watch import watch
from sony_pm_alt.engine.model import Kind
from sony_pm_alt.engine.naming import Template
from sony_pm_alt.schema import key
from sony_pm_alt.settings import CameraSettings, Section, describe, load

README = Path(__file__).resolve().parent.parent / "README.md"


class WithColour(CameraSettings, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """[defaults] with one more key: the one edit a new setting needs."""

    colour: Annotated[str, key("The colour of the test.", "a colour name")] = "red"


@pytest.fixture
def colour_schema(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(settings.SECTIONS, "defaults", Section(WithColour, ""))


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


# --- sync and watch read the same settings ------------------------------------------------------

GUID = "ff:ff:52:54:00:b6:fd:a9:ff:ff:52:3c:28:07:a9:3a"


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No config, variable or state of whoever runs the tests; the config file to write."""
    for variable in [v for v in os.environ if v.startswith("SONY_PM_ALT_")]:
        monkeypatch.delenv(variable)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    return tmp_path / "config.toml"


class Stop(Exception):
    pass


def test_sync_takes_its_settings_from_the_config_variables_and_flags(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    isolated.write_text(
        f'[defaults]\nguid = "{GUID}"\ndest = "photos"\ntemplate = "{{stem}}.{{ext}}"\n'
        'kinds = "raw"\n',
        encoding="utf-8",
    )
    seen: dict[str, Any] = {}

    def fake_sync(host: str, **kwargs: Any) -> None:
        seen.update(kwargs, host=host)
        raise Stop

    monkeypatch.setattr("sony_pm_alt.engine.sync.sync", fake_sync)
    argv = ["sync", "--host", "127.0.0.1", "--config", str(isolated), "--no-bulk-listing",
            "--redownload", "--since", "2024-01-01"]  # fmt: skip
    env = {"SONY_PM_ALT_KEEPALIVE_INTERVAL": "7", "SONY_PM_ALT_KINDS": "photos"}
    result = CliRunner().invoke(main, argv, env=env)
    assert isinstance(result.exception, Stop), result.output
    options = seen["options"]
    assert seen["identity"].guid == bytes.fromhex(GUID.replace(":", ""))
    assert options.dest == isolated.parent / "photos"  # relative to the config's folder
    assert options.template == Template("{stem}.{ext}")  # parsed once, handed over as is
    assert options.filters.kinds == {Kind.PHOTO}  # the variable over the file
    assert options.filters.since == date(2024, 1, 1)
    assert (options.keepalive_interval, options.bulk_listing, options.redownload) == (
        7,
        False,
        True,
    )


@pytest.mark.parametrize(("argv", "key"), [([], "guid"), (["--guid", GUID], "dest")])
def test_sync_without_guid_or_dest_says_where_to_set_it(
    isolated: Path, argv: list[str], key: str
) -> None:
    result = CliRunner().invoke(main, ["sync", "--host", "127.0.0.1", *argv])
    assert result.exit_code == 2
    assert result.stderr == (
        f"sony-pm-alt: no {key} set: give --{key}, SONY_PM_ALT_{key.upper()} or {key} in "
        "[defaults] of the config\n"
    )
    assert not (isolated.parent / "xdg-data").exists()  # nothing written


def test_watch_hands_the_same_settings_to_each_session(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What `watch` could not set before: the keep-alive interval, filters and the hook."""
    isolated.write_text('[[camera]]\nmatch = "1"\nhook = "camera-hook"\n', encoding="utf-8")
    seen: list[settings.Settings] = []

    class NoWatcher:
        def __init__(self, config: settings.Settings, **kwargs: Any) -> None:
            seen.append(config)

        def run(self, stop: object) -> None:
            pass

    monkeypatch.setattr("sony_pm_alt.watcher.Watcher", NoWatcher)
    argv = ["watch", "--config", str(isolated), "--guid", GUID, "--dest", "/photos",
            "--keepalive", "3", "--ext", "arw", "--hook", "flag-hook"]  # fmt: skip
    result = CliRunner().invoke(main, argv)
    assert result.exit_code == 0, result.output
    (config,) = seen
    options = config.for_camera("2", "").sync_options(Path("/photos"))
    assert (options.keepalive_interval, options.filters.extensions) == (3.0, frozenset({"arw"}))
    assert options.hook == "flag-hook"
    assert config.for_camera("1", "").sync_options(Path("/photos")).hook == "camera-hook"
