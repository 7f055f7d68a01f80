"""Errors raised by the PTP/IP codec.

Every malformed or hostile input ends in a subclass of :class:`ProtocolError`; nothing in the
codec raises ``struct.error``, ``IndexError`` or ``UnicodeDecodeError`` at a caller.
"""

from __future__ import annotations


class ProtocolError(Exception):
    """The bytes or the sequence of packets break the PTP/IP or PTP rules."""


class MalformedPacket(ProtocolError):
    """A packet's header or fields cannot be decoded (bad length, bad type, truncated body)."""


class MalformedDataset(ProtocolError):
    """A PTP dataset (String, array, DeviceInfo, ObjectInfo, …) cannot be decoded."""


class LimitExceeded(ProtocolError):
    """A length or count is larger than the codec is willing to hold in memory."""


class UnexpectedPacket(ProtocolError):
    """A well-formed packet arrived in a state where it is not allowed."""
