"""pyzmq side of bench/zmq.sh: the same workloads and output as zmq_raw.c and zmq_bench.lua
(libzmq driven from another dynamic language, for comparison).
usage: python3 zmq_py.py MODE ENDPOINT N SIZE
"""
import sys
import time

import zmq

mode, endpoint, n, size = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
ctx = zmq.Context()


def sock(kind, bind):
    s = ctx.socket(kind)
    s.setsockopt(zmq.LINGER, 5000)
    (s.bind if bind else s.connect)(endpoint)
    return s


def thr_recv(s):
    s.recv()
    t0 = time.perf_counter()
    for _ in range(n - 1):
        s.recv()
    print("msgs/s %.0f" % ((n - 1) / (time.perf_counter() - t0)))


def thr_send(s):
    msg = b"x" * size
    for _ in range(n):
        s.send(msg)
    time.sleep(1)  # see zmq.sh: libzmq may drop an ipc peer's tail at disconnect


def lat_rep(s):
    for _ in range(n):
        s.send(s.recv())


def lat_req(s):
    msg = b"x" * size
    t0 = time.perf_counter()
    for _ in range(n):
        s.send(msg)
        s.recv()
    print("rtt_us %.2f" % ((time.perf_counter() - t0) / n * 1e6))


def thr_local(pull, push):
    """Both ends in one OS thread, scheduled like two ratchet threads in one kernel."""
    msg = b"x" * size
    sent = got = 0
    t0 = 0.0
    poller_both, poller_in = zmq.Poller(), zmq.Poller()
    poller_both.register(pull, zmq.POLLIN)
    poller_both.register(push, zmq.POLLOUT)
    poller_in.register(pull, zmq.POLLIN)
    while got < n:
        progress = False
        try:
            while sent < n:
                push.send(msg, zmq.NOBLOCK)
                sent += 1
                progress = True
        except zmq.Again:
            pass
        try:
            while got < n:
                pull.recv(zmq.NOBLOCK)
                if got == 0:
                    t0 = time.perf_counter()
                got += 1
                progress = True
        except zmq.Again:
            pass
        if not progress:
            (poller_both if sent < n else poller_in).poll()
    print("msgs/s %.0f" % ((n - 1) / (time.perf_counter() - t0)))


def lat_local(req, rep):
    msg = b"x" * size
    t0 = time.perf_counter()
    for _ in range(n):
        req.send(msg)
        rep.send(rep.recv())
        req.recv()
    print("rtt_us %.2f" % ((time.perf_counter() - t0) / n * 1e6))


if mode == "thr-recv":
    thr_recv(sock(zmq.PULL, True))
elif mode == "thr-send":
    thr_send(sock(zmq.PUSH, False))
elif mode == "lat-rep":
    lat_rep(sock(zmq.REP, True))
elif mode == "lat-req":
    lat_req(sock(zmq.REQ, False))
elif mode == "thr-local":
    thr_local(sock(zmq.PULL, True), sock(zmq.PUSH, False))
elif mode == "lat-local":
    lat_local(sock(zmq.REQ, True), sock(zmq.REP, False))
else:
    sys.exit("unknown mode " + mode)
ctx.destroy(linger=5000)
