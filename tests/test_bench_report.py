"""bench/report.py: the share of the link is taken against what TCP payload can carry on the
shaped hop (the calibrated plain-TCP rate), with the share of the nominal rate beside it."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import report  # bench/ is not a package


def result(seconds: float) -> dict[str, Any]:
    scenario = {"key": "4", "title": "t", "new": 10, "new_size": 12_000_000, "unshaped": False}
    samples = [
        {"client": c, "seconds": seconds, "durable_seconds": seconds, "verified": True}
        | {"peak_rss": 1, "wire_bytes": 1, "error": ""}
        for c in (report.OURS, report.GPHOTO2)
    ]
    return {
        "link": {"rate_mbit": 100.0, "rtt_ms": 4.0},
        "calibration": {
            "python_startup_s": 0.0,
            "raw_tcp_bits_per_s": 96e6,
            "raw_tcp_unshaped_bits_per_s": 1e10,
            "disk_bytes_per_s": 1e12,
        },
        "scenarios": [{"scenario": scenario, "samples": samples}],
    }


def test_the_link_share_is_against_the_calibrated_payload_rate() -> None:
    r = result(10.5)  # 120 MB: 10.0 s at 96 Mbit/s, 9.6 s at 100
    report.summarise(r, 8)
    summary = r["scenarios"][0]["summary"]
    assert summary["rate_bits_per_s"] == 96e6
    assert abs(summary["link_share"] - 10.0 / 10.5) < 1e-9
    assert abs(summary["nominal_share"] - 9.6 / 10.5) < 1e-9
    (share,) = [t for t in r["targets"] if "link rate" in t["target"]]
    assert share["met"] is True
    assert share["measured"] == "95.2% of plain TCP's 96.00 Mbit/s (91.4% of the nominal rate)"


def test_without_a_calibration_the_nominal_rate_is_the_link_rate() -> None:
    r = result(10.5)
    del r["calibration"]["raw_tcp_bits_per_s"]
    report.summarise(r, 8)
    summary = r["scenarios"][0]["summary"]
    assert summary["rate_bits_per_s"] == 100e6
    assert summary["link_share"] == summary["nominal_share"]
