"""Python `websockets` (Debian's python3-websockets) as the permessage-deflate peer of
ratchet.websocket (test_websocket_deflate_python.lua).

usage: /usr/bin/python3 ws_deflate_peer.py client URL
    Runs checks against a ratchet server (paths as test_websocket_deflate_python.lua serves
    them), printing "ok NAME" per check; exits 1 at the first failure.
usage: /usr/bin/python3 ws_deflate_peer.py server PORTFILE LIFETIME
    Serves three servers on free ports of 127.0.0.1 and writes "default PORT nct PORT off
    PORT PID" to PORTFILE: `default` has websockets' default compression (windows of 12
    bits), `nct` asks for no context takeover both ways and windows of 10 (server) and 9
    (client) bits, `off` has none. Paths:
      /echo   echoes; at the end prints "echo closed CODE compressed=N" (N: messages that
              came compressed)
      /bomb   sends 64 MiB of zeros, compressed (64 KiB on the wire); prints "bomb closed CODE"
      /rsv1   (on `off`) sends a frame with RSV1 set; prints "rsv1 closed CODE"
"""
import asyncio
import os
import sys

import websockets
from websockets.extensions.permessage_deflate import (
    ClientPerMessageDeflateFactory, PerMessageDeflate, ServerPerMessageDeflateFactory)


def say(*words):
    print(*words, flush=True)


class Counting(PerMessageDeflate):
    """PerMessageDeflate that counts the compressed messages it receives (RSV1 frames)."""
    compressed_in = 0

    def decode(self, frame, *, max_size=None):
        if frame.rsv1:
            self.compressed_in += 1
        return super().decode(frame, max_size=max_size)


class CountingClient(ClientPerMessageDeflateFactory):
    def process_response_params(self, params, accepted):
        ext = super().process_response_params(params, accepted)
        ext.__class__ = Counting
        return ext


class CountingServer(ServerPerMessageDeflateFactory):
    def process_request_params(self, params, accepted):
        response, ext = super().process_request_params(params, accepted)
        ext.__class__ = Counting
        return response, ext


def deflate_of(ws):
    exts = [e for e in ws.extensions if isinstance(e, PerMessageDeflate)]
    return exts[0] if exts else None


def frame_bytes(b0, payload, masked):
    """One frame written by hand (payload under 126 bytes); masked with the zero key."""
    assert len(payload) < 126
    if masked:
        return bytes([b0, 0x80 | len(payload)]) + b"\0\0\0\0" + payload
    return bytes([b0, len(payload)]) + payload


async def expect_close(ws, code, what):
    try:
        while True:
            await asyncio.wait_for(ws.recv(), 10)
    except websockets.ConnectionClosed:
        pass
    await ws.wait_closed()
    if ws.close_code != code:
        raise AssertionError("%s: close code %r, expected %r" % (what, ws.close_code, code))
    say("ok", what)


JSONISH = '{"type":"tick","seq":%d,"price":101.25,"qty":3,"side":"buy","venue":"X"}'
BIG = b"0123456789abcdef" * 65536    # 1 MiB, compressible


async def echo_checks(ws, what, compressed=True):
    """Messages both ways; the server's answers come compressed (or not)."""
    ext = deflate_of(ws)
    for i in range(20):
        await ws.send(JSONISH % i)
        assert await ws.recv() == JSONISH % i
    await ws.send(BIG)
    assert await ws.recv() == BIG
    await ws.send(["frag", "men", "ted"])
    assert await ws.recv() == "fragmented"
    if compressed:
        assert ext.compressed_in == 22, (what, ext.compressed_in)
    elif ext:
        assert ext.compressed_in == 0, (what, ext.compressed_in)
    say("ok", what)


def client_factory(**kw):
    kw.setdefault("compress_settings", {"memLevel": 5})
    return CountingClient(**kw)


async def client(url):
    kw = dict(max_size=None, open_timeout=10, close_timeout=10)
    # websockets' default offer: permessage-deflate; client_max_window_bits
    async with websockets.connect(url + "/echo", extensions=[client_factory()], compression=None, **kw) as ws:
        ext = deflate_of(ws)
        assert ext, ws.response_headers
        assert (ext.remote_max_window_bits, ext.local_max_window_bits) == (12, 12), ext
        assert not ext.remote_no_context_takeover and not ext.local_no_context_takeover, ext
        await echo_checks(ws, "default offer: windows of 12 bits, context takeover both ways")
    async with websockets.connect(url + "/echo", **kw) as ws:
        assert deflate_of(ws), "websockets.connect's default compression was not agreed"
        say("ok websockets' own default compression agreed")
    f = client_factory(server_no_context_takeover=True, client_no_context_takeover=True)
    async with websockets.connect(url + "/echo", extensions=[f], compression=None, **kw) as ws:
        ext = deflate_of(ws)
        assert ext.remote_no_context_takeover and ext.local_no_context_takeover, ext
        await echo_checks(ws, "no context takeover offered both ways")
    async with websockets.connect(url + "/nct", extensions=[client_factory()], compression=None, **kw) as ws:
        ext = deflate_of(ws)
        assert ext.remote_no_context_takeover and ext.local_no_context_takeover, ext
        await echo_checks(ws, "no context takeover asked by the server")
    for bits in (9, 10, 15):
        f = client_factory(server_max_window_bits=bits, client_max_window_bits=bits)
        async with websockets.connect(url + "/echo", extensions=[f], compression=None, **kw) as ws:
            ext = deflate_of(ws)
            want = min(bits, 12)
            assert (ext.remote_max_window_bits, ext.local_max_window_bits) == (want, want), (bits, ext)
            await echo_checks(ws, "max_window_bits=%d offered -> %d" % (bits, want))
    async with websockets.connect(url + "/bits", extensions=[client_factory()], compression=None, **kw) as ws:
        ext = deflate_of(ws)
        assert (ext.remote_max_window_bits, ext.local_max_window_bits) == (10, 9), ext
        await echo_checks(ws, "server configured for windows of 10 and 9 bits")
    # a window of 8 bits, which zlib cannot compress with: agreed, the server sends uncompressed
    f = client_factory(server_max_window_bits=8)
    async with websockets.connect(url + "/echo", extensions=[f], compression=None, **kw) as ws:
        assert deflate_of(ws).remote_max_window_bits == 8
        await echo_checks(ws, "server_max_window_bits=8: agreed, answers uncompressed", compressed=False)
    async with websockets.connect(url + "/echo", compression=None, **kw) as ws:
        assert not ws.extensions
        await echo_checks(ws, "no compression offered", compressed=False)
    async with websockets.connect(url + "/off", extensions=[client_factory()], compression=None, **kw) as ws:
        assert not ws.extensions, ws.extensions
        await echo_checks(ws, "server with compression off declines", compressed=False)

    # the limits and rules
    async with websockets.connect(url + "/echo", extensions=[client_factory()], compression=None, **kw) as ws:
        await ws.send(b"\0" * (64 << 20))       # about 64 KiB on the wire
        await expect_close(ws, 1009, "zip bomb (64 MiB of zeros) -> 1009")
    async with websockets.connect(url + "/echo", compression=None, **kw) as ws:
        ws.transport.write(frame_bytes(0xC1, b"x", True))    # FIN RSV1 text
        await expect_close(ws, 1002, "RSV1 without permessage-deflate -> 1002")
    async with websockets.connect(url + "/echo", extensions=[client_factory()], compression=None, **kw) as ws:
        ws.transport.write(frame_bytes(0xC9, b"p", True))    # FIN RSV1 ping
        await expect_close(ws, 1002, "RSV1 on a ping -> 1002")
    async with websockets.connect(url + "/echo", extensions=[client_factory()], compression=None, **kw) as ws:
        ws.transport.write(frame_bytes(0x01, b"a", True) + frame_bytes(0xC0, b"b", True))
        await expect_close(ws, 1002, "RSV1 on a continuation frame -> 1002")
    async with websockets.connect(url + "/echo", extensions=[client_factory()], compression=None, **kw) as ws:
        ws.transport.write(frame_bytes(0xC2, b"\xff\xff\xff\xff", True))
        await expect_close(ws, 1007, "data that is not DEFLATE -> 1007")


async def handler(ws, path):
    if path == "/bomb":
        try:
            await ws.send(b"\0" * (64 << 20))
        except websockets.ConnectionClosed:
            pass
        await ws.wait_closed()
        say("bomb closed", ws.close_code)
        return
    if path == "/rsv1":
        ws.transport.write(frame_bytes(0xC1, b"x", False))
        await ws.wait_closed()
        say("rsv1 closed", ws.close_code)
        return
    try:
        async for message in ws:
            await ws.send(message)
    except websockets.ConnectionClosed:
        pass
    ext = deflate_of(ws)
    say("echo closed", ws.close_code, "compressed=%d" % (ext.compressed_in if ext else 0))


async def server(portfile, lifetime):
    configs = {
        "default": [CountingServer(server_max_window_bits=12, client_max_window_bits=12,
                                   compress_settings={"memLevel": 5})],
        "nct": [CountingServer(server_no_context_takeover=True, client_no_context_takeover=True,
                               server_max_window_bits=10, client_max_window_bits=9)],
        "off": [],
    }
    servers, words = [], []
    for name, exts in configs.items():
        srv = await websockets.serve(handler, "127.0.0.1", 0, max_size=None, compression=None,
                                     extensions=exts)
        servers.append(srv)
        words += [name, str(srv.sockets[0].getsockname()[1])]
    with open(portfile + ".tmp", "w") as f:
        f.write(" ".join(words) + " %d\n" % os.getpid())
    os.rename(portfile + ".tmp", portfile)
    await asyncio.sleep(lifetime)
    for srv in servers:
        srv.close()


def main():
    if sys.argv[1] == "client":
        try:
            asyncio.run(client(sys.argv[2]))
        except Exception as e:  # the Lua test shows the output
            say("FAIL", repr(e))
            sys.exit(1)
        say("all ok")
    else:
        asyncio.run(server(sys.argv[2], float(sys.argv[3])))


if __name__ == "__main__":
    main()
