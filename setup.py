"""Wheel build hook: the native layer goes into the wheel, built the way ``build.py`` builds it.

Like pygit2's cffi binding, everything native is compiled while the wheel is built, so nothing
runs after ``pip install``: ``build.py`` obtains the libgphoto2 source (its Debian source
package, cached; or ``SONY_PM_ALT_LIBGPHOTO2_SOURCE=DIR|TARBALL``), patches and builds the
ptp2 camlib and the cffi shim, and the result lands in ``sony_pm_alt/_native/`` of the wheel
with libgphoto2's license and a note of the exact source tarball and its sha256. The wheel is
tagged for this Python and platform. An editable install (``make venv``) skips this step:
``make build`` runs ``build.py`` itself.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from setuptools import Distribution, setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent


def _build_script() -> ModuleType:
    # Loaded by path under its own name: "build" would be PyPA's build frontend.
    spec = importlib.util.spec_from_file_location("sony_pm_alt_build_script", ROOT / "build.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


class BuildPyWithNative(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        script = _build_script()
        dest = Path(self.build_lib) / "sony_pm_alt" / "_native"
        try:
            script.build_into(dest)
        except script.BuildError as exc:
            raise SystemExit(
                f"sony-pm-alt: the native layer could not be built: {exc} (with pip, give the "
                f"libgphoto2 source as {script.SOURCE_ENV}=DIR|TARBALL)"
            ) from None


class NativeDistribution(Distribution):
    """The package holds compiled code (placed by build_py, not as setuptools extensions):
    the wheel is platform-specific, cpXY-cpXY-<platform>, never py3-none-any."""

    def has_ext_modules(self) -> bool:
        return True


setup(cmdclass={"build_py": BuildPyWithNative}, distclass=NativeDistribution)
