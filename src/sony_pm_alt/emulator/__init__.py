"""A Sony camera in "Send to Computer" mode, emulated: PTP/IP responder, SSDP announcer,
description server, recorder and fault injection. Used by the tests and by ``sony-pm-alt
emulate`` so that anyone can try the tool, or test their own scripts, without a camera."""

from ..identity import format_guid, parse_guid
from .body import BodyConfig
from .camera import Camera, Screen
from .card import Card
from .demo import build_demo_card
from .faults import Faults, FaultSpecError, parse_faults
from .recorder import Recorder, read_log
from .server import Emulator, EmulatorConfig
from .ssdp_responder import SsdpConfig

__all__ = [
    "BodyConfig",
    "Camera",
    "Card",
    "Emulator",
    "EmulatorConfig",
    "FaultSpecError",
    "Faults",
    "Recorder",
    "Screen",
    "SsdpConfig",
    "build_demo_card",
    "format_guid",
    "parse_faults",
    "parse_guid",
    "read_log",
]
