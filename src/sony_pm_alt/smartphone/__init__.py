"""Bodies with only "Send to Smartphone": pull JPEG originals over the camera's own Wi-Fi
(UPnP ContentDirectory plus Sony's XPushList), through the engine's safe download path."""

from .client import DEFAULT_ADDRESS, DEFAULT_PORT, PhoneClient
from .http import PhoneError
from .sync import PhoneOptions, PhoneResult, phone_sync, preview_name

__all__ = [
    "DEFAULT_ADDRESS",
    "DEFAULT_PORT",
    "PhoneClient",
    "PhoneError",
    "PhoneOptions",
    "PhoneResult",
    "phone_sync",
    "preview_name",
]
