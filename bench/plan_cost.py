"""The per-object pieces of a nothing-new session, each timed alone (CPU time, minimum of
several runs): the numbers behind docs/bench-plan-cost.md.

    python bench/plan_cost.py 2000 10000 [--runs 5]

For each count: a card of that many small files (as the harness writes them), the emulator's
card scan, its object table and whole-card GetObjPropList reply, then the client's decoding of
that reply, the files built from it and the state store's "what is new" against a store that
holds every file already.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import write_files  # bench/ is not a package

from sony_pm_alt.emulator.body import BodyConfig
from sony_pm_alt.emulator.camera import DEPTH_ALL, Camera, Reply
from sony_pm_alt.emulator.card import Card
from sony_pm_alt.engine.listing import objects_from_prop_list
from sony_pm_alt.engine.model import CameraInfo
from sony_pm_alt.engine.state import StateStore
from sony_pm_alt.ptpip.codes import ALL_PROPERTIES, ALL_STORAGES, ResponseCode
from sony_pm_alt.ptpip.codes import OperationCode as Op
from sony_pm_alt.ptpip.connection import OperationReady
from sony_pm_alt.ptpip.datasets import ObjectPropList
from sony_pm_alt.ptpip.packets import OperationRequest

T = TypeVar("T")
CAMERA = CameraInfo("ILCE-7M4", "plan-cost")


def timed(label: str, runs: int, work: Callable[[], T]) -> T:
    start = time.process_time()
    result = work()
    best = time.process_time() - start
    for _ in range(runs - 1):
        start = time.process_time()
        work()
        best = min(best, time.process_time() - start)
    print(f"  {label:38} {best * 1000:7.1f} ms")
    return result


def measure(count: int, runs: int) -> None:
    with tempfile.TemporaryDirectory(prefix="sony-pm-alt-plan-cost-") as tmp:
        root = Path(tmp)
        write_files(root / "card", 0, count, 2048, seed=1)
        print(f"{count} objects:")
        card = timed("emulator: card scan", runs, lambda: Card.scan(root / "card"))
        camera = timed(
            "emulator: object table (per activation)",
            runs,
            lambda: Camera(BodyConfig(), card, lambda *_args, **_fields: None),
        )
        tids = iter(range(1 << 31))  # as gphoto2 numbers them: OpenSession 0, then +1

        def ask(code: int, *params: int) -> Reply:
            reply = camera.execute(OperationReady(OperationRequest(code, next(tids), params)))
            assert reply.code == ResponseCode.OK, f"0x{code:04X} answered 0x{reply.code:04X}"
            return reply

        ask(Op.OPEN_SESSION, 1)
        whole_card = (ALL_STORAGES, 0, ALL_PROPERTIES, 0, DEPTH_ALL)
        reply = timed(
            "emulator: whole-card reply", runs, lambda: ask(Op.MTP_GET_OBJ_PROP_LIST, *whole_card)
        )
        data = reply.data
        assert isinstance(data, bytes)
        by_handle = timed("client: decode", runs, lambda: ObjectPropList.decode_by_handle(data))
        files = timed("client: files", runs, lambda: objects_from_prop_list(by_handle))
        with StateStore(root / "state.sqlite3") as store:
            session = store.start_session(CAMERA, len(files))
            for obj in files:
                store.record_transfer(session, CAMERA, obj, root / obj.name, "0" * 64)
            new = timed("client: what is new", runs, lambda: store.new_objects(CAMERA, files))
            assert new == []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("counts", type=int, nargs="+")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    for count in args.counts:
        measure(count, max(1, args.runs))


if __name__ == "__main__":
    main()
