"""Sans-IO SSDP: the datagrams and device description of a Sony camera in Send-to-Computer mode.

:mod:`.messages` builds and parses the datagrams, :mod:`.description` the device description,
:mod:`.sockets` opens the one kind of SSDP socket, :mod:`.ratelimit` bounds what a flood costs.
"""
