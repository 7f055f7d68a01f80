"""The pieces every SSDP role shares: the token bucket, the limited log, the socket factory.

Socket tests stay on loopback and never reach a group join on another interface: each
failure case fails before or at the join, and the success cases run in network namespaces
(tests/test_discovery.py, tests/test_emulator_ssdp.py).
"""

from __future__ import annotations

import logging
import socket

import pytest

from sony_pm_alt.ssdp.ratelimit import LimitedLog, TokenBucket
from sony_pm_alt.ssdp.sockets import MulticastSetupError, multicast_socket


def test_bucket_gives_its_burst_then_its_rate() -> None:
    bucket = TokenBucket(rate=4.0, burst=2.0, now=100.0)
    assert [bucket.take(100.0) for _ in range(3)] == [True, True, False]
    assert bucket.take(100.25) is True  # a quarter second refills one token
    assert bucket.take(100.25) is False
    assert [bucket.take(110.0) for _ in range(3)] == [True, True, False]  # never above burst


def test_bucket_ignores_a_clock_that_goes_back() -> None:
    bucket = TokenBucket(rate=1.0, burst=1.0, now=50.0)
    assert bucket.take(50.0) is True
    assert bucket.take(10.0) is False  # an earlier time refills nothing
    assert bucket.take(50.5) is False  # and did not move the stamp back
    assert bucket.take(51.0) is True


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def test_limited_log_counts_what_it_holds_back() -> None:
    logger = logging.getLogger("sony_pm_alt.test.limited")
    records = _Records()
    logger.addHandler(records)
    logger.setLevel(logging.DEBUG)
    try:
        limited = LimitedLog(logger, per_second=1.0, burst=2.0, now=0.0)
        for number in range(5):
            limited.log(logging.WARNING, f"line {number}", 0.0)
        limited.log(logging.DEBUG, "debug is never limited", 0.0)
        limited.log(logging.WARNING, "later", 1.0)
    finally:
        logger.removeHandler(records)
    assert records.messages == [
        "line 0",
        "line 1",
        "debug is never limited",
        "later (3 similar messages suppressed)",
    ]


def test_a_taken_port_fails_at_the_bind_step() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("", 0))  # no SO_REUSEADDR: the port cannot be shared
        with pytest.raises(MulticastSetupError) as info:
            multicast_socket(port=taken.getsockname()[1], interface="127.0.0.1")
    assert info.value.step == "bind"
    assert isinstance(info.value, OSError)
    assert "Address already in use" in str(info.value)


def test_a_group_that_is_not_multicast_fails_at_the_join_step() -> None:
    with pytest.raises(MulticastSetupError) as info:
        multicast_socket(group="127.0.0.1", port=0, interface="127.0.0.1")
    assert info.value.step == "join"


def test_an_address_not_on_this_host_fails_before_the_bind() -> None:
    with pytest.raises(MulticastSetupError) as info:
        multicast_socket(port=0, interface="192.0.2.1", join=False)  # TEST-NET-1
    assert info.value.step == "options"
