"""Sans-IO PTP/IP codec: packets, datasets and the connection state machine."""
