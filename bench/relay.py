"""A delaying TCP relay: the round-trip time of a Wi-Fi link, added in front of the emulator.

    python bench/relay.py --listen PORT --to PORT --rtt SECONDS --lifetime SECONDS

Every chunk read from one side is written to the other half a round trip later, so a
request/response pair costs one ``--rtt`` more, as over the air; bulk data streams on at the
rate the link (``tbf`` on ``lo``) allows. Bounded everywhere: at most ``QUEUE_CHUNKS`` chunks
of ``CHUNK`` bytes wait per direction (the reader stops, TCP pushes back), at most
``MAX_CONNECTIONS`` connections at once, and the process exits after ``--lifetime`` seconds
or as soon as its standard input closes (the harness ended, however it ended).
Prints ``ready`` once listening. Loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys

CHUNK = 256 * 1024
QUEUE_CHUNKS = 64  # 16 MiB per direction at most: far above 100 Mbit/s x 4 ms (50 kB)
MAX_CONNECTIONS = 16  # PTP/IP uses two (command, event) per session


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[float, bytes] | None] = asyncio.Queue(QUEUE_CHUNKS)

    async def read() -> None:
        try:
            while data := await reader.read(CHUNK):
                await queue.put((loop.time() + delay, data))
        finally:
            await queue.put(None)

    async def write() -> None:
        while (item := await queue.get()) is not None:
            due, data = item
            if (wait := due - loop.time()) > 0:
                await asyncio.sleep(wait)
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()

    await asyncio.gather(read(), write())


async def _serve(listen: int, to: int, rtt: float, lifetime: float) -> None:
    slots = asyncio.Semaphore(MAX_CONNECTIONS)

    async def handle(c_reader: asyncio.StreamReader, c_writer: asyncio.StreamWriter) -> None:
        if slots.locked():
            c_writer.close()
            return
        async with slots:
            try:
                u_reader, u_writer = await asyncio.open_connection("127.0.0.1", to)
            except OSError:
                c_writer.close()
                return
            try:
                await asyncio.gather(
                    _pump(c_reader, u_writer, rtt / 2), _pump(u_reader, c_writer, rtt / 2)
                )
            except (ConnectionError, OSError):
                pass
            finally:
                for w in (c_writer, u_writer):
                    w.close()
                    with contextlib.suppress(ConnectionError, OSError):
                        await w.wait_closed()

    server = await asyncio.start_server(handle, "127.0.0.1", listen)
    orphaned = asyncio.create_task(_stdin_closed())
    print("ready", flush=True)
    async with server:
        serving = asyncio.create_task(server.serve_forever())
        await asyncio.wait({serving, orphaned}, timeout=lifetime, return_when="FIRST_COMPLETED")
        for task in (serving, orphaned):
            task.cancel()


async def _stdin_closed() -> None:
    """Returns when standard input ends: the harness holds the pipe, so it died or is done."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while await reader.read(4096):
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--listen", type=int, required=True)
    parser.add_argument("--to", type=int, required=True)
    parser.add_argument("--rtt", type=float, required=True, help="seconds")
    parser.add_argument("--lifetime", type=float, default=3600.0, help="seconds")
    args = parser.parse_args()
    asyncio.run(_serve(args.listen, args.to, args.rtt, args.lifetime))


if __name__ == "__main__":
    main()
