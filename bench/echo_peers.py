"""The echo benchmark's Python servers: asyncio streams, on CPython's
event loop or on uvloop.

  python3.13 bench/echo_peers.py asyncio
  /usr/bin/python3 bench/echo_peers.py uvloop

Listens on 127.0.0.1, port 0, prints one JSON line with the runtime and
the port, then echoes every connection (read up to 64 KiB, write, drain)
until stdin closes. bench/echo.ts starts it and drives the clients.
"""
import asyncio
import json
import sys


async def handle(reader, writer):
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


async def main(runtime):
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    print(json.dumps({"runtime": runtime, "port": port}), flush=True)
    loop = asyncio.get_running_loop()
    # Serve until the driver closes our stdin.
    await loop.run_in_executor(None, sys.stdin.read)
    server.close()


if __name__ == "__main__":
    kind = sys.argv[1] if len(sys.argv) > 1 else "asyncio"
    if kind == "uvloop":
        import uvloop
        runtime = f"uvloop {uvloop.__version__} (Python {sys.version.split()[0]})"
        new_loop = uvloop.new_event_loop
    else:
        runtime = f"asyncio (Python {sys.version.split()[0]})"
        new_loop = asyncio.new_event_loop
    loop = new_loop()
    try:
        loop.run_until_complete(main(runtime))
    finally:
        loop.close()
