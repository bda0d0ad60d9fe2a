"""The same WebSocket echo server as examples/websocket_echo.lua, with Python's `websockets`
(asyncio; permessage-deflate as websockets does by default, used when the load offers it), for
bench/websocket_echo.sh.   usage: websocket_echo_py.py PORT"""
import asyncio
import sys

import websockets


async def echo(ws, path):
    async for message in ws:
        await ws.send(message)


async def main(port):
    async with websockets.serve(echo, "127.0.0.1", port, max_size=16 << 20):
        await asyncio.Future()


asyncio.run(main(int(sys.argv[1])))
