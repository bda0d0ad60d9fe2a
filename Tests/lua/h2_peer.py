"""A raw HTTP/2 client (hyperframe and hpack, from python3-h2) that sends what a well-behaved
client never would, for the HTTP/2 server tests.

usage: /usr/bin/python3 h2_peer.py PORT SCENARIO [CASE]
       /usr/bin/python3 h2_peer.py silent-server
Prints one line per case: "<case>: <what the server did>", e.g. "data-on-stream-0: goaway 1"
(GOAWAY with error code 1), "rst 3 1" (RST_STREAM on stream 3, code 1), "status 431".
"""
import socket
import sys
import time

from hpack import Encoder, Decoder
from hyperframe.frame import (Frame, SettingsFrame, HeadersFrame, DataFrame, GoAwayFrame,
                              RstStreamFrame, WindowUpdateFrame, PingFrame)

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


class Peer:
    def __init__(self, port, preface=True):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        if preface:
            self.sock.sendall(PREFACE + SettingsFrame(0).serialize())
        self.enc, self.dec, self.buf = Encoder(), Decoder(), b""
        self.ack = False

    def raw(self, data):
        self.sock.sendall(data)

    def send(self, frame):
        self.sock.sendall(frame.serialize())

    def request(self, stream_id, path, extra=(), end=True, method="GET"):
        self.raw(self.request_bytes(stream_id, path, extra, end, method))

    def request_bytes(self, stream_id, path, extra=(), end=True, method="GET"):
        headers = [(":method", method), (":scheme", "http"), (":authority", "localhost"),
                   (":path", path)] + list(extra)
        block = self.enc.encode(headers)
        first, rest = block[:16384], block[16384:]
        flags = (0 if rest else 4) | (1 if end else 0)   # END_HEADERS, END_STREAM
        out = frame_bytes(len(first), 1, flags, stream_id, first)
        while rest:
            piece, rest = rest[:16384], rest[16384:]
            out += frame_bytes(len(piece), 9, 0 if rest else 4, stream_id, piece)   # CONTINUATION
        return out

    def frames(self, seconds=5):
        """Frames from the server until it closes or is quiet for `seconds`."""
        deadline = time.time() + seconds
        while time.time() < deadline:
            while len(self.buf) >= 9:
                frame, length = Frame.parse_frame_header(memoryview(self.buf[:9]))
                if len(self.buf) < 9 + length:
                    break
                frame.parse_body(memoryview(self.buf[9:9 + length]))
                self.buf = self.buf[9 + length:]
                yield frame
            try:
                self.sock.settimeout(max(0.01, deadline - time.time()))
                data = self.sock.recv(65536)
            except socket.timeout:
                return
            except OSError:
                yield "eof"
                return
            if not data:
                yield "eof"
                return
            self.buf += data

    def outcome(self, stream_id=None, seconds=5):
        """What the server answered: GOAWAY, RST_STREAM or the status of `stream_id`."""
        for f in self.frames(seconds):
            if f == "eof":
                return "eof"
            if isinstance(f, SettingsFrame) and "ACK" not in f.flags:
                self.send(SettingsFrame(0, flags=["ACK"]))
            elif isinstance(f, GoAwayFrame):
                return "goaway %d" % f.error_code
            elif isinstance(f, RstStreamFrame):
                return "rst %d %d" % (f.stream_id, f.error_code)
            elif isinstance(f, HeadersFrame) and f.stream_id == stream_id:
                return "status " + dict(self.dec.decode(f.data))[":status"]
        return "nothing"

    def close(self):
        self.sock.close()


def frame_bytes(length, ftype, flags, stream_id, payload=b""):
    return length.to_bytes(3, "big") + bytes([ftype, flags]) + stream_id.to_bytes(4, "big") + payload


def malformed(port):
    cases = [
        ("data-on-stream-0", frame_bytes(1, 0, 0, 0, b"x")),                  # PROTOCOL_ERROR
        ("settings-bad-length", frame_bytes(5, 4, 0, 0, b"\0" * 5)),          # FRAME_SIZE_ERROR
        ("window-update-zero", frame_bytes(4, 8, 0, 0, b"\0\0\0\0")),         # PROTOCOL_ERROR
        ("bad-hpack", frame_bytes(4, 1, 5, 1, b"\xff\xff\xff\xff")),          # COMPRESSION_ERROR
        ("oversized-frame", frame_bytes(20000, 0, 0, 1, b"\0" * 20000)),      # FRAME_SIZE_ERROR
        # the same, far larger than any read of the server: most of it is still unread when
        # the server ends the connection, which must not reset it before the GOAWAY is read
        ("oversized-frame-large", frame_bytes(300000, 0, 0, 1, b"\0" * 300000)),
        ("even-stream-id", None),                                             # PROTOCOL_ERROR
    ]
    for name, data in cases:
        p = Peer(port)
        if data is None:
            p.request(2, "/even")
        else:
            p.raw(data)
        print("%s: %s" % (name, p.outcome()))
        p.close()
    # stream errors: the connection goes on
    p = Peer(port)
    p.request(1, "/a", extra=[("X-Upper", "1")])
    print("uppercase-name: %s" % p.outcome(1))
    p.request(3, "/a", extra=[("connection", "keep-alive")])
    print("connection-header: %s" % p.outcome(3))
    p.request(5, "/a")
    print("after-stream-errors: %s" % p.outcome(5))
    p.close()


def flood(port):
    p = Peer(port)
    sent = 0
    burst = SettingsFrame(0).serialize() * 1000
    try:
        # never reading: the ACKs queue up on the server until it gives up
        p.sock.settimeout(5)
        for _ in range(500):
            p.raw(burst)
            sent += 1000
    except OSError:
        pass
    p.sock.settimeout(5)
    result = "open"
    try:
        while True:
            data = p.sock.recv(1 << 20)
            if not data:
                result = "closed"
                break
    except OSError as e:
        result = "closed" if isinstance(e, ConnectionResetError) else "error " + type(e).__name__
    print("settings-flood: %s after %d frames" % (result, sent))


def headers(port):
    p = Peer(port)
    p.request(1, "/a", extra=[("x-big", "v" * 40000)])
    print("header-list-over-limit: %s" % p.outcome(1))
    p.request(3, "/a", extra=[("x-%d" % i, "v") for i in range(200)])
    print("header-count-over-limit: %s" % p.outcome(3))
    p.request(5, "/a")
    print("after-limits: %s" % p.outcome(5))
    p.close()


def goaway(port):
    """A graceful GOAWAY while stream 1 is still being answered, then a stream after it."""
    p = Peer(port)
    p.request(1, "/slow")
    p.request(3, "/goaway")
    status, last, late_sent, closed = {}, None, False, False
    for f in p.frames(8):
        if f == "eof":
            closed = True
            break
        if isinstance(f, HeadersFrame):
            status[f.stream_id] = dict(p.dec.decode(f.data))[":status"]
        elif isinstance(f, GoAwayFrame):
            last = "last %d code %d" % (f.last_stream_id, f.error_code)
        elif isinstance(f, RstStreamFrame):
            status[f.stream_id] = "rst %d" % f.error_code
        if last and not late_sent:
            p.request(5, "/late")
            late_sent = True
    print("graceful-goaway: goaway %s; stream 1 %s, stream 3 %s; stream after goaway %s; %s" % (
        last, status.get(1), status.get(3), status.get(5, "ignored") if late_sent else "not sent",
        "closed" if closed else "open"))
    p.close()


def describe(p, f):
    """A frame from the server as the deadline scenarios report it (None: not reported).
    The server's SETTINGS are acknowledged only where a frame may start (p.ack)."""
    if isinstance(f, SettingsFrame):
        if "ACK" not in f.flags and p.ack:
            p.send(SettingsFrame(0, flags=["ACK"]))
        return None
    if isinstance(f, GoAwayFrame):
        return "goaway %d" % f.error_code
    if isinstance(f, RstStreamFrame):
        return "rst %d %d" % (f.stream_id, f.error_code)
    if isinstance(f, HeadersFrame):
        return "status %d %s" % (f.stream_id, dict(p.dec.decode(f.data))[":status"])
    return None


def trickle(p, chunks, gap, limit=8, until=None):
    """Sends `chunks` one every `gap` seconds (stopping once the server did `until`), then
    waits; returns what the server did and the seconds from the first chunk until it closed."""
    start = time.time()
    seen = []
    chunks = list(chunks)
    while time.time() - start < limit:
        if chunks and not (until and until in seen):
            try:
                p.raw(chunks.pop(0))
            except OSError:
                return seen + ["reset"], time.time() - start
        for f in p.frames(gap):
            if f == "eof":
                return seen + ["eof"], time.time() - start
            d = describe(p, f)
            if d:
                seen.append(d)
            if until and d == until:
                return seen, time.time() - start
    return seen + ["open"], time.time() - start


def bytewise(data):
    return [data[i:i + 1] for i in range(len(data))]


def deadlines(port, case):
    """A client that trickles what it owes; prints "<case>: <what the server did> after <s>"."""
    gap = 0.2
    if case in ("headers", "continuation", "body", "idle", "silent-body", "silent"):
        p = Peer(port)
        for f in p.frames(5):   # the server's SETTINGS, acknowledged before anything trickles
            if isinstance(f, SettingsFrame) and "ACK" not in f.flags:
                p.send(SettingsFrame(0, flags=["ACK"]))
                break
        p.ack = case in ("continuation", "body", "idle")   # whole frames from here on
    if case == "preface":
        p = Peer(port, preface=False)
        seen, took = trickle(p, bytewise(PREFACE), gap)
    elif case == "settings":
        p = Peer(port, preface=False)
        p.raw(PREFACE)
        seen, took = trickle(p, bytewise(SettingsFrame(0, settings={4: 65535}).serialize()), gap)
    elif case == "headers":
        seen, took = trickle(p, bytewise(p.request_bytes(1, "/dribbled")), gap)
    elif case == "continuation":
        # whole frames, each in time, but the header block as a whole is not
        p = Peer(port)
        block = p.enc.encode([(":method", "GET"), (":scheme", "http"), (":authority", "localhost"),
                              (":path", "/continued")])
        frames = [frame_bytes(1, 1, 0, 1, block[:1])]
        for i in range(1, len(block)):
            frames.append(frame_bytes(1, 9, 4 if i == len(block) - 1 else 0, 1, block[i:i + 1]))
        seen, took = trickle(p, frames, gap)
    elif case == "body":
        # a request body a byte per DATA frame: 408 on its stream, the connection goes on
        p = Peer(port)
        p.request(1, "/up", method="POST", end=False)
        seen, took = trickle(p, [DataFrame(1, b"x").serialize() for _ in range(40)], gap, limit=4,
                             until="status 1 408")
        seen.append(p.outcome(1, 1))   # RST_STREAM NO_ERROR: stop sending
        p.request(3, "/after")
        seen.append(p.outcome(3))
    elif case == "idle":
        # PINGs keep the connection busy, not in use: it is closed after idle_timeout
        p = Peer(port)
        seen, took = trickle(p, [PingFrame(0, opaque_data=b"12345678").serialize() for _ in range(60)], gap)
    elif case == "silent-body":
        p.request(1, "/up", method="POST", end=False)
        seen, took = trickle(p, [], gap)
    elif case == "silent":
        seen, took = trickle(p, [], gap)
    print("%s: %s after %.2f" % (case, ",".join(seen), took))
    p.close()


def silent_server():
    """An HTTP/2 server (h2c, prior knowledge) that never answers a request and keeps every
    connection busy with a PING every 0.2 s; prints its port, then "rst <stream> <code>" for
    each RST_STREAM and "closed" when a client closes, for the client tests."""
    import select
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    print("port %d" % listener.getsockname()[1], flush=True)
    conns = {}
    while True:
        ready, _, _ = select.select([listener] + list(conns), [], [], 0.2)
        for s in ready:
            if s is listener:
                c, _ = listener.accept()
                c.sendall(SettingsFrame(0).serialize())
                conns[c] = b""
                continue
            try:
                data = s.recv(65536)
            except OSError:
                data = b""
            if not data:
                print("closed", flush=True)
                del conns[s]
                s.close()
                continue
            buf = conns[s] + data
            if buf.startswith(PREFACE):
                buf = buf[len(PREFACE):]
            while len(buf) >= 9:
                frame, length = Frame.parse_frame_header(memoryview(buf[:9]))
                if len(buf) < 9 + length:
                    break
                frame.parse_body(memoryview(buf[9:9 + length]))
                buf = buf[9 + length:]
                if isinstance(frame, SettingsFrame) and "ACK" not in frame.flags:
                    s.sendall(SettingsFrame(0, flags=["ACK"]).serialize())
                elif isinstance(frame, RstStreamFrame):
                    print("rst %d %d" % (frame.stream_id, frame.error_code), flush=True)
            conns[s] = buf
        for c in list(conns):
            try:
                c.sendall(PingFrame(0, opaque_data=b"keepbusy").serialize())
            except OSError:
                pass


if __name__ == "__main__":
    if sys.argv[1] == "silent-server":
        silent_server()
    elif sys.argv[2] == "deadlines":
        deadlines(int(sys.argv[1]), sys.argv[3])
    else:
        {"malformed": malformed, "flood": flood, "headers": headers, "goaway": goaway}[sys.argv[2]](int(sys.argv[1]))
