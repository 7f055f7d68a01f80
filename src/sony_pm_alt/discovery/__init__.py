"""Find Sony cameras in "Send to Computer" mode: SSDP listener, description fetch, identity.

- :mod:`.policy`: which datagrams lead to a fetch (pure: :func:`judge`,
  :class:`AnnouncementFilter`, :func:`check_location`);
- :mod:`.describe`: the description fetch and the Sony check (:class:`DiscoveredCamera`);
- :mod:`.service`: the sockets, threads and limits (:class:`Discovery`, :func:`discover`).

Sockets and rate limits come from :mod:`sony_pm_alt.ssdp`, the bounded HTTP read from
:mod:`sony_pm_alt.bounded_http`.
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
