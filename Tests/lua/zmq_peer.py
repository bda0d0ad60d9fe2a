"""The other end of the ZeroMQ tests, in its own process (pyzmq).

usage: zmq_peer.py ROLE ENDPOINT COUNT
Connects to ENDPOINT (the Lua side binds), plays ROLE for COUNT messages, prints a
one-line summary and exits 0; any mismatch or a 20 s silence exits non-zero.
"""
import sys
import zmq

role, endpoint, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
ctx = zmq.Context()
TYPES = {"rep": zmq.REP, "req": zmq.REQ, "push": zmq.PUSH, "pull": zmq.PULL,
         "xpub": zmq.XPUB, "sub": zmq.SUB, "dealer": zmq.DEALER, "router": zmq.ROUTER}
s = ctx.socket(TYPES[role])
s.setsockopt(zmq.RCVTIMEO, 20000)
s.setsockopt(zmq.SNDTIMEO, 20000)
s.setsockopt(zmq.LINGER, 5000)


def fail(msg):
    print(msg)
    sys.stdout.flush()
    sys.exit(1)


if role == "dealer":
    s.setsockopt(zmq.IDENTITY, b"py-dealer")
if role == "sub":
    s.setsockopt(zmq.SUBSCRIBE, b"t1.")
s.connect(endpoint)

if role == "rep":
    # echo every multi-part request back with "re:" in front of each part
    for i in range(count):
        parts = s.recv_multipart()
        s.send_multipart([b"re:" + p for p in parts])
    print("rep ok %d" % count)
elif role == "req":
    for i in range(count):
        s.send(b"req %d" % i)
        reply = s.recv()
        if reply != b"rep %d" % i:
            fail("req: bad reply %r to %d" % (reply, i))
    print("req ok %d" % count)
elif role == "push":
    for i in range(count):
        s.send(b"m%d" % i)
    print("push ok %d" % count)
elif role == "pull":
    for i in range(count):
        m = s.recv()
        if m != b"m%d" % i:
            fail("pull: got %r, expected m%d" % (m, i))
    print("pull ok %d" % count)
elif role == "xpub":
    # publish only once the subscriber's subscriptions arrived (no slow-joiner loss)
    subs = set()
    while not {b"weather.", b"news."} <= subs:
        ev = s.recv()
        if ev[:1] == b"\x01":
            subs.add(ev[1:])
    for i in range(count):
        s.send(b"sports.%d" % i)    # not subscribed: must never arrive
        s.send(b"weather.%d" % i)
    s.send(b"weather.end")
    # wait for the unsubscription, then publish both topics once more
    while True:
        ev = s.recv()
        if ev == b"\x00weather.":
            break
    s.send(b"weather.after")
    s.send(b"news.last")
    print("xpub ok %d" % count)
elif role == "sub":
    for i in range(count):
        m = s.recv()
        if m != b"t1.%d" % i:
            fail("sub: got %r, expected t1.%d" % (m, i))
    print("sub ok %d" % count)
elif role == "dealer":
    for i in range(count):
        s.send_multipart([b"", b"job", b"%d" % i])
    for i in range(count):
        parts = s.recv_multipart()
        if parts != [b"", b"done", b"%d" % i]:
            fail("dealer: got %r for %d" % (parts, i))
    print("dealer ok %d" % count)
elif role == "router":
    # the Lua DEALER connects with identity "lua-dealer"
    for i in range(count):
        ident, body = s.recv_multipart()
        if ident != b"lua-dealer" or body != b"d%d" % i:
            fail("router: got %r %r" % (ident, body))
        s.send_multipart([ident, b"r%d" % i])
    print("router ok %d" % count)
s.close()
ctx.term()
