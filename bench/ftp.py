"""`make bench`, FTP part: the receiver against a plain pyftpdlib server on loopback.

Each server runs in its own process and receives the same uploads from the FTP camera
emulator (one client, so the client's cost is the same on both sides): a batch of files, then
one large clip (3.5 GiB by default, ``BENCH_FTP_BIG_GIB`` to change). Reported: MB/s for each,
and each server's peak resident memory (VmHWM) after the batch and after the clip — flat
memory means the clip adds next to nothing. The receiver does more than the plain server
(hashing, fsync, the format check, placement, the state store), all counted in its time.
"pyftpdlib + fsync" is the plain server made as durable (fsync before the 226), the fair
comparison for a disk-bound run; plain pyftpdlib leaves the data in the page cache.
Numbers, not assertions: compare runs on the same machine.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sony_pm_alt.emulator.ftp_camera import FtpCamera, FtpCameraSettings
from sony_pm_alt.emulator.ftp_media import MediaFile, card

BATCH_FILES, BATCH_MB = 12, 32
BIG_GIB = float(os.environ.get("BENCH_FTP_BIG_GIB", "3.5"))


def serve(kind: str, root: Path) -> None:
    """The server process: print the port, serve until stdin closes."""
    import logging
    import threading

    logging.getLogger("pyftpdlib").addHandler(logging.NullHandler())  # no per-command lines
    logging.getLogger("pyftpdlib").setLevel(logging.WARNING)
    if kind in ("plain", "plain+fsync"):
        from pyftpdlib.authorizers import DummyAuthorizer
        from pyftpdlib.handlers import FTPHandler
        from pyftpdlib.servers import ThreadedFTPServer

        authorizer = DummyAuthorizer()
        authorizer.add_user("cam", "pw", str(root), perm="elradfmwMT")
        handler: Any = type("Plain", (FTPHandler,), {"authorizer": authorizer})
        if kind == "plain+fsync":  # the same durability as the receiver: fsync before 226

            def on_file_received(self: Any, file: str) -> None:
                fd = os.open(file, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)

            handler.on_file_received = on_file_received
        server = ThreadedFTPServer(("127.0.0.1", 0), handler)
        print(server.address[1], flush=True)
        thread = threading.Thread(
            target=server.serve_forever, kwargs={"timeout": 0.2, "handle_exit": False}
        )
        thread.start()
        sys.stdin.read()
        server.close_all()
        return
    from sony_pm_alt.engine.state import StateStore
    from sony_pm_alt.ftp.accounts import Account
    from sony_pm_alt.ftp.server import FtpReceiver, ReceiverSettings

    account = Account("cam", "BENCH", root, "{folder}/{filename}", password="pw")
    with StateStore(root.parent / f"{root.name}.sqlite3") as store:
        settings = ReceiverSettings(listen="127.0.0.1", port=0, accounts=(account,))
        receiver = FtpReceiver(settings, store).start()
        print(receiver.address[1], flush=True)
        sys.stdin.read()
        receiver.stop()


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run(kind: str, files: list[MediaFile], work: Path) -> tuple[float, float, float, float]:
    root = work / kind
    root.mkdir()
    proc = subprocess.Popen([sys.executable, __file__, "serve", kind, str(root)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)  # fmt: skip
    assert proc.stdout is not None
    assert proc.stdin is not None
    port = int(proc.stdout.readline())
    camera = FtpCamera(FtpCameraSettings("127.0.0.1", port, "cam", "pw", hierarchy="camera"))
    batch, big = files[:-1], files[-1:]
    started = time.perf_counter()
    camera.send_all(batch)
    batch_rate = sum(_size(m) for m in batch) / (time.perf_counter() - started) / 1e6
    batch_rss = peak_rss_mib(proc.pid)
    started = time.perf_counter()
    camera.send_all(big)
    big_rate = _size(big[0]) / (time.perf_counter() - started) / 1e6
    big_rss = peak_rss_mib(proc.pid)
    proc.stdin.close()
    proc.wait(60)
    shutil.rmtree(root)
    return batch_rate, big_rate, batch_rss, big_rss


def _size(media: MediaFile) -> int:
    return 24 + 16 + media.size_hint + 116 if media.kind == "mp4" else len(media.data())


def main() -> None:
    files = card(BATCH_FILES, kinds=("mp4",), mp4_bytes=BATCH_MB << 20, seed=1)
    files += card(1, first_number=BATCH_FILES + 1, kinds=("mp4",),
                  mp4_bytes=int(BIG_GIB * (1 << 30)), seed=2)  # fmt: skip
    results = {}
    scratch_dir = os.environ.get("BENCH_DIR")  # default: the system's temporary directory
    with tempfile.TemporaryDirectory(prefix="sony-pm-alt-bench-ftp-", dir=scratch_dir) as scratch:
        for kind in ("plain", "plain+fsync", "receiver"):
            results[kind] = run(kind, files, Path(scratch))
    print(f"\nFTP uploads on loopback ({BATCH_FILES} x {BATCH_MB} MiB, then {BIG_GIB:g} GiB):")
    print(f"{'server':<22}{'batch MB/s':>12}{'clip MB/s':>12}{'peak MiB':>10}{'after clip':>12}")
    for kind, (batch, big, rss, rss_big) in results.items():
        name = {"plain": "pyftpdlib", "plain+fsync": "pyftpdlib + fsync"}.get(kind, "receiver")
        print(f"{name:<22}{batch:>12.0f}{big:>12.0f}{rss:>10.0f}{rss_big:>12.0f}")
    ours = results["receiver"]
    for kind in ("plain", "plain+fsync"):
        base = results[kind]
        print(f"receiver / {kind}: batch {ours[0] / base[0]:.2f}x, clip {ours[1] / base[1]:.2f}x")
    print(f"the clip added {ours[3] - ours[2]:.0f} MiB to the receiver's peak memory")
    print(json.dumps({"ftp": results}))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "serve":
        serve(sys.argv[2], Path(sys.argv[3]))
    else:
        main()
