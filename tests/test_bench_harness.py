"""`make bench` does not rot: the harness runs once on tiny inputs, on a shaped link in its own
network namespace, and writes a JSON result and a markdown report that hold every scenario.
No timing is asserted: only that both clients ran, were verified and were measured."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HARNESS = ROOT / "bench" / "harness.py"

pytestmark = pytest.mark.integration


def test_harness_runs_every_scenario_on_a_tiny_profile(tmp_path: Path) -> None:
    results, docs = tmp_path / "results", tmp_path / "benchmarks.md"
    done = subprocess.run(
        [
            sys.executable,
            str(HARNESS),
            "--tiny",
            "--link",
            "rate=200mbit,rtt=2ms",
            "--results",
            str(results),
            "--docs",
            str(docs),
            "--scratch",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    (out,) = results.glob("*.json")
    result = json.loads(out.read_text())
    assert result["mode"] == "tiny"
    assert result["link"]["rate_mbit"] == 200
    assert result["link"]["rtt_ms"] == 2
    assert any("tbf rate 200mbit" in c for c in result["link"]["commands"])
    assert [e["scenario"]["key"] for e in result["scenarios"]] == list("123456")
    assert result["calibration"]["disk_bytes_per_s"] > 0
    for entry in result["scenarios"]:
        samples, summary = entry["samples"], entry["summary"]
        assert {s["client"] for s in samples} == {"sony-pm-alt", "gphoto2"}
        for sample in samples:
            assert sample["verified"], sample
            assert 1_000_000 < sample["peak_rss"] < 2_000_000_000
            # what the clients fetched went through the counted hop
            assert sample["wire_bytes"] >= entry["scenario"]["new"] * entry["scenario"]["new_size"]
            # "until on disk" adds the fsync of what the client left to its process time
            assert sample["durable_seconds"] >= sample["seconds"]
        assert summary["limit_s"] > 0
        assert summary["ratio"] is not None
        assert summary["durable_ratio"] is not None
        assert summary["shaped"] is (entry["scenario"]["key"] != "6")
    targets = {t["target"] for t in result["targets"]}
    assert "10,000 objects within 1.3× of 2,000" in targets
    text = docs.read_text()
    assert "tbf rate 200mbit" in text
    assert "unshare -rn" in text
    for entry in result["scenarios"]:
        assert f"| {entry['scenario']['key']} | {entry['scenario']['title']} |" in text
    assert str(out.name) in text


def test_bad_link_is_one_clear_error() -> None:
    done = subprocess.run(
        [sys.executable, str(HARNESS), "--link", "fast"], capture_output=True, text=True
    )
    assert done.returncode == 2
    assert "use loopback, wifi or rate=100mbit,rtt=4ms" in done.stderr
