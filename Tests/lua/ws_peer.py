"""Python `websockets` (Debian's python3-websockets) as the peer of ratchet.websocket.

usage: /usr/bin/python3 ws_peer.py client URL [CAFILE]
    Runs checks against a ratchet server (see test_websocket_python.lua for its paths),
    printing "ok NAME" per check; exits 1 at the first failure.
usage: /usr/bin/python3 ws_peer.py server PORTFILE LIFETIME [CERT KEY]
    Serves 127.0.0.1 on a free port (written to PORTFILE as "PORT PID"), TLS with CERT/KEY,
    for LIFETIME seconds. Paths:
      /echo       echoes every message; at the end prints "echo closed CODE REASON"
      /fragments  sends one text message in two frames, then echoes
      /ping       pings, prints "ping ponged" when the pong came, then echoes
      /close      closes with 4003 "py bye"
      /badutf8    sends a text frame that is not UTF-8; prints "badutf8 closed CODE"
      /big        sends a 2 MiB binary message; prints "big closed CODE"
    The server offers the subprotocol "chat".
"""
import asyncio
import os
import ssl
import sys

import websockets

OP_TEXT = 1


def say(*words):
    print(*words, flush=True)


async def expect_close(ws, code, what):
    try:
        await asyncio.wait_for(ws.recv(), 10)
    except websockets.ConnectionClosed:
        pass
    await ws.wait_closed()
    if ws.close_code != code:
        raise AssertionError("%s: close code %r, expected %r" % (what, ws.close_code, code))
    say("ok", what)


async def client(url, cafile):
    ctx = None
    if cafile:
        ctx = ssl.create_default_context(cafile=cafile)
    kw = dict(max_size=None, ssl=ctx, open_timeout=10, close_timeout=10)
    async with websockets.connect(url + "/echo", subprotocols=["superchat", "chat"], **kw) as ws:
        assert ws.subprotocol == "chat", ws.subprotocol
        say("ok subprotocol")
        await ws.send("hello ünïcode")
        assert await ws.recv() == "hello ünïcode"
        say("ok text")
        await ws.send(b"\x00\xffbinary")
        assert await ws.recv() == b"\x00\xffbinary"
        say("ok binary")
        big = os.urandom(1 << 20)
        await ws.send(big)
        assert await ws.recv() == big
        say("ok 1MiB")
        await ws.send(["frag", "men", "ted"])
        assert await ws.recv() == "fragmented"
        say("ok fragmented")
        pong = await ws.ping(b"are you there")
        await asyncio.wait_for(pong, 10)
        say("ok pong")
        await ws.close(4001, "client bye")
        assert ws.close_code == 4001, ws.close_code
        say("ok close code from the client")
    async with websockets.connect(url + "/echo", **kw) as ws:
        await ws.write_frame(True, OP_TEXT, b"bad \xff\xfe utf-8")
        await expect_close(ws, 1007, "invalid UTF-8 -> 1007")
    async with websockets.connect(url + "/echo", **kw) as ws:
        await ws.send(b"x" * (3 << 20))
        await expect_close(ws, 1009, "over max_message -> 1009")
    async with websockets.connect(url + "/close", **kw) as ws:
        await ws.send("x")
        await expect_close(ws, 4002, "close code from the server")
        assert ws.close_reason == "server bye", ws.close_reason
    try:
        async with websockets.connect(url + "/echo", origin="http://evil.example", **kw):
            raise AssertionError("a refused origin was accepted")
    except websockets.InvalidStatusCode as e:
        assert e.status_code == 403, e.status_code
        say("ok origin refused")


async def handler(ws, path):
    if path == "/fragments":
        await ws.send(["frag", "mented"])
    elif path == "/ping":
        pong = await ws.ping(b"hi")
        await asyncio.wait_for(pong, 10)
        say("ping ponged")
    elif path == "/close":
        await ws.close(4003, "py bye")
        return
    elif path == "/badutf8":
        await ws.write_frame(True, OP_TEXT, b"\xff\xfe")
        await ws.wait_closed()
        say("badutf8 closed", ws.close_code)
        return
    elif path == "/big":
        await ws.send(b"x" * (2 << 20))
        await ws.wait_closed()
        say("big closed", ws.close_code)
        return
    try:
        async for message in ws:
            await ws.send(message)
    except websockets.ConnectionClosed:
        pass
    say("echo closed", ws.close_code, ws.close_reason)


async def server(portfile, lifetime, cert, key):
    ctx = None
    if cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
    async with websockets.serve(handler, "127.0.0.1", 0, max_size=None, ssl=ctx,
                                subprotocols=["chat"]) as srv:
        port = srv.sockets[0].getsockname()[1]
        with open(portfile + ".tmp", "w") as f:
            f.write("%d %d\n" % (port, os.getpid()))
        os.rename(portfile + ".tmp", portfile)
        await asyncio.sleep(lifetime)


def main():
    if sys.argv[1] == "client":
        try:
            asyncio.run(client(sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None))
        except Exception as e:  # the Lua test shows the output
            say("FAIL", repr(e))
            sys.exit(1)
        say("all ok")
    else:
        cert = sys.argv[4] if len(sys.argv) > 4 else None
        key = sys.argv[5] if len(sys.argv) > 5 else None
        asyncio.run(server(sys.argv[2], float(sys.argv[3]), cert, key))


if __name__ == "__main__":
    main()
