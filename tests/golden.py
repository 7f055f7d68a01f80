"""Wire values the tests pin, written once, as docs/protocol.md gives them."""

from __future__ import annotations

# The two 0x9280 (selector 4) payloads every profile and client uses (docs/protocol.md §10).
SENDING = bytes.fromhex("02000000 02000000 00000000 00000000 0101")  # the camera shows "Sending…"
POWER_OFF = bytes.fromhex("00000000 05000000 00000000 00000000")  # leave the mode, power off

# The GUID sony-guid-setter registers (docs/protocol.md §6): what a "paired" test client sends.
SETTER_GUID = bytes.fromhex("ffff525400b6fda9 ffff523c2807a93a")
SETTER_GUID_TEXT = "ff:ff:52:54:00:b6:fd:a9:ff:ff:52:3c:28:07:a9:3a"
