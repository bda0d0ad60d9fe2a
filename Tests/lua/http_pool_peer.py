"""A Python http.server peer for the HTTP client's connection pool tests.

usage: python3 http_pool_peer.py PORTFILE LIFETIME IDLE
HTTP/1.1 with keep-alive on 127.0.0.1 (a free port, written to PORTFILE as "PORT PID").
A connection idle for IDLE seconds is closed by the server. Every response body is the
number of the TCP connection it came on (1 for the first accepted, ...):
  /n          answers
  /drop-next  answers; the next request on this connection is read and the connection
              closed without a response (a server that closed just as the client reused it)
  /close      answers with "Connection: close"
  /slow       answers after 0.2 s (a request that holds its connection)
  /peak       answers the most connections that were open at once, then starts counting
              anew from those open now
  /open       answers how many connections are open now
(/peak and /open are for measuring: a connection counts as open from its first other
request until it closes.)
POST, PUT: the body is read first.
"""
import http.server
import itertools
import sys
import threading
import time

import http_peer

counter = itertools.count(1)
lock = threading.Lock()
open_now = 0
peak = 0


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def setup(self):
        super().setup()
        with lock:
            self.number = next(counter)
        self.drop = False
        self.counted = False

    def finish(self):
        global open_now
        try:
            super().finish()
        finally:
            with lock:
                if self.counted:
                    open_now -= 1

    def answer(self):
        n = int(self.headers.get("Content-Length", "0"))
        if n:
            self.rfile.read(n)
        if self.drop:
            self.close_connection = True
            return
        global peak, open_now
        body = str(self.number).encode()
        if self.path == "/peak":
            with lock:
                body, peak = str(peak).encode(), open_now
        elif self.path == "/open":
            with lock:
                body = str(open_now).encode()
        elif not self.counted:
            with lock:
                self.counted = True
                open_now += 1
                peak = max(peak, open_now)
        if self.path == "/slow":
            time.sleep(0.2)
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        if self.path == "/close":
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(body)
        if self.path == "/drop-next":
            self.drop = True

    do_GET = do_POST = do_PUT = answer


if __name__ == "__main__":
    Handler.timeout = float(sys.argv[3])
    http_peer.main(Handler)
