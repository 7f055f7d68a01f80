"""Find Sony cameras in "Send to Computer" mode: SSDP listener, description fetch, identity.

:mod:`.policy` decides which datagrams lead to a fetch, :mod:`.describe` fetches and checks,
:mod:`.service` owns the sockets, threads and limits.
"""

from .describe import DiscoveredCamera
from .policy import MAX_REMEMBERED_HOSTS, AnnouncementFilter, Decision, check_location, judge
from .service import Discovery, DiscoveryConfig, discover

__all__ = [
    "MAX_REMEMBERED_HOSTS",
    "AnnouncementFilter",
    "Decision",
    "DiscoveredCamera",
    "Discovery",
    "DiscoveryConfig",
    "check_location",
    "discover",
    "judge",
]
