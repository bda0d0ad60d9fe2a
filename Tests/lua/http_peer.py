"""A Python http.server peer for the HTTP client tests.

usage: python3 http_peer.py PORTFILE LIFETIME
Binds 127.0.0.1 on a free port, writes "PORT PID" to PORTFILE, serves HTTP/1.1 (keep-alive)
until LIFETIME seconds have passed, then exits.
"""
import http.server
import sys
import threading


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send_body(self, body, code=200, ctype="text/plain", extra=()):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return out, "chunked"
                out += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length", "0"))
        return self.rfile.read(n), "length"

    def do_GET(self):
        if self.path == "/cl":
            self.send_body(b"content-length body", extra=[("X-Multi", "a"), ("X-Multi", "b")])
        elif self.path == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            if self.command != "HEAD":
                for piece in (b"first ", b"second ", b"third"):
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                self.wfile.write(b"0\r\nX-Trailer: done\r\n\r\n")
        elif self.path == "/eof":
            # an HTTP/1.0 reply whose body ends with the connection
            self.wfile.write(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nbody until close")
            self.close_connection = True
        elif self.path == "/conn":
            self.send_body(str(self.client_address[1]).encode())
        elif self.path == "/host":
            self.send_body(self.headers.get("Host", "").encode())
        elif self.path == "/redirect":
            self.send_body(b"moved", code=302, extra=[("Location", "/cl")])
        elif self.path == "/204":
            self.send_response(204)
            self.end_headers()
        elif self.path == "/big":
            self.send_body(b"0123456789abcdef" * 131072)
        else:
            self.send_body(b"not found", code=404)

    do_HEAD = do_GET

    def do_POST(self):
        body, how = self.read_body()
        self.send_body(body, extra=[("X-Framing", how), ("X-Method", self.command)])

    do_PUT = do_POST


def main(handler=Handler):
    """Serves `handler` as the module docstring says (http_pool_peer.py reuses it)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    with open(sys.argv[1] + ".tmp", "w") as f:
        import os
        f.write("%d %d\n" % (server.server_address[1], os.getpid()))
    os.rename(sys.argv[1] + ".tmp", sys.argv[1])
    threading.Timer(float(sys.argv[2]), server.shutdown).start()
    server.serve_forever()


if __name__ == "__main__":
    main()
