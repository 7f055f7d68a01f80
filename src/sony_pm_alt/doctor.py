"""`sony-pm-alt doctor`: what this installation can do, and what to fix."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from . import native as native_layer
from .errors import NativeLayerUnavailable


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
        return [
            Check(
                "python-gphoto2",
                Status.FAIL,
                f"not importable: {exc}",
                "reinstall sony-pm-alt (it pins gphoto2==2.6.1)",
            )
        ]
    version = str(gp.gp_library_version(gp.GP_VERSION_SHORT)[0])
    checks = [
        Check("python-gphoto2", Status.OK, f"{gp.__version__}, bundling libgphoto2 {version}")
    ]
    try:
        native = native_layer.load()
    except NativeLayerUnavailable as exc:
        checks.append(
            Check(
                "native layer",
                Status.WARN,
                str(exc),
                "without it: the GUID goes through ~/.gphoto/settings (one GUID for every camera), "
                "no vendor profiles (libgphoto2 2.5.31 sends the Sending… pair but never powers "
                "the camera off), a refused GUID shows as 'Unspecified error', no bulk listing",
            )
        )
    else:
        checks.append(
            Check(
                "native layer",
                Status.OK,
                f"built for libgphoto2 {native.info.libgphoto2} from {native.info.source} "
                f"with {len(native.info.patches)} patches",
            )
        )
    abilities = gp.CameraAbilitiesList()
    abilities.load()
    index = abilities.lookup_model("PTP/IP Camera")
    if index < 0:
        checks.append(
            Check(
                "camlib",
                Status.FAIL,
                "no camlib offers the 'PTP/IP Camera' model",
                "run `make build` again",
            )
        )
    else:
        library = abilities[index].library
        patched = str(library).startswith(str(native_layer.NATIVE_DIR))
        kind = "patched, sony-pm-alt" if patched else "stock, from python-gphoto2"
        checks.append(Check("camlib", Status.OK, f"{library} ({kind})"))
    return checks


def run_checks() -> list[Check]:
    return libgphoto2_checks()
