"""Run a vendor profile's steps on an open connection (inside the camlib's session hook)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import (
    TRANSPORT_ERRORS,
    CameraTransportError,
    VendorStepFailed,
    raise_for_response,
)
from ..profiles import Step
from ..ptpip.codes import ResponseCode, code_name
from .model import Transport

log = logging.getLogger("sony_pm_alt.vendor")


@dataclass(frozen=True)
class StepResult:
    step: Step
    code: int

    @property
    def ok(self) -> bool:
        return self.code == ResponseCode.OK


def run_steps(
    transport: Transport,
    block: str,
    steps: Sequence[Step],
    results: list[StepResult] | None = None,
) -> list[StepResult]:
    """Send each step in order. A failing step marked ``abort`` raises
    :class:`VendorStepFailed`; one marked ``skip`` is logged and the next step follows. A
    lost connection is a :class:`~sony_pm_alt.errors.CameraTransportError` whatever the step
    says: the camera did not refuse the step, so another profile would not help. Each result
    is appended to ``results`` as it comes, so a caller still knows what was answered when a
    step aborts the block."""
    results = [] if results is None else results
    for index, step in enumerate(steps, 1):
        outcome = transport.transaction(
            step.opcode, step.params, step.data, data_in=step.data_in, check=False
        )
        results.append(StepResult(step, outcome.code))
        what = f"{block} step {index}: {step.describe()}"
        if outcome.code in TRANSPORT_ERRORS:
            try:
                raise_for_response(step.opcode, outcome.code)
            except CameraTransportError as exc:
                doing = f"sending vendor profile {block} step {index} ({step.describe()})"
                raise exc.while_doing(doing) from None
        if outcome.code == ResponseCode.OK:
            log.debug("%s OK", what)
        elif step.abort_on_failure:
            raise VendorStepFailed(block, index, step.describe(), outcome.code)
        else:
            answer = code_name(outcome.code, ResponseCode)
            log.info("%s answered %s; skipped as the profile allows", what, answer)
    return results
