"""Tests for the configuration of `sony-pm-alt watch`: the file, the environment, the flags."""

from __future__ import annotations

import math
import os
import tomllib
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sony_pm_alt.engine.filters import Filters
from sony_pm_alt.engine.model import Kind
from sony_pm_alt.engine.naming import DEFAULT_TEMPLATE, Template
from sony_pm_alt.errors import SonyPmAltError
from sony_pm_alt.identity import format_guid
from sony_pm_alt.profiles import load_profile
from sony_pm_alt.settings import (
    CONFIG_ENV,
    ENV_VARS,
    EXAMPLE_CONFIG,
    MAX_INTERVAL,
    CameraSettings,
    ConfigError,
    DiscoverySettings,
    Settings,
    camera_matches,
    default_config_path,
    describe,
    load,
    write_example,
)

GUID = "ff:ff:52:54:00:b6:fd:a9:ff:ff:52:3c:28:07:a9:3a"
GUID_BYTES = bytes.fromhex(GUID.replace(":", ""))
OTHER_GUID = "00112233-4455-6677-8899-aabbccddeeff"
SERIAL = "00000000000000003282651203392641"
UDN = "uuid:00000000-0000-0010-8000-1C7B21A1B2C3"
HOME = "/home/tester"
ENV = {"HOME": HOME}

FULL = f"""\
# every key set
[defaults]
guid = "{GUID}"
name = "my-nas"
dest = "~/Pictures/Sony"
template = "{{year}}/{{filename}}"
profile = "playmemories"
kinds = "photos,raw"
extensions = "jpg, .ARW"
since = "2024-01-01"
until = 2024-12-31
hook = "notify-send done"

[discovery]
interface = "192.168.1.10"
cooldown = 120
search_interval = 2.5

[[camera]]
match = "{SERIAL}"    # the A6000
dest = "/srv/a6000"
guid = "{OTHER_GUID}"

[[camera]]
match = "{UDN}"
hook = ""
kinds = ["videos"]
"""


def _write(tmp_path: Path, text: str, name: str = "config.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _load(
    tmp_path: Path, text: str, environ: dict[str, str] | None = None, **flags: object
) -> Settings:
    return load(_write(tmp_path, text), {**ENV, **(environ or {})}, flags)


def _error(tmp_path: Path, text: str, environ: dict[str, str] | None = None) -> ConfigError:
    """The ConfigError loading ``text`` raises; its message must be one line."""
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, text, environ)
    assert "\n" not in str(info.value)
    return info.value


@pytest.fixture(autouse=True)
def _no_user_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Never read the config file of whoever runs the tests."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))


# --- where the file is, and the defaults --------------------------------------------------------


def test_default_path_is_in_the_xdg_config_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert default_config_path() == tmp_path / "xdg" / "sony-pm-alt" / "config.toml"


def test_no_file_at_the_default_path_gives_the_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    config = load(environ={})
    assert config == Settings()
    assert config.path is None
    assert config.defaults == CameraSettings(
        guid=None,
        friendly_name=None,
        dest=None,
        template=Template(DEFAULT_TEMPLATE),
        profile=load_profile("upstream"),
        hook=None,
    )
    assert config.defaults.filters == Filters()
    assert config.discovery == DiscoverySettings(
        interface=None, cooldown=300.0, search_interval=60.0
    )
    assert config.cameras == ()
    assert config.for_camera(SERIAL, UDN) == config.defaults


def test_the_default_file_is_read_when_present(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    path = tmp_path / "sony-pm-alt" / "config.toml"
    path.parent.mkdir()
    path.write_text('[defaults]\nname = "from-default-file"\n', encoding="utf-8")
    config = load(environ={})
    assert config.path == path
    assert config.defaults.friendly_name == "from-default-file"


def test_a_named_file_that_is_missing_is_an_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(ConfigError, match=r"nope\.toml: no such file \(named by the command"):
        load(missing, {})
    with pytest.raises(ConfigError, match=f"no such file \\(named by {CONFIG_ENV}\\)"):
        load(environ={CONFIG_ENV: str(missing)})


def test_the_config_variable_names_the_file(tmp_path: Path) -> None:
    _write(tmp_path, '[defaults]\nname = "via-env"\n', "other.toml")
    config = load(environ={CONFIG_ENV: "~/other.toml", "HOME": str(tmp_path)})
    assert config.path == tmp_path / "other.toml"
    assert config.defaults.friendly_name == "via-env"
    # an explicit argument wins over the variable
    explicit = _write(tmp_path, '[defaults]\nname = "explicit"\n', "explicit.toml")
    config = load(explicit, {CONFIG_ENV: str(tmp_path / "other.toml")})
    assert config.defaults.friendly_name == "explicit"


def test_an_empty_file_gives_the_defaults_and_records_the_file(tmp_path: Path) -> None:
    config = _load(tmp_path, "")
    assert config.path == tmp_path / "config.toml"
    assert config.defaults == CameraSettings()


def test_unreadable_files_are_one_line_errors(tmp_path: Path) -> None:
    bad = tmp_path / "latin1.toml"
    bad.write_bytes(b'[defaults]\nname = "caf\xe9"\n')
    with pytest.raises(ConfigError, match=r"latin1\.toml: not UTF-8 text"):
        load(bad, {})
    with pytest.raises(ConfigError, match="cannot read it"):
        load(tmp_path, {})


# --- the example and a full file ----------------------------------------------------------------


def test_the_example_loads(tmp_path: Path) -> None:
    config = _load(tmp_path, EXAMPLE_CONFIG)
    assert config.defaults == CameraSettings(dest=Path(HOME, "Pictures", "Sony"))
    assert config.discovery == DiscoverySettings()
    assert config.cameras == ()
    assert "# guid = " in EXAMPLE_CONFIG  # commented out: the user must set their own


def test_the_example_with_its_comments_taken_away_loads(tmp_path: Path) -> None:
    text = EXAMPLE_CONFIG.replace("# guid = ", "guid = ")
    text = text.replace("# [[camera]]", "[[camera]]").replace("# match = ", "match = ")
    text = text.replace('# dest = "~/Pictures/A6000"', 'dest = "~/Pictures/A6000"')
    config = _load(tmp_path, text)
    assert config.defaults.guid == GUID_BYTES
    assert config.cameras == (
        (SERIAL, CameraSettings(guid=GUID_BYTES, dest=Path(HOME, "Pictures", "A6000"))),
    )


def test_every_key_of_a_full_file(tmp_path: Path) -> None:
    config = _load(tmp_path, FULL)
    defaults = config.defaults
    assert defaults.guid == GUID_BYTES
    assert defaults.friendly_name == "my-nas"
    assert defaults.dest == Path(HOME, "Pictures", "Sony")
    assert defaults.template == Template("{year}/{filename}")
    assert defaults.profile == load_profile("playmemories")
    assert defaults.filters == Filters(
        extensions=frozenset({"jpg", "arw"}),
        kinds=frozenset({Kind.PHOTO, Kind.RAW}),
        since=date(2024, 1, 1),
        until=date(2024, 12, 31),
    )
    assert defaults.hook == "notify-send done"
    assert config.discovery == DiscoverySettings(
        interface="192.168.1.10", cooldown=120.0, search_interval=2.5
    )
    assert [match for match, _settings in config.cameras] == [SERIAL, UDN]


def test_relative_paths_are_relative_to_the_config_folder(tmp_path: Path) -> None:
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "mine.toml").write_text('name = "mine"\n', encoding="utf-8")
    text = '[defaults]\ndest = "photos"\nprofile = "profiles/mine.toml"\n'
    config = _load(tmp_path, text)
    assert config.defaults.dest == tmp_path / "photos"
    assert config.defaults.profile.origin == str(tmp_path / "profiles" / "mine.toml")


def test_dest_expands_home_and_variables(tmp_path: Path) -> None:
    text = '[defaults]\ndest = "$NAS/${WHO}/~x"\n[[camera]]\nmatch = "1"\ndest = "~"\n'
    config = _load(tmp_path, text, {"NAS": "/srv/nas", "WHO": "me"})
    assert config.defaults.dest == Path("/srv/nas/me/~x")
    assert config.for_camera("1", "").dest == Path(HOME)


def test_empty_strings_mean_not_set(tmp_path: Path) -> None:
    text = '[defaults]\nguid = ""\nname = ""\ndest = ""\nhook = " "\nkinds = ""\n'
    assert _load(tmp_path, text).defaults == CameraSettings()


def test_filters_accept_arrays_and_toml_dates(tmp_path: Path) -> None:
    text = '[defaults]\nkinds = ["photo", "videos"]\nextensions = ["*.JPG"]\nsince = 2024-05-01\n'
    assert _load(tmp_path, text).defaults.filters == Filters(
        extensions=frozenset({"jpg"}),
        kinds=frozenset({Kind.PHOTO, Kind.VIDEO}),
        since=date(2024, 5, 1),
    )


# --- cameras ------------------------------------------------------------------------------------


def test_a_camera_is_matched_by_serial_and_merged_over_defaults(tmp_path: Path) -> None:
    config = _load(tmp_path, FULL)
    a6000 = config.for_camera(SERIAL, "uuid:something-else")
    assert a6000.dest == Path("/srv/a6000")
    assert a6000.guid == bytes.fromhex(OTHER_GUID.replace("-", ""))
    # everything it does not set comes from [defaults]
    assert a6000.template == Template("{year}/{filename}")
    assert a6000.friendly_name == "my-nas"
    assert a6000.filters == config.defaults.filters
    assert a6000.hook == "notify-send done"


def test_a_camera_is_matched_by_udn_case_insensitively(tmp_path: Path) -> None:
    config = _load(tmp_path, FULL)
    for udn in (UDN, UDN.lower(), UDN.upper().replace("UUID:", "uuid:"), UDN.removeprefix("uuid:")):
        settings = config.for_camera("another-serial", udn)
        assert settings.hook is None  # hook = "" clears the default for this body
        assert settings.filters.kinds == {Kind.VIDEO}
        assert settings.filters.extensions == {"jpg", "arw"}  # kept from [defaults]
        assert settings.dest == config.defaults.dest


def test_an_unknown_camera_gets_the_defaults(tmp_path: Path) -> None:
    config = _load(tmp_path, FULL)
    assert config.for_camera("123", "uuid:0000") == config.defaults
    assert config.for_camera("", "") == config.defaults


def test_the_first_matching_camera_wins(tmp_path: Path) -> None:
    text = f'[[camera]]\nmatch = "{UDN}"\nname = "by-udn"\n[[camera]]\nmatch = "{SERIAL}"\n'
    config = _load(tmp_path, text)
    assert config.for_camera(SERIAL, UDN).friendly_name == "by-udn"
    assert config.for_camera(SERIAL, "uuid:other").friendly_name is None


def test_camera_matching_rules() -> None:
    assert camera_matches(SERIAL, SERIAL, "")
    assert camera_matches(f"  {SERIAL} ", SERIAL, "")
    assert camera_matches(UDN.upper(), "", UDN)
    assert camera_matches(UDN.removeprefix("uuid:"), "", UDN)
    assert not camera_matches("uuid:" + SERIAL, SERIAL, "")  # a uuid: match names a UDN only
    assert not camera_matches("", "", "")
    assert not camera_matches("abc", "abcd", "uuid:abcd")


# --- environment and flags ----------------------------------------------------------------------


def test_every_environment_variable(tmp_path: Path) -> None:
    environ = {
        "SONY_PM_ALT_GUID": GUID,
        "SONY_PM_ALT_NAME": "container",
        "SONY_PM_ALT_DEST": "/photos",
        "SONY_PM_ALT_TEMPLATE": "{model}/{filename}",
        "SONY_PM_ALT_PROFILE": "none",
        "SONY_PM_ALT_KINDS": "photos,raw",
        "SONY_PM_ALT_EXTENSIONS": "jpg",
        "SONY_PM_ALT_SINCE": "2024-01-01",
        "SONY_PM_ALT_UNTIL": "2024-02-01",
        "SONY_PM_ALT_HOOK": "/hook.sh",
        "SONY_PM_ALT_KEEPALIVE_INTERVAL": "5",
        "SONY_PM_ALT_BULK_LISTING": "false",
        "SONY_PM_ALT_PARTIAL_MAX_AGE_DAYS": "7",
        "SONY_PM_ALT_WIFI_SSID": "DIRECT-ab",
        "SONY_PM_ALT_WIFI_PASSWORD": "12345678",
        "SONY_PM_ALT_INTERFACE": "10.0.0.2",
        "SONY_PM_ALT_COOLDOWN": "42.5",
        "SONY_PM_ALT_SEARCH_INTERVAL": "9",
        "SONY_PM_ALT_FTP_ENABLED": "true",
        "SONY_PM_ALT_FTP_LISTEN": "127.0.0.1",
        "SONY_PM_ALT_FTP_PORT": "2200",
        "SONY_PM_ALT_FTP_PASSIVE_PORTS": "60000-60009",
        "SONY_PM_ALT_FTP_MASQUERADE_ADDRESS": "10.0.0.3",
        "SONY_PM_ALT_FTP_TLS": "1",
        "SONY_PM_ALT_FTP_TLS_REQUIRED": "true",
        "SONY_PM_ALT_FTP_CERTFILE": "/c.pem",
        "SONY_PM_ALT_FTP_KEYFILE": "/k.pem",
    }
    assert set(environ) == set(ENV_VARS)  # every key of every section has one
    config = _load(tmp_path, "", environ)
    assert config.defaults == CameraSettings(
        guid=GUID_BYTES,
        friendly_name="container",
        dest=Path("/photos"),
        template=Template("{model}/{filename}"),
        profile=load_profile("none"),
        kinds=frozenset({Kind.PHOTO, Kind.RAW}),
        extensions=frozenset({"jpg"}),
        since=date(2024, 1, 1),
        until=date(2024, 2, 1),
        hook="/hook.sh",
        keepalive_interval=5.0,
        bulk_listing=False,
        partial_max_age_days=7.0,
        wifi_ssid="DIRECT-ab",
        wifi_password="12345678",
    )
    assert config.discovery == DiscoverySettings(
        interface="10.0.0.2", cooldown=42.5, search_interval=9.0
    )
    ftp = config.ftp
    assert (ftp.enabled, ftp.listen, ftp.port, ftp.passive_ports) == (
        True, "127.0.0.1", 2200, (60000, 60009)
    )  # fmt: skip
    assert (ftp.masquerade_address, ftp.tls, ftp.tls_required) == ("10.0.0.3", True, True)
    assert (ftp.certfile, ftp.keyfile) == (Path("/c.pem"), Path("/k.pem"))
    assert config.env_applied == tuple(ENV_VARS)


def test_precedence_file_then_environment_then_flags(tmp_path: Path) -> None:
    text = '[defaults]\ndest = "/file"\nname = "file"\nhook = "file-hook"\n'
    text += "[discovery]\ncooldown = 10\n"
    environ = {"SONY_PM_ALT_DEST": "/env", "SONY_PM_ALT_NAME": "env"}
    config = _load(tmp_path, text, environ)
    assert (config.defaults.dest, config.defaults.friendly_name) == (Path("/env"), "env")
    assert config.defaults.hook == "file-hook"  # not overridden: the file's value stays
    flagged = _load(tmp_path, text, environ, dest="/flag", name=None, cooldown=5)
    assert flagged.defaults.dest == Path("/flag")
    assert flagged.defaults.friendly_name == "env"  # None: the flag was not given
    assert flagged.discovery.cooldown == 5.0
    assert flagged.env_applied == ("SONY_PM_ALT_NAME", "SONY_PM_ALT_DEST")
    assert flagged.flags_applied == ("--dest", "--cooldown")


def test_a_camera_section_still_wins_over_environment_and_flags(tmp_path: Path) -> None:
    text = f'[defaults]\ndest = "/file"\n[[camera]]\nmatch = "{SERIAL}"\ndest = "/camera"\n'
    text += 'template = "{filename}"\n'
    config = _load(tmp_path, text, {"SONY_PM_ALT_DEST": "/env"}, dest="/flag", guid=GUID)
    camera = config.for_camera(SERIAL, "")
    assert camera.dest == Path("/camera")
    assert camera.guid == GUID_BYTES  # not set by the camera: the flag reaches it
    assert camera.template == Template("{filename}")
    assert config.for_camera("other", "").dest == Path("/flag")


def test_empty_environment_variables_count_as_not_set(tmp_path: Path) -> None:
    config = _load(tmp_path, '[defaults]\nhook = "x"\n', {"SONY_PM_ALT_HOOK": "", CONFIG_ENV: ""})
    assert config.defaults.hook == "x"
    assert config.env_applied == ()


def test_other_sony_variables_are_ignored(tmp_path: Path) -> None:
    config = _load(tmp_path, "", {"SONY_PM_ALT_STATE": "/x.sqlite3", "SONY_PM_ALT_FOO": "1"})
    assert config == Settings(path=tmp_path / "config.toml")


def test_flags_are_validated_like_the_file(tmp_path: Path) -> None:
    def flag_error(**flags: object) -> ConfigError:
        with pytest.raises(ConfigError) as info:
            load(_write(tmp_path, ""), ENV, flags)
        return info.value

    error = flag_error(guid="xyz")
    assert str(error).startswith("--guid: GUID 'xyz' is not 16 bytes of hex")
    assert error.key == "--guid"
    assert str(flag_error(template="{nope}/{filename}")).startswith("--template: unknown token")
    assert str(flag_error(profile="zzz")).startswith("--profile: unknown profile 'zzz'")
    assert str(flag_error(search_interval=0)) == (
        "--search-interval: 0 is not a positive number of seconds, at most 86400"
    )
    assert str(flag_error(since="2024-02-01", until="2024-01-01")).startswith(
        "--until: since 2024-02-01 is after until"
    )
    with pytest.raises(TypeError, match="unknown flags: colour"):
        _load(tmp_path, "", colour="red")


def test_flags_resolve_relative_paths_against_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    config = load(Path(os.devnull), {}, {"dest": Path("out"), "guid": GUID_BYTES, "name": ""})
    assert config.defaults.dest == tmp_path / "out"
    assert config.defaults.guid == GUID_BYTES
    assert config.defaults.friendly_name is None


# --- errors -------------------------------------------------------------------------------------

# (file text, line, key, a piece of the problem)
ERRORS = [
    pytest.param('[defaults]\nname = "x"\nguid = "xyz"\n', 3, "defaults.guid",
                 "GUID 'xyz' is not 16 bytes of hex (expected e.g. ff:ff:", id="bad-guid"),
    pytest.param('[defaults]\n\ncolour = "red"\n', 3, "defaults.colour",
                 "unknown key; known keys: guid, name", id="unknown-key"),
    pytest.param('[defaults]\n[sony]\nx = 1\n', 2, "sony",
                 "unknown section [sony]; known sections: [defaults]", id="unknown-section"),
    pytest.param('[defaults.more]\nx = 1\n', 1, "defaults.more",
                 "unknown key", id="unknown-sub-table"),
    pytest.param('# top\nguid = "x"\n[defaults]\n', 2, "guid",
                 "outside any section; settings go under [defaults]", id="top-level-key"),
    pytest.param('[defaults]\ndest = 5\n', 2, "defaults.dest",
                 "must be a folder path, not a number (5)", id="number-for-string"),
    pytest.param('[discovery]\ncooldown = "300"\n', 2, "discovery.cooldown",
                 "at most 86400, not a string ('300')", id="string-for-number"),
    pytest.param('[discovery]\nsearch_interval = true\n', 2, "discovery.search_interval",
                 "not a boolean (true)", id="bool-for-number"),
    pytest.param('[defaults]\ntemplate = "/{filename}"\n', 2, "defaults.template",
                 "is absolute", id="bad-template"),
    pytest.param('[defaults]\ntemplate = "{year"\n', 2, "defaults.template",
                 "unbalanced braces", id="template-braces"),
    pytest.param('[defaults]\nprofile = "sonyish"\n', 2, "defaults.profile",
                 "unknown profile 'sonyish'; built-in: none, playmemories, upstream",
                 id="unknown-profile"),
    pytest.param('[defaults]\nprofile = "missing.toml"\n', 2, "defaults.profile",
                 "cannot read profile file", id="missing-profile-file"),
    pytest.param('[defaults]\nkinds = "photos,cats"\n', 2, "defaults.kinds",
                 "unknown kind 'cats'", id="bad-kinds"),
    pytest.param('[defaults]\nkinds = ["photos", 3]\n', 2, "defaults.kinds",
                 "or an array of them, not an array", id="kinds-array-type"),
    pytest.param('[defaults]\nextensions = "jpg,a/b"\n', 2, "defaults.extensions",
                 "'a/b' is not a file extension", id="bad-extensions"),
    pytest.param('[defaults]\nsince = "2024-13-01"\n', 2, "defaults.since",
                 "must be a date YYYY-MM-DD, not a string ('2024-13-01')", id="bad-date"),
    pytest.param('[defaults]\nuntil = 2024-01-01T10:00:00\n', 2, "defaults.until",
                 "must be a date YYYY-MM-DD, not a date and time (2024-01-01T10:00:00)",
                 id="datetime"),
    pytest.param('[defaults]\nsince = "2024-02-01"\nuntil = "2024-01-01"\n', 3, "defaults.until",
                 "since 2024-02-01 is after until 2024-01-01", id="since-after-until"),
    pytest.param('[defaults]\nname = "Ünïcode"\n', 2, "defaults.name",
                 "must be 1–99 ASCII characters", id="bad-name"),
    pytest.param('[defaults]\ndest = "$NOT_SET_ANYWHERE/x"\n', 2, "defaults.dest",
                 "$NOT_SET_ANYWHERE in '$NOT_SET_ANYWHERE/x' is not set", id="unset-variable"),
    pytest.param('[discovery]\ncooldown = -5\n', 2, "discovery.cooldown",
                 "at most 86400, not a number (-5)", id="negative-cooldown"),
    pytest.param('[discovery]\ncooldown = 0\n', 2, "discovery.cooldown",
                 "must be a positive number", id="zero-cooldown"),
    pytest.param('[discovery]\n\nsearch_interval = 86401\n', 3, "discovery.search_interval",
                 "at most 86400", id="interval-above-a-day"),
    pytest.param('[discovery]\ncooldown = nan\n', 2, "discovery.cooldown",
                 "must be a positive number", id="nan"),
    pytest.param('[discovery]\ncooldown = inf\n', 2, "discovery.cooldown",
                 "must be a positive number", id="inf"),
    pytest.param('[discovery]\ninterface = "eth0"\n', 2, "discovery.interface",
                 "'eth0' is not an IPv4 address", id="bad-interface"),
    pytest.param('[discovery]\nport = 1\n', 2, "discovery.port",
                 "unknown key; known keys: interface, cooldown, search_interval",
                 id="unknown-discovery-key"),
    pytest.param('[defaults]\n\n[[camera]]\ndest = "/x"\n', 3, "camera[1]",
                 "has no match; give the body's serial number", id="camera-without-match"),
    pytest.param('[[camera]]\nmatch = "1"\n[[camera]]\n# x\n', 3, "camera[2]",
                 "has no match", id="second-camera-without-match"),
    pytest.param('[[camera]]\nmatch = 1234\n', 2, "camera[1].match",
                 "must be a serial number or a uuid:… UDN, not a number", id="match-type"),
    pytest.param('[[camera]]\nmatch = " "\n', 2, "camera[1].match",
                 "is empty", id="match-empty"),
    pytest.param('[[camera]]\nmatch = "1"\n[[camera]]\nmatch = "2"\ncolour = 1\n', 5,
                 "camera[2].colour", "unknown key; known keys: guid", id="camera-unknown-key"),
    pytest.param('[[camera]]\nmatch = "uuid:AB"\n[[camera]]\nmatch = "ab"\n', 4,
                 "camera[2].match", "'ab' is already matched by camera[1]", id="duplicate-match"),
    pytest.param('[camera]\nmatch = "1"\n', 1, "camera",
                 "must be an array of tables, one [[camera]] per body", id="camera-as-table"),
    pytest.param('defaults = 1\n', 1, "defaults",
                 "must be a table ([defaults]), not a number (1)", id="defaults-not-a-table"),
    pytest.param('[defaults]\nsince = "2024-05-01"\n'
                 '[[camera]]\nmatch = "1"\nuntil = "2024-04-30"\n',
                 5, "camera[1].until", "since 2024-05-01 is after until 2024-04-30",
                 id="camera-until-before-default-since"),
    pytest.param('defaults.guid = "12"\n', 1, "defaults.guid",
                 "is not 16 bytes of hex", id="dotted-key"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "line", "key", "problem"), ERRORS)
def test_each_error_is_one_line_naming_file_and_key_path(
    tmp_path: Path, text: str, line: int, key: str, problem: str
) -> None:
    """``line`` is where the key is; messages name the key path instead since the line
    scanner went (tomllib reports no positions for values)."""
    error = _error(tmp_path, text)
    path = tmp_path / "config.toml"
    assert str(error).startswith(f"{path}: {key}: ")
    assert problem in str(error)
    assert (error.path, error.key) == (path, key)
    assert isinstance(error, SonyPmAltError)


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ('[defaults]\nname = "x\n', 2),  # unterminated string
        ('[defaults]\nname = "a"\nname = "b"\n', 3),  # a key twice
        ("[defaults\n", 1),
    ],
)
def test_toml_syntax_errors_keep_tomllib_line_and_column(
    tmp_path: Path, text: str, line: int
) -> None:
    error = _error(tmp_path, text)
    assert str(error).startswith(f"{tmp_path / 'config.toml'} line {line}: not valid TOML: ")
    assert f"(at line {line}, column " in str(error)
    assert error.line == line


def test_a_key_whose_line_is_unclear_is_still_named(tmp_path: Path) -> None:
    error = _error(tmp_path, "defaults = { dest = 5 }\n")  # an inline table: no `dest =` line
    path = tmp_path / "config.toml"
    assert str(error) == f"{path}: defaults.dest: must be a folder path, not a number (5)"
    assert error.line is None


@pytest.mark.parametrize(
    ("variable", "value", "problem"),
    [
        ("SONY_PM_ALT_GUID", "ff:ff", "GUID 'ff:ff' is not 16 bytes of hex"),
        ("SONY_PM_ALT_COOLDOWN", "five", "'five' is not a positive number of seconds"),
        ("SONY_PM_ALT_COOLDOWN", "-1", "'-1' is not a positive number of seconds"),
        ("SONY_PM_ALT_FTP_PORT", "http", "'http' is not a port number"),
        ("SONY_PM_ALT_BULK_LISTING", "maybe", "'maybe' is not true or false"),
        ("SONY_PM_ALT_TEMPLATE", "{seq:c}", "may not use '/' or '\\' as fill character"),
        ("SONY_PM_ALT_PROFILE", "nope", "unknown profile 'nope'"),
        ("SONY_PM_ALT_INTERFACE", "300.1.1.1", "'300.1.1.1' is not an IPv4 address"),
        ("SONY_PM_ALT_NAME", "x" * 100, "must be 1–99 ASCII characters"),
        ("SONY_PM_ALT_DEST", "$NOT_SET_ANYWHERE", "$NOT_SET_ANYWHERE in"),
        (CONFIG_ENV, "$NOT_SET_ANYWHERE/c.toml", "$NOT_SET_ANYWHERE in"),
    ],
)
def test_a_bad_environment_variable_is_named(variable: str, value: str, problem: str) -> None:
    with pytest.raises(ConfigError) as info:
        load(environ={variable: value})
    message = str(info.value)
    assert message.startswith(f"environment variable {variable}: ")
    assert problem in message
    assert "\n" not in message
    assert info.value.key == variable


def test_an_error_message_never_spans_lines() -> None:
    assert str(ConfigError("a\nb\r\nc")) == "a b c"


# --- write_example and describe -----------------------------------------------------------------


def test_write_example_creates_folders_and_a_loadable_file(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "config.toml"
    write_example(path)
    assert path.read_text(encoding="utf-8") == EXAMPLE_CONFIG
    assert load(path, ENV).defaults.dest == Path(HOME, "Pictures", "Sony")


def test_write_example_refuses_to_overwrite(tmp_path: Path) -> None:
    path = _write(tmp_path, "[defaults]\n# mine\n")
    with pytest.raises(ConfigError, match="already exists; not overwriting it"):
        write_example(path)
    assert path.read_text(encoding="utf-8") == "[defaults]\n# mine\n"
    dangling = tmp_path / "link.toml"
    dangling.symlink_to(tmp_path / "nowhere.toml")
    with pytest.raises(ConfigError, match="already exists"):
        write_example(dangling)
    assert not (tmp_path / "nowhere.toml").exists()


def test_write_example_reports_an_unwritable_place(tmp_path: Path) -> None:
    blocker = _write(tmp_path, "", "file")
    with pytest.raises(ConfigError, match="cannot write"):
        write_example(blocker / "config.toml")


def test_describe_shows_what_applied(tmp_path: Path) -> None:
    config = _load(tmp_path, FULL, {"SONY_PM_ALT_COOLDOWN": "30"}, template="{stem}.{ext}")
    text = describe(config)
    assert f"# file: {tmp_path / 'config.toml'}\n" in text
    assert "# environment: SONY_PM_ALT_COOLDOWN\n" in text
    assert "# command line: --template\n" in text
    assert f'guid = "{GUID}"' in text
    assert f'guid = "{format_guid(bytes.fromhex(OTHER_GUID.replace("-", "")))}"' in text
    assert f'dest = "{HOME}/Pictures/Sony"' in text
    assert 'kinds = "photo,raw"' in text
    assert "cooldown = 30\n" in text
    assert "search_interval = 2.5\n" in text
    assert f'match = "{SERIAL}"' in text


def test_describe_is_toml_that_loads_to_the_same_settings(tmp_path: Path) -> None:
    config = _load(tmp_path, FULL)
    text = describe(config)
    tomllib.loads(text)
    again = load(_write(tmp_path, text, "shown.toml"), ENV)
    assert again.defaults == config.defaults
    assert again.cameras == config.cameras
    assert again.discovery == config.discovery


def test_describe_without_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    text = describe(load(environ={}))
    assert f"# file: none ({tmp_path / 'sony-pm-alt' / 'config.toml'} does not exist)" in text
    assert "# environment: none applied" in text
    assert "# guid: not set" in text
    assert "# dest: not set" in text
    assert 'name = ""  # sends the host name' in text
    assert 'interface = ""  # the default interface' in text
    tomllib.loads(text)


# --- properties ---------------------------------------------------------------------------------


@given(
    st.binary(min_size=16, max_size=16),
    st.sampled_from(["colons", "hex", "dashed", "upper"]),
)
def test_any_guid_in_any_spelling_round_trips(guid: bytes, spelling: str) -> None:
    text = {
        "colons": format_guid(guid),
        "hex": guid.hex(),
        "dashed": f"{guid[:4].hex()}-{guid[4:6].hex()}-{guid[6:8].hex()}-{guid[8:10].hex()}-"
        f"{guid[10:].hex()}",
        "upper": format_guid(guid).upper(),
    }[spelling]
    config = load(environ={"SONY_PM_ALT_GUID": text, CONFIG_ENV: os.devnull})
    assert config.defaults.guid == guid
    assert f'guid = "{format_guid(guid)}"' in describe(config)


@given(
    st.one_of(
        st.integers(1, int(MAX_INTERVAL)),
        st.floats(min_value=1e-6, max_value=MAX_INTERVAL, allow_nan=False),
    )
)
def test_any_valid_interval_round_trips_through_describe(seconds: float) -> None:
    config = load(Path(os.devnull), {}, {"cooldown": seconds, "search_interval": seconds})
    assert config.discovery.cooldown == float(seconds)
    shown = tomllib.loads(describe(config))["discovery"]
    assert shown["cooldown"] == seconds
    assert math.isclose(shown["search_interval"], seconds)


@given(st.text(st.characters(codec="ascii", exclude_characters="\x00"), min_size=1, max_size=99))
def test_any_friendly_name_round_trips_through_describe(name: str) -> None:
    config = load(Path(os.devnull), {}, {"name": name})
    assert config.defaults.friendly_name == name
    assert tomllib.loads(describe(config))["defaults"]["name"] == name
