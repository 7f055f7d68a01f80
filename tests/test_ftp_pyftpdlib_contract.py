"""What the receiver relies on in pyftpdlib, checked against the installed version, so that
an upgrade that changes it fails here, loudly and by name, rather than as a camera that never
gets its reply (issue 10: the receiver used pyftpdlib's private names; now it uses none)."""

from __future__ import annotations

import ast
import ftplib
import io
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.filesystems import AbstractedFS
from pyftpdlib.handlers import DTPHandler, FTPHandler
from pyftpdlib.servers import ThreadedFTPServer

import sony_pm_alt.ftp

FTP_PACKAGE = Path(sony_pm_alt.ftp.__file__).parent
TIMEOUT = 30


def _modules() -> Iterator[tuple[Path, ast.Module]]:
    for path in sorted(FTP_PACKAGE.glob("*.py")):
        yield path, ast.parse(path.read_text(), str(path))


def test_no_private_pyftpdlib_name_is_imported() -> None:
    private = [
        f"{path.name}: from {node.module} import {alias.name}"
        for path, tree in _modules()
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("pyftpdlib")
        for alias in node.names
        if alias.name.startswith("_")
    ]
    assert private == []


def _is_self(node: ast.expr) -> bool:
    return isinstance(node, ast.Name) and node.id == "self"


def test_every_private_attribute_the_server_uses_is_its_own() -> None:
    """An ``x._name`` in server.py must be defined in server.py (a method, a class attribute
    or an assignment): anything else would be reaching into pyftpdlib's internals."""
    tree = ast.parse((FTP_PACKAGE / "server.py").read_text())
    defined = {
        node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef | ast.ClassDef)
    }
    for node in ast.walk(tree):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign | ast.AugAssign):
            targets = [node.target]
        for target in targets:
            for leaf in ast.walk(target):
                if isinstance(leaf, ast.Attribute) and _is_self(leaf.value):
                    defined.add(leaf.attr)  # self._x = ...: ours (dtp._x = ...: not ours)
                elif isinstance(leaf, ast.Name):
                    defined.add(leaf.id)
    used = {
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and node.attr.startswith("_")
        and not node.attr.startswith("__")
    }
    assert used - defined == set()


def test_public_names_the_receiver_uses_exist() -> None:
    for cls, names in (
        (DTPHandler, ["close", "enable_receiving", "handle_read", "handle_close", "handle_error",
                      "ac_in_buffer_size"]),
        (FTPHandler, ["respond", "pre_process_command", "handle_auth_failed", "on_login",
                      "on_disconnect", "proto_cmds", "auth_failed_timeout", "passive_ports",
                      "masquerade_address", "dtp_handler", "abstracted_fs", "ftp_MFMT",
                      "ftp_PASS"]),
        (AbstractedFS, ["ftpnorm", "open", "chdir", "mkdir", "listdir", "format_list", "utime",
                        "getsize", "getmtime", "stat", "lstat", "isfile", "isdir"]),
        (ThreadedFTPServer, ["serve_forever", "close_all", "address", "max_cons",
                             "max_cons_per_ip"]),
    ):  # fmt: skip
        missing = [name for name in names if not hasattr(cls, name)]
        assert missing == [], f"pyftpdlib's {cls.__name__} no longer has {missing}"


class _Recorder:
    def __init__(self) -> None:
        self.steps: list[str] = []
        self.lock = threading.Lock()

    def add(self, step: str) -> None:
        with self.lock:
            self.steps.append(step)


class _File(io.BytesIO):
    recorder: _Recorder
    name = "upload"

    def close(self) -> None:
        if not self.closed:
            self.recorder.add("file closed")
        super().close()


@pytest.fixture
def recorded(tmp_path: Path) -> Iterator[tuple[_Recorder, int, ThreadedFTPServer]]:
    recorder = _Recorder()

    class FS(AbstractedFS):  # type: ignore[misc]
        def open(self, filename: str, mode: str) -> _File:
            file = _File()
            file.recorder = recorder
            return file

    class DTP(DTPHandler):  # type: ignore[misc]
        def enable_receiving(self, type: str, cmd: str) -> None:
            recorder.add(f"enable_receiving {type}")
            super().enable_receiving(type, cmd)

        def close(self) -> None:
            if self.receive and self.file_obj is not None and not self.file_obj.closed:
                recorder.add(f"dtp close, transfer_finished={self.transfer_finished}")
            super().close()

    class Handler(FTPHandler):  # type: ignore[misc]
        abstracted_fs = FS
        dtp_handler = DTP

        def respond(self, resp: str, logfun: Any = None) -> None:
            if resp[:3] in ("226", "426", "451"):
                recorder.add(f"reply {resp[:3]}")
            if logfun is None:
                super().respond(resp)
            else:
                super().respond(resp, logfun=logfun)

        def on_file_received(self, file: str) -> None:
            recorder.add("on_file_received")

    authorizer = DummyAuthorizer()
    authorizer.add_user("u", "p", str(tmp_path), perm="elradfmwMT")
    Handler.authorizer = authorizer
    server = ThreadedFTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"timeout": 0.2, "handle_exit": False}, daemon=True
    )
    thread.start()
    yield recorder, server.address[1], server
    server.close_all()
    thread.join(TIMEOUT)


def test_the_data_channel_closes_before_its_reply_goes_through_respond(
    recorded: tuple[_Recorder, int, ThreadedFTPServer],
) -> None:
    """The receiver checks and places an upload in the data channel's ``close`` and turns
    the ``226`` into a ``451`` in ``respond``: this order is what makes that work."""
    recorder, port, server = recorded
    assert len(server.ip_map) == 0
    ftp = ftplib.FTP(timeout=TIMEOUT)
    ftp.connect("127.0.0.1", port)
    assert len(server.ip_map) == 1  # FtpReceiver.connections() counts these
    ftp.login("u", "p")
    ftp.storbinary("STOR x.bin", io.BytesIO(b"bytes"))
    ftp.quit()
    assert recorder.steps == [
        "enable_receiving i",
        "dtp close, transfer_finished=True",
        "file closed",
        "reply 226",
        "on_file_received",
    ]
