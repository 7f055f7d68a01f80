"""The fast subset of `make reliability` (tests/reliability.py): each case injects a fault into
a sync against the emulator, then runs a clean session, and checks that nothing partial, empty
or corrupt is at a final name, that the state store and the disk agree, that exit status and
summary are honest, and that the clean session completes and powers the camera off."""

from __future__ import annotations

from pathlib import Path

import pytest

from reliability import run_case
from reliability_cases import CASES, Case

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("case", [c for c in CASES if c.fast], ids=lambda c: c.name)
def test_fault_then_clean_session(case: Case, tmp_path: Path) -> None:
    result = run_case(case, tmp_path)
    assert result.status == "PASS", "\n".join([result.faulted, result.clean, *result.problems])
    assert result.lost == 0
