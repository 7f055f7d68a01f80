"""Find Sony cameras in "Send to Computer" mode: SSDP listener, description fetch, identity.

:mod:`.policy` decides which datagrams lead to a fetch, :mod:`.describe` fetches and checks,
:mod:`.service` owns the sockets, threads and limits.
"""

from .describe import DiscoveredCamera
from .policy import check_location
from .service import Discovery, DiscoveryConfig, discover

__all__ = ["DiscoveredCamera", "Discovery", "DiscoveryConfig", "check_location", "discover"]
