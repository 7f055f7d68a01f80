"""`sony-pm-alt doctor`: what this installation can do, and what to fix."""

from __future__ import annotations

import os
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

from . import native as native_layer
from .errors import NativeLayerUnavailable
from .identity import GUID_HOWTO, NO_GUID, guid_configured

if TYPE_CHECKING:
    from .settings import Settings


class Status(Enum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str
    advice: str = ""


def libgphoto2_checks() -> list[Check]:
    try:
        import gphoto2 as gp
    except ImportError as exc:
        advice = "reinstall sony-pm-alt (it pins gphoto2==2.6.1)"
        return [Check("python-gphoto2", Status.FAIL, f"not importable: {exc}", advice)]
    version = str(gp.gp_library_version(gp.GP_VERSION_SHORT)[0])
    checks = [
        Check("python-gphoto2", Status.OK, f"{gp.__version__}, bundling libgphoto2 {version}")
    ]
    try:
        info = native_layer.load().info
    except NativeLayerUnavailable as exc:
        without = (
            "without it: the GUID goes through ~/.gphoto/settings (one GUID for every camera), "
            "no vendor profiles (libgphoto2 2.5.31 sends the Sending… pair but never powers "
            "the camera off), a refused GUID shows as 'Unspecified error', no bulk listing"
        )
        checks.append(Check("native layer", Status.WARN, str(exc), without))
    else:
        built = f"{info.libgphoto2} from {info.source} with {len(info.patches)} patches"
        checks.append(Check("native layer", Status.OK, f"built for libgphoto2 {built}"))
    abilities = gp.CameraAbilitiesList()
    abilities.load()
    index = abilities.lookup_model("PTP/IP Camera")
    if index < 0:
        missing = "no camlib offers the 'PTP/IP Camera' model"
        return [*checks, Check("camlib", Status.FAIL, missing, "run `make build` again")]
    library = abilities[index].library
    patched = str(library).startswith(str(native_layer.NATIVE_DIR))
    kind = "patched, sony-pm-alt" if patched else "stock, from python-gphoto2"
    return [*checks, Check("camlib", Status.OK, f"{library} ({kind})")]


def config_checks(config_path: Path | None = None) -> tuple[list[Check], Settings | None]:
    from .settings import ConfigError, load

    try:
        config = load(config_path)
    except ConfigError as exc:
        advice = "fix the file, or see `sony-pm-alt config init`"
        return [Check("config", Status.FAIL, str(exc), advice)], None
    where = str(config.path) if config.path else "no config file (defaults and environment)"
    checks = [Check("config", Status.OK, where)]
    settings = [config.defaults, *(s for _, s in config.cameras)]
    if not guid_configured(config):
        checks.append(Check("GUID", Status.WARN, f"{NO_GUID}: cameras will refuse us", GUID_HOWTO))
    for dest in dict.fromkeys(s.dest for s in settings if s.dest is not None):
        checks.append(destination_check(dest))
    return checks, config


def destination_check(dest: Path) -> Check:
    probe = dest
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if probe.is_dir() and os.access(probe, os.W_OK | os.X_OK):
        return Check("destination", Status.OK, f"{dest} is writable")
    advice = "create it or fix its permissions for the user running sony-pm-alt"
    return Check("destination", Status.FAIL, f"{dest} is not writable (checked {probe})", advice)


def network_checks(interface: str | None) -> list[Check]:
    """Can we hear SSDP? Open the group socket as `watch` does, then let go."""
    from .ssdp.messages import SSDP_GROUP, SSDP_PORT
    from .ssdp.sockets import MulticastSetupError, multicast_socket

    try:
        multicast_socket(interface=interface).close()
    except MulticastSetupError as exc:
        if exc.step == "bind":
            detail = f"cannot listen on UDP port {SSDP_PORT}"
            advice = "another program holds it without sharing; stop it"
        else:  # the membership, or the interface given for it
            detail = f"cannot join {SSDP_GROUP}"
            advice = "check --interface; in Docker use --net=host"
        return [Check("network", Status.FAIL, f"{detail}: {exc}", advice)]
    where = interface or "the default interface"
    return [Check("network", Status.OK, f"joined {SSDP_GROUP} on UDP {SSDP_PORT} ({where})")]


def run_checks(config_path: Path | None = None) -> list[Check]:
    checks = libgphoto2_checks()
    more, config = config_checks(config_path)
    interface = config.discovery.interface if config is not None else None
    from .ftp.doctor import ftp_checks

    ftp = ftp_checks(config) if config is not None else []
    return checks + more + network_checks(interface) + ftp
