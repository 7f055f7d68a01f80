"""sony-pm-alt: wireless photo import from Sony cameras in "Send to Computer" mode.

The library API (sessions, listing, sync) arrives with the sync engine; today the package
provides the PTP/IP codec (:mod:`sony_pm_alt.ptpip`) and the camera emulator
(:mod:`sony_pm_alt.emulator`).
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
