"""``sony-pm-alt emulate``: a Sony camera on loopback (or in a namespace), for tests and demos."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from ..emulator import Emulator


def _guid(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> frozenset[bytes]:
    from ..identity import parse_guid

    try:
        return frozenset(parse_guid(v) for v in values)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _opcodes(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> frozenset[int]:
    try:
        return frozenset(int(v, 0) for v in values)
    except ValueError:
        raise click.BadParameter(
            f"expected opcodes such as 0x9805, got {' '.join(values)}"
        ) from None


def _mac(ctx: click.Context, param: click.Parameter, value: str | None) -> bytes | None:
    from ..emulator.body import parse_mac

    if value is None:
        return None
    try:
        return parse_mac(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@click.command()
@click.option(
    "--card",
    "card_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory served as the memory card. Default: the built-in demo card.",
)
@click.option("--host", default="127.0.0.1", help="Address to listen on.")
@click.option(
    "--port",
    default=0,
    type=click.IntRange(0, 65535),
    help="PTP/IP port (a real camera uses 15740); 0 picks a free one. "
    "The bound port is printed alone on the first line of output.",
)
@click.option(
    "--guid",
    "guids",
    multiple=True,
    callback=_guid,
    metavar="GUID",
    help="Paired initiator GUID (repeatable). Others get Init Fail. Default: accept any.",
)
@click.option("--model", default="ILCE-6000", help="Model name reported.")
@click.option("--serial", default="00000000000000003282651203392641")
@click.option("--mac", callback=_mac, help="Camera MAC (its GUID and SSDP uuid derive from it).")
@click.option(
    "--log",
    "log_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write JSON lines of everything received and done to this file.",
)
@click.option(
    "--inactivity-timeout",
    default=120.0,
    type=click.FloatRange(0.1),
    help="Seconds of silence after which the camera gives up, as a real body does.",
)
@click.option(
    "--activations",
    default=1,
    type=click.IntRange(0),
    help='How many times "Send to Computer" is chosen before the emulator exits (0 = forever).',
)
@click.option(
    "--legacy-power-off",
    is_flag=True,
    help="Power off on the power-off 0x9280 alone, as an ILCE-5000 did; newer bodies "
    "(the default) wait for the 0x9281 that follows it.",
)
@click.option(
    "--lenient-tids",
    is_flag=True,
    help="Accept out-of-sequence transaction IDs (logged) as a real body did.",
)
@click.option(
    "--without-op",
    "without_ops",
    multiple=True,
    callback=_opcodes,
    metavar="OPCODE",
    help="Do not offer this operation, e.g. 0x9805 (repeatable).",
)
@click.option(
    "--partial64",
    is_flag=True,
    help="Also offer GetPartialObject64 (0x95C1, Android's MTP extension), to test reads of "
    "files of 4 GiB or more; no real Sony body is known to offer it.",
)
@click.option(
    "--fault",
    "faults",
    multiple=True,
    metavar="KIND=VALUE",
    help="Inject a fault (repeatable): drop-after-bytes=N, drop-at=OPCODE:K, "
    "latency=[OPCODE:]SECONDS, busy-first=N, refuse-init=REASON, hostile-names=1 (files "
    "reported under names such as ../../escape.JPG; data unchanged), folder-cycle=1, "
    "huge-counts=1, bad-dates=1, listing-size-mismatch=N, busy-open-session=N; hostile data "
    "phases: oversize-data=N, undersize-data=N, endless-data=1, lying-length=N, stale-reply=1; "
    "drop-handshake=1; smartphone mode: refuse-push-root=1, missing-scpd=1, gone-file=N "
    "(README: Emulator faults).",
)
@click.option("--ssdp", is_flag=True, help="Announce over SSDP and serve /DeviceDescription.xml.")
@click.option("--advertise-host", help="Address put in LOCATION. Default: --host.")
@click.option("--ssdp-interface", help="IPv4 address of the interface used for multicast.")
@click.option("--ssdp-group", default="239.255.255.250")
@click.option("--ssdp-port", default=1900, type=click.IntRange(1, 65535))
@click.option(
    "--http-port",
    default=1900,
    type=click.IntRange(0, 65535),
    help="Port of the description server (0 picks a free one).",
)
@click.option("--notify-interval", default=3.0, type=click.FloatRange(0.05))
@click.option(
    "--smartphone",
    is_flag=True,
    help='Be a body in "Send to Smartphone" mode instead (UPnP on --port, default 64321 on a '
    "real body; 8 RAW+JPEG shots unless --card).",
)
@click.option("--page-size", default=50, type=click.IntRange(1, 10_000))
@click.option(
    "--select",
    "selected",
    multiple=True,
    help="Smartphone mode: a file name selected on the camera (PushRoot; repeatable). "
    "Default: all.",
)
def emulate(
    card_dir: Path | None,
    host: str,
    port: int,
    guids: frozenset[bytes],
    model: str,
    serial: str,
    mac: bytes | None,
    log_path: Path | None,
    inactivity_timeout: float,
    activations: int,
    legacy_power_off: bool,
    lenient_tids: bool,
    without_ops: frozenset[int],
    partial64: bool,
    faults: tuple[str, ...],
    ssdp: bool,
    advertise_host: str | None,
    ssdp_interface: str | None,
    ssdp_group: str,
    ssdp_port: int,
    http_port: int,
    notify_interval: float,
    smartphone: bool,
    page_size: int,
    selected: tuple[str, ...],
) -> None:
    """Pretend to be a Sony camera in "Send to Computer" mode (no camera needed)."""
    if smartphone:
        from ..emulator.phone_cli import run_phone_emulator

        run_phone_emulator(card_dir, host, port, model, faults, page_size, selected, log_path)
        return
    import asyncio

    from ..emulator import (
        BodyConfig,
        Emulator,
        EmulatorConfig,
        FaultSpecError,
        Recorder,
        SsdpConfig,
        build_demo_card,
        parse_faults,
    )
    from ..emulator.body import DEFAULT_MAC

    try:
        fault_config = parse_faults(faults)
    except FaultSpecError as exc:
        raise click.BadParameter(str(exc), param_hint="--fault") from None
    with tempfile.TemporaryDirectory(prefix="sony-pm-alt-demo-card-") as scratch:
        if card_dir is None:
            card_dir = build_demo_card(Path(scratch))
        elif not card_dir.is_dir():
            raise click.BadParameter(f"{card_dir} is not a directory", param_hint="--card")
        body = BodyConfig(
            model=model,
            serial_number=serial,
            mac=mac or DEFAULT_MAC,
            allowed_guids=guids,
            without_operations=without_ops,
            power_off_needs_9281=not legacy_power_off,
            partial_object_64=partial64,
        )
        ssdp_config = (
            SsdpConfig(
                advertise_host=advertise_host or host,
                interface=ssdp_interface,
                group=ssdp_group,
                port=ssdp_port,
                http_host=host,
                http_port=http_port,
                notify_interval=notify_interval,
            )
            if ssdp
            else None
        )
        config = EmulatorConfig(
            card_dir=card_dir,
            body=body,
            host=host,
            port=port,
            inactivity_timeout=inactivity_timeout,
            activations=activations,
            strict_tids=not lenient_tids,
            faults=fault_config,
            ssdp=ssdp_config,
        )
        recorder = Recorder(log_path)
        try:
            asyncio.run(_run_emulator(Emulator(config, recorder)))
        except OSError as exc:
            raise click.ClickException(f"cannot start the emulator: {exc}") from None
        finally:
            recorder.close()


async def _run_emulator(emulator: Emulator) -> None:
    import asyncio
    import signal

    port = await emulator.start()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, emulator.stop)
    config = emulator.config
    click.echo(port)
    click.echo(
        f"Sony {config.body.model} emulator: PTP/IP on {config.host}:{port}, card {config.card_dir}"
    )
    sys.stdout.flush()
    await emulator.run()
