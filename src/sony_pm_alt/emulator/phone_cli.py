"""``sony-pm-alt emulate --smartphone``: run :class:`~.smartphone.SmartphoneEmulator` until
SIGINT/SIGTERM. The bound port is printed alone on the first line, as for the PTP/IP side."""

from __future__ import annotations

import signal
import sys
import threading
from datetime import datetime
from pathlib import Path

import click

from .faults import FaultSpecError, parse_faults
from .recorder import Recorder
from .smartphone import PhoneConfig, PhonePicture, SmartphoneEmulator, build_phone_pictures


def pictures_from_card(card: Path) -> list[PhonePicture]:
    """Every .JPG/.ARW under ``card`` (JPEGs are their own previews; RAWs get none)."""
    pictures = []
    for path in sorted(card.rglob("*")):
        ext = path.suffix.lower()
        if not path.is_file() or ext not in (".jpg", ".jpeg", ".arw"):
            continue
        taken = datetime.fromtimestamp(path.stat().st_mtime).replace(microsecond=0)
        data = path.read_bytes()
        original = None if ext == ".arw" else data
        previews = {} if original is None else {"LRG": data}
        pictures.append(PhonePicture(path.name, taken, original, previews))
    return pictures


def run_phone_emulator(
    card_dir: Path | None,
    host: str,
    port: int,
    model: str,
    faults: tuple[str, ...],
    page_size: int,
    selected: tuple[str, ...],
    log_path: Path | None,
) -> None:
    try:
        fault_config = parse_faults(faults)
    except FaultSpecError as exc:
        raise click.BadParameter(str(exc), param_hint="--fault") from None
    if card_dir is not None and not card_dir.is_dir():
        raise click.BadParameter(f"{card_dir} is not a directory", param_hint="--card")
    pictures = build_phone_pictures() if card_dir is None else pictures_from_card(card_dir)
    config = PhoneConfig(
        pictures,
        model=model if model != "ILCE-6000" else "ILCE-7C",
        host=host,
        port=port,
        page_size=page_size,
        selected=frozenset(selected) or None,
        faults=fault_config,
    )
    recorder = Recorder(log_path)
    emulator = SmartphoneEmulator(config, recorder)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        bound = emulator.start()
    except OSError as exc:
        raise click.ClickException(f"cannot start the emulator: {exc}") from None
    try:
        click.echo(bound)
        click.echo(
            f'Sony {config.model} emulator in "Send to Smartphone" mode: '
            f"{emulator.description_url} ({len(pictures)} files)"
        )
        sys.stdout.flush()
        stop.wait()
    finally:
        emulator.stop()
        recorder.close()
