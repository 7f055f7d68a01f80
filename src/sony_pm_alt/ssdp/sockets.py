"""The one way this package opens an SSDP socket: discovery, the emulated camera and doctor.

Linux only (the kernel filter is classic BPF through ``SO_ATTACH_FILTER``; elsewhere it is
skipped and the parser does the filtering).
"""

from __future__ import annotations

import ctypes
import logging
import socket
import struct
from typing import Literal

from .messages import SSDP_GROUP, SSDP_PORT

log = logging.getLogger("sony_pm_alt.ssdp")

# Hops a multicast datagram may take; 2 as ssdpy and most UPnP stacks (UDA 1.0 suggests 4,
# airnef uses 1): the camera is on the same link.
MULTICAST_TTL = 2
# Linux's SO_ATTACH_FILTER (asm-generic/socket.h); the socket module does not name it.
_SO_ATTACH_FILTER = 26

Step = Literal["options", "bind", "join"]


class MulticastSetupError(OSError):
    """A socket option, the bind or the group membership failed; ``step`` says which.

    ``str()`` is the kernel's message, as for the ``OSError`` it replaces.
    """

    def __init__(self, step: Step, exc: OSError) -> None:
        super().__init__(exc.errno, exc.strerror)
        self.step: Step = step


def multicast_socket(
    *,
    group: str = SSDP_GROUP,
    port: int = SSDP_PORT,
    interface: str | None = None,
    join: bool = True,
    ttl: int = MULTICAST_TTL,
    announcements_only: bool = False,
) -> socket.socket:
    """A non-blocking UDP socket that sends to ``group`` on ``interface`` with loop-back on.

    ``join=True`` (a listener): bound to ``('', port)`` with ``SO_REUSEADDR`` so that other
    SSDP stacks on this host can share the port, and a member of ``group`` on ``interface``
    (None: the system's choice). ``join=False`` (a searcher): bound to an ephemeral port on
    ``interface``; M-SEARCH replies are unicast to it, and a socket sharing port 1900 would
    get only some of them. ``announcements_only`` lets the kernel drop every datagram that is
    not a NOTIFY or an HTTP reply (see :func:`attach_announcement_filter`).

    Raises :class:`MulticastSetupError` (an ``OSError``); nothing is left open then.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
    step: Step = "options"
    try:
        if interface is not None:
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(interface))
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, ttl)
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1)
        if announcements_only:
            attach_announcement_filter(sock)
        step = "bind"
        if join:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("", port))
            step = "join"
            membership = socket.inet_aton(group) + socket.inet_aton(interface or "0.0.0.0")
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, membership)
        else:
            sock.bind((interface or "", 0))
        sock.setblocking(False)
    except OSError as exc:
        sock.close()
        raise MulticastSetupError(step, exc) from exc
    except BaseException:
        sock.close()
        raise
    return sock


def attach_announcement_filter(sock: socket.socket) -> bool:
    """Let the kernel drop every datagram that does not start with ``NOTI`` or ``HTTP``.

    A classic BPF socket filter: it runs before the datagram is queued, so M-SEARCHes of other
    hosts, junk and empty datagrams never wake this process. For a UDP socket the program sees
    the UDP header first: the payload starts at offset 8. A payload shorter than 4 bytes makes
    the load fail, which drops it. Returns False where the kernel refuses (not Linux).
    """
    program = (
        (0x20, 0, 0, 8),  # ld  [8]      (BPF_LD | BPF_W | BPF_ABS): payload bytes 0-3
        (0x15, 2, 0, int.from_bytes(b"NOTI", "big")),  # jeq  → accept
        (0x15, 1, 0, int.from_bytes(b"HTTP", "big")),  # jeq  → accept
        (0x06, 0, 0, 0),  # ret #0       drop
        (0x06, 0, 0, 0xFFFFFFFF),  # ret #-1  accept, whole datagram
    )
    code = ctypes.create_string_buffer(b"".join(struct.pack("HBBI", *op) for op in program))
    fprog = struct.pack("HL", len(program), ctypes.addressof(code))  # struct sock_fprog
    try:
        sock.setsockopt(socket.SOL_SOCKET, _SO_ATTACH_FILTER, fprog)
    except OSError as exc:
        log.debug("no kernel filter on the SSDP socket (%s); filtering in Python only", exc)
        return False
    return True
