"""The FTP(S) receiver for newer Sony bodies' "FTP Transfer" (the camera is the client)."""
