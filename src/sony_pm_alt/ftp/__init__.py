"""The FTP(S) receiver for newer Sony bodies' "FTP Transfer" (the camera is the client).

``accounts`` (who may log in), ``content`` (is an upload whole, and when was it taken),
``intake`` (an upload through the engine's pipeline: partial file, fsync, check, placement,
state, hooks, events), ``server`` (pyftpdlib, restricted to what a camera needs), ``tls``
(the self-signed certificate).
"""
