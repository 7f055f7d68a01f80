"""Incremental framing: bytes in, whole packets out, with hard limits.

TCP delivers packets split or coalesced arbitrarily (a real ILCE-5000 sent a response's header and
body 48 ms apart), so :class:`PacketReader` buffers until a whole packet is present.
"""

from __future__ import annotations

from .codes import PacketType
from .errors import LimitExceeded, MalformedPacket
from .packets import HEADER, HEADER_SIZE, Packet, decode_packet

# Every packet except Data/End Data is small: the largest is an Init Command Ack/Request with a
# 255-unit name (8 + 4 + 16 + 512 + 4 bytes). 1 KiB leaves room and stops a hostile length field.
MAX_CONTROL_PACKET = 1024
# Data packets carry object bytes. libgphoto2 sends at most 64 KiB per packet and we send 1 MiB;
# a camera may put a whole object in one packet, so allow more, but never an unbounded buffer.
MAX_DATA_PACKET = 64 * 1024 * 1024

_DATA_TYPES = frozenset({PacketType.DATA, PacketType.END_DATA})


class PacketReader:
    """Split a byte stream into decoded packets.

    ``feed(b"")`` means the peer closed the connection: any buffered partial packet is then an
    error (EOF mid-packet), and :attr:`closed` becomes true.
    """

    def __init__(
        self,
        *,
        max_control_packet: int = MAX_CONTROL_PACKET,
        max_data_packet: int = MAX_DATA_PACKET,
    ) -> None:
        self._buffer = bytearray()
        self._max_control = max_control_packet
        self._max_data = max_data_packet
        self.closed = False

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    def feed(self, data: bytes) -> list[Packet]:
        """Add received bytes; return every packet now complete, in order."""
        if self.closed:
            raise MalformedPacket("data received after end of stream")
        if not data:
            self.closed = True
            if self._buffer:
                raise MalformedPacket(
                    "connection closed in the middle of a packet "
                    f"({len(self._buffer)} bytes buffered)"
                )
            return []
        self._buffer += data
        packets: list[Packet] = []
        while (length := self._complete_length()) is not None:
            raw = bytes(self._buffer[:length])
            del self._buffer[:length]
            packets.append(decode_packet(raw))
        return packets

    def _complete_length(self) -> int | None:
        if len(self._buffer) < HEADER_SIZE:
            return None
        length, ptype = HEADER.unpack_from(self._buffer)
        if length < HEADER_SIZE:
            raise MalformedPacket(f"length field {length} is below the 8-byte header")
        limit = self._max_data if ptype in _DATA_TYPES else self._max_control
        if length > limit:
            raise LimitExceeded(
                f"packet type {ptype} of {length} bytes exceeds the {limit}-byte limit"
            )
        return length if len(self._buffer) >= length else None
