"""pyzmq side of bench/zmq.sh: the same workloads and output as zmq_raw.c and zmq_bench.lua
(libzmq driven from another dynamic language, for comparison).
usage: python3 zmq_py.py MODE ENDPOINT N SIZE
"""
import sys
import threading
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


def thr_send(s, settle=True):
    msg = b"x" * size
    for _ in range(n):
        s.send(msg)
    if settle:
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


if mode == "thr-recv":
    thr_recv(sock(zmq.PULL, True))
elif mode == "thr-send":
    thr_send(sock(zmq.PUSH, False))
elif mode == "lat-rep":
    lat_rep(sock(zmq.REP, True))
elif mode == "lat-req":
    lat_req(sock(zmq.REQ, False))
elif mode in ("thr-local", "lat-local"):
    thr = mode == "thr-local"
    a = sock(zmq.PULL if thr else zmq.REQ, True)
    b = sock(zmq.PUSH if thr else zmq.REP, False)
    peer = threading.Thread(target=(lambda: thr_send(b, False)) if thr else (lambda: lat_rep(b)))
    peer.start()
    thr_recv(a) if thr else lat_req(a)
    peer.join()
else:
    sys.exit("unknown mode " + mode)
ctx.destroy(linger=5000)
