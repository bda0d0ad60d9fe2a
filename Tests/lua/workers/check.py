#!/usr/bin/python3
"""Real-process checks of `ratchet-lua -w N` and the bundled servers' accept loop, driven
by the Tests/lua/test_workers_*.lua files:  check.py SCENARIO  (exit 0 = passed).

Every scenario starts its servers on port 0 (the script writes the port to a file), bounds
its waits, and ends by checking that the processes it started are gone (no child left,
no zombie) and, for the supervisor, that its descriptor count is back where it started."""
import http.client
import os
import resource
import signal
import socket
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
RUNNER = os.path.join(os.environ["RATCHET_OUT"], "bin", "ratchet-lua")
TMP = os.environ.get("RATCHET_TEST_TMP", "/tmp")


STARTED = []   # every process started here: a failing check stops what is still running


def stop_started():
    for p in STARTED:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in STARTED:
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            p.kill()   # a supervisor's workers follow it (PR_SET_PDEATHSIG)
            p.wait()


def fail(msg):
    print("FAIL:", msg)
    stop_started()
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


class Server:
    """A ratchet-lua process (supervisor or single) running one of the scripts here."""

    def __init__(self, script, *args, workers=None, drain=None, nofile=None):
        self.portfile = os.path.join(TMP, "port.%d.%s" % (os.getpid(), time.monotonic_ns()))
        cmd = [RUNNER]
        if workers:
            cmd += ["-w", str(workers)]
        if drain is not None:
            cmd += ["--drain-timeout", str(drain)]
        cmd += [os.path.join(HERE, script), *[a.replace("PORTFILE", self.portfile) for a in args]]

        def limit():
            if nofile:
                resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=limit)
        STARTED.append(self.proc)
        deadline = time.monotonic() + 15
        while not os.path.exists(self.portfile):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                out, err = self.proc.communicate(timeout=5)
                fail("server did not start: %r" % err.decode(errors="replace")[-2000:])
            time.sleep(0.05)
        self.port = int(open(self.portfile).read())
        self.known = set()

    def children(self):
        pids = []
        for p in os.listdir("/proc"):
            if p.isdigit():
                try:
                    stat = open("/proc/%s/stat" % p).read()
                except OSError:
                    continue
                if int(stat.rsplit(")", 1)[1].split()[1]) == self.proc.pid:
                    pids.append(int(p))
        self.known.update(pids)
        return sorted(pids)

    def wait_children(self, n, exclude=(), timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            c = [p for p in self.children() if p not in exclude]
            if len(c) == n:
                return c
            time.sleep(0.05)
        fail("expected %d workers, have %r" % (n, self.children()))

    def fds(self):
        return len(os.listdir("/proc/%d/fd" % self.proc.pid))

    def cpu(self):
        f = open("/proc/%d/stat" % self.proc.pid).read().rsplit(")", 1)[1].split()
        return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")

    def send(self, sig):
        self.proc.send_signal(sig)

    def finish(self, sig=signal.SIGTERM, want=0, within=15):
        """Stops the server, checks its exit status and that no process of it is left."""
        if self.proc.poll() is None:
            self.children()
            self.proc.send_signal(sig)
        try:
            out, err = self.proc.communicate(timeout=within)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.communicate()
            fail("server did not exit within %ss of signal %s" % (within, sig))
        self.stderr = err.decode(errors="replace")
        if want is not None:
            check(self.proc.returncode == want, "exit status %r, want %r; stderr: %s" % (
                self.proc.returncode, want, self.stderr[-2000:]))
        time.sleep(0.1)
        left = [p for p in self.known if os.path.exists("/proc/%d" % p)]
        check(not left, "processes left after exit: %r" % left)
        return self.stderr


def get(port, path="/", timeout=10, headers=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request("GET", path, headers=headers or {})
        r = c.getresponse()
        return r.status, dict(r.getheaders()), r.read().decode()
    finally:
        c.close()


def worker_of(port):
    status, headers, body = get(port, headers={"Connection": "close"})
    check(status == 200, "status %r" % status)
    return headers["X-Worker"], body


def both_workers(port, within=20):
    """Asks until both workers have answered. Each request is a new connection, and which
    worker accepts it is up to the kernel: a worker that has just started (or a loaded
    machine) can leave all of a fixed number of requests to the other, so the bound is a
    time, not a count."""
    seen, n = set(), 0
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        seen.add(worker_of(port)[0].split()[0])
        n += 1
        if len(seen) == 2:
            return seen
    fail("only workers %r answered %d requests in %ss" % (seen, n, within))


def same_fds(server, fds, within=5):
    """The supervisor's descriptor count is back to `fds`. It closes a dead worker's
    channel when it reaps it, which may come a moment after the replacement is visible."""
    deadline = time.monotonic() + within
    while server.fds() != fds and time.monotonic() < deadline:
        time.sleep(0.05)
    check(server.fds() == fds, "supervisor descriptors %d, were %d" % (server.fds(), fds))


# --- scenarios -----------------------------------------------------------------------

def kill9():
    """-w 2: both workers answer; kill -9 one: a new one starts, the service never stops."""
    s = Server("hello.lua", "0", "PORTFILE", workers=2)
    before = s.wait_children(2)
    both_workers(s.port)
    fds = s.fds()
    os.kill(before[0], signal.SIGKILL)
    # answered throughout: requests right after the kill go to the survivor or the queue
    deadline = time.monotonic() + 10
    while True:
        worker_of(s.port)
        now = s.children()
        if len(now) == 2 and before[0] not in now:
            break
        check(time.monotonic() < deadline, "no replacement worker: %r" % now)
    both_workers(s.port)
    same_fds(s, fds)
    s.finish()


def reload():
    """SIGHUP under load: no failed request, no refused connection, new worker PIDs."""
    s = Server("hello.lua", "0", "PORTFILE", workers=2)
    before = s.wait_children(2)
    both_workers(s.port)
    fds = s.fds()
    stop = time.monotonic() + 4
    errors, done, generations = [], [0], set()

    def client():
        conn = None
        while time.monotonic() < stop:
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=10)
                conn.request("GET", "/")
                r = conn.getresponse()
                r.read()
                if r.status != 200:
                    errors.append("status %d" % r.status)
                generations.add(r.getheader("X-Worker").split()[1])
                done[0] += 1
                if r.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conn = None
            except Exception as e:   # refused, reset, closed before a reply: all failures
                errors.append(repr(e))
                conn = None
        if conn:
            conn.close()

    threads = [threading.Thread(target=client) for _ in range(8)]
    for t in threads:
        t.start()
    time.sleep(1)
    s.send(signal.SIGHUP)
    time.sleep(1.5)
    s.send(signal.SIGHUP)
    for t in threads:
        t.join()
    print("requests:", done[0], "errors:", len(errors), "generations:", sorted(generations))
    check(not errors, "failed requests during reload: %r" % errors[:5])
    check(done[0] > 100, "too few requests: %d" % done[0])
    check("3" in generations, "generation 3 never answered: %r" % generations)
    after = s.wait_children(2, exclude=before)
    check(not set(after) & set(before), "worker PIDs did not change: %r -> %r" % (before, after))
    time.sleep(0.5)     # the old generation's listeners retire once it has gone
    same_fds(s, fds)
    s.finish()


def sigterm(workers=2):
    """SIGTERM with a 2 s request in flight: full 200 (Connection: close), an idle keep-alive
    connection is closed, a new connection is refused, exit 0 before the deadline."""
    s = Server("hello.lua", "0", "PORTFILE", workers=workers, drain=20)
    if workers:
        s.wait_children(workers)
    idle = http.client.HTTPConnection("127.0.0.1", s.port, timeout=10)
    idle.request("GET", "/")
    idle.getresponse().read()
    result = {}

    def slow():
        try:
            result["reply"] = get(s.port, "/slow?2")
        except Exception as e:
            result["reply"] = e
    t = threading.Thread(target=slow)
    t.start()
    time.sleep(0.5)
    start = time.monotonic()
    s.send(signal.SIGTERM)
    time.sleep(0.5)
    try:
        socket.create_connection(("127.0.0.1", s.port), timeout=2).close()
        fail("a new connection after SIGTERM was accepted")
    except ConnectionRefusedError:
        pass
    # the idle keep-alive connection has been closed by the server
    idle.sock.settimeout(3)
    check(idle.sock.recv(100) == b"", "idle keep-alive connection not closed")
    idle.close()
    t.join(10)
    status, headers, body = result["reply"] if isinstance(result["reply"], tuple) else fail(repr(result["reply"]))
    check(status == 200 and body.startswith("hello"), "slow request: %r %r" % (status, body))
    check(headers.get("Connection") == "close", "no Connection: close in %r" % headers)
    s.finish(within=10)
    took = time.monotonic() - start
    print("stopped %.2f s after SIGTERM" % took)
    check(took < 10, "stop took %.1f s" % took)


def sigterm_single():
    sigterm(workers=None)


def crashloop():
    """A script that fails at start: reported, and the supervisor gives up, exit non-zero."""
    start = time.monotonic()
    p = subprocess.run([RUNNER, "-w", "2", os.path.join(HERE, "bad.lua")], capture_output=True, timeout=30)
    err = p.stderr.decode(errors="replace")
    check(p.returncode != 0, "exit status 0")
    check("this script fails at start" in err, "the script's error is not on stderr: %s" % err[-1000:])
    check("worker deaths" in err, "no crash-loop report: %s" % err[-1000:])
    check(time.monotonic() - start < 15, "took %.1f s" % (time.monotonic() - start))


def limits_http():
    """max_connections 3, max_connections_per_address 2: over them 503, then close."""
    s = Server("hello.lua", "0", "PORTFILE", "3", "2")
    held = [socket.create_connection(("127.0.0.1", s.port)) for _ in range(2)]
    time.sleep(0.2)
    over = socket.create_connection(("127.0.0.1", s.port), timeout=5)
    reply = over.recv(4096)
    check(reply.startswith(b"HTTP/1.1 503 "), "per-address limit: %r" % reply)
    over.close()
    other = socket.socket()
    other.bind(("127.0.0.2", 0))
    other.connect(("127.0.0.1", s.port))
    held.append(other)
    time.sleep(0.2)
    third = socket.socket()
    third.bind(("127.0.0.3", 0))
    third.settimeout(5)
    third.connect(("127.0.0.1", s.port))
    reply = third.recv(4096)
    check(reply.startswith(b"HTTP/1.1 503 ") and b"Connection: close" in reply, "limit: %r" % reply)
    check(third.recv(4096) == b"", "not closed after 503")
    third.close()
    for h in held:
        h.close()
    time.sleep(0.3)
    check(get(s.port)[0] == 200, "not serving after the limit")
    s.finish()


def limits_smtp():
    s = Server("smtp_server.lua", "PORTFILE", "1")
    a = socket.create_connection(("127.0.0.1", s.port), timeout=5)
    check(a.recv(4096).startswith(b"220"), "no banner")
    b = socket.create_connection(("127.0.0.1", s.port), timeout=5)
    reply = b.recv(4096)
    check(reply == b"421 4.7.0 Too many connections\r\n", "over the limit: %r" % reply)
    check(b.recv(4096) == b"", "not closed after 421")
    b.close()
    a.close()
    s.finish()


def smtp_drain():
    """SIGTERM: an idle session gets 421 4.3.2 at once; one in DATA finishes its message."""
    s = Server("smtp_server.lua", "PORTFILE")

    def session():
        c = socket.create_connection(("127.0.0.1", s.port), timeout=10)
        f = c.makefile("rb")
        check(f.readline().startswith(b"220"), "banner")
        c.sendall(b"EHLO test\r\n")
        while True:
            line = f.readline()
            if line[3:4] == b" ":
                break
        return c, f
    idle, idle_f = session()
    busy, busy_f = session()
    busy.sendall(b"MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n")
    for want in (b"250", b"250", b"354"):
        line = busy_f.readline()
        check(line.startswith(want), "got %r, want %s" % (line, want))
    busy.sendall(b"Subject: hi\r\n\r\nfirst half\r\n")
    time.sleep(0.2)
    s.send(signal.SIGTERM)
    line = idle_f.readline()
    check(line == b"421 4.3.2 Service shutting down\r\n", "idle session got %r" % line)
    check(idle_f.readline() == b"", "idle session not closed")
    time.sleep(0.3)
    busy.sendall(b"second half\r\n.\r\n")
    line = busy_f.readline()
    check(line.startswith(b"250"), "message in DATA not accepted: %r" % line)
    line = busy_f.readline()
    check(line == b"421 4.3.2 Service shutting down\r\n", "after DATA: %r" % line)
    check(busy_f.readline() == b"", "busy session not closed")
    s.finish()


def emfile():
    """Out of descriptors (ulimit -n 40): accept backs off without spinning or dying, and
    serves again once descriptors are free."""
    s = Server("hello.lua", "0", "PORTFILE", nofile=40)
    held = []
    for _ in range(60):
        held.append(socket.create_connection(("127.0.0.1", s.port), timeout=5))
    time.sleep(0.5)
    check(s.fds() >= 38, "descriptors did not run out: %d open" % s.fds())
    cpu0 = s.cpu()
    time.sleep(2)
    used = s.cpu() - cpu0
    print("CPU while out of descriptors: %.3f s in 2 s" % used)
    check(used < 0.2, "accept loop spins: %.2f s of CPU in 2 s" % used)
    check(s.proc.poll() is None, "server died")
    for h in held:
        h.close()
    deadline = time.monotonic() + 10
    while True:
        try:
            if get(s.port, timeout=2)[0] == 200:
                break
        except Exception:
            pass
        check(time.monotonic() < deadline, "not serving after descriptors freed")
        time.sleep(0.2)
    s.finish()



def drain_deadline(workers=None):
    """--drain-timeout 1 with a 30 s request in flight: the stop ends after about 1 s (the
    connection is cut), exit 0."""
    s = Server("hello.lua", "0", "PORTFILE", workers=workers, drain=1)
    if workers:
        s.wait_children(workers)
    result = {}

    def slow():
        try:
            result["reply"] = get(s.port, "/slow?30", timeout=20)
        except Exception as e:
            result["reply"] = e
    t = threading.Thread(target=slow)
    t.start()
    time.sleep(0.5)
    start = time.monotonic()
    s.finish(within=10)
    took = time.monotonic() - start
    t.join(10)
    print("stopped %.2f s after SIGTERM; client: %r" % (took, result.get("reply")))
    check(0.8 < took < 4, "stop took %.2f s with --drain-timeout 1" % took)
    check(isinstance(result.get("reply"), Exception), "the cut request got a reply: %r" % result)


def drain_deadline_workers():
    drain_deadline(workers=2)


def sigquit():
    """SIGQUIT: the workers are killed at once, nothing is left."""
    s = Server("hello.lua", "0", "PORTFILE", workers=2)
    s.wait_children(2)
    start = time.monotonic()
    s.finish(sig=signal.SIGQUIT, within=5)
    check(time.monotonic() - start < 2, "SIGQUIT took %.1f s" % (time.monotonic() - start))


def reload_failure():
    """SIGHUP when the new generation fails at start: the reload is abandoned, the old
    workers keep serving, no crash loop."""
    s = Server("hello.lua", "0", "PORTFILE", "100", "100", "fail-reload", workers=2)
    before = s.wait_children(2)
    fds = s.fds()
    s.send(signal.SIGHUP)
    time.sleep(1.5)
    check(worker_of(s.port)[0].split()[1] == "1", "not served by generation 1")
    check(s.wait_children(2) == before, "the old generation was replaced: %r -> %r" % (before, s.children()))
    same_fds(s, fds)
    err = s.finish()
    check("reload failed" in err and "generation 2 is broken" in err, "stderr: %s" % err[-1500:])


def finished():
    """Workers whose script ends (exit 0) are not restarted; the supervisor exits 0."""
    p = subprocess.run([RUNNER, "-w", "2", "-e", "print('done ' .. require('ratchet.worker').id())"],
                       capture_output=True, timeout=20)
    out = sorted(p.stdout.decode().split("\n"))
    check(p.returncode == 0, "exit status %r: %s" % (p.returncode, p.stderr.decode()[-500:]))
    check(out == ["", "done 1", "done 2"], "output %r" % out)


def h2_drain():
    """SIGTERM with an HTTP/2 (h2c, curl) request in flight: it completes, exit 0."""
    s = Server("hello.lua", "0", "PORTFILE")
    curl = subprocess.Popen(["curl", "-sS", "--http2-prior-knowledge", "-m", "20",
                             "http://127.0.0.1:%d/slow?2" % s.port], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    STARTED.append(curl)
    time.sleep(0.7)
    start = time.monotonic()
    s.finish(within=10)
    out, err = curl.communicate(timeout=20)
    check(curl.returncode == 0 and out.startswith(b"hello"), "h2 request: %r %r" % (out, err))
    check(time.monotonic() - start < 5, "stop took %.1f s" % (time.monotonic() - start))


# --- ZeroMQ examples as separate processes ----------------------------------------------

EXAMPLES = os.path.join(HERE, "..", "..", "..", "examples")


def free_port():
    with socket.socket() as so:
        so.bind(("127.0.0.1", 0))
        return so.getsockname()[1]


def wait_listening(endpoint, timeout=10):
    """Until something listens on the endpoint's port (read from /proc/net/tcp, without
    connecting). Binders must be up before anyone connects: a ZeroMQ connect retrying
    against a free port in the ephemeral range can connect to itself and take the port."""
    port = "%04X" % int(endpoint.rsplit(":", 1)[1])
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in open("/proc/net/tcp").read().splitlines()[1:]:
            f = line.split()
            if f[1].endswith(":" + port) and f[3] == "0A":
                return
        time.sleep(0.05)
    fail("nothing listens on %s" % endpoint)


def connections_to(endpoint):
    """Established connections whose server end is the endpoint's port."""
    port = "%04X" % int(endpoint.rsplit(":", 1)[1])
    return sum(1 for line in open("/proc/net/tcp").read().splitlines()[1:]
               if line.split()[1].endswith(":" + port) and line.split()[3] == "01")


def start(*args, workers=None, stdin=None):
    cmd = [RUNNER] + (["-w", str(workers)] if workers else []) + list(args)
    p = subprocess.Popen(cmd, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    STARTED.append(p)
    return p


def stop_all(procs):
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            p.kill()
            p.communicate()
            fail("a process did not stop on SIGTERM: %r" % p.args)
        check(p.returncode == 0, "%r exited %r" % (p.args, p.returncode))


def exactly_once(out, jobs, word):
    done = {}
    for line in out.splitlines():
        parts = line.split()
        if parts and parts[0] == word:
            done.setdefault(int(parts[1]), []).append(parts[2])
    check(sorted(done) == list(range(1, jobs + 1)), "jobs missing: %r" % sorted(set(range(1, jobs + 1)) - set(done))[:10])
    twice = {j: w for j, w in done.items() if len(w) != 1}
    check(not twice, "jobs done more than once: %r" % list(twice.items())[:5])
    check(("total %d" % jobs) in out, "no total line")
    return {w[0] for w in done.values()}


def zmq_pipeline():
    """Ventilator, 3 workers (one supervisor with -w 2 and a plain process), sink: every
    job done exactly once."""
    jobs = 2000
    vent, sink = "tcp://127.0.0.1:%d" % free_port(), "tcp://127.0.0.1:%d" % free_port()
    script = os.path.join(EXAMPLES, "zmq_pipeline.lua")
    sink_p = start(script, "sink", sink, str(jobs))
    vent_p = start(script, "ventilator", vent, str(jobs), "-", stdin=subprocess.PIPE)
    wait_listening(sink)
    wait_listening(vent)
    workers = [start(script, "worker", vent, sink, workers=2), start(script, "worker", vent, sink)]
    # the ventilator deals jobs to the workers connected when it starts: all 3 first
    deadline = time.monotonic() + 20
    while connections_to(vent) < 3:
        check(time.monotonic() < deadline, "workers did not connect: %d" % connections_to(vent))
        time.sleep(0.05)
    vent_p.stdin.write(b"go\n")
    vent_p.stdin.close()
    vent_p.stdin = None    # communicate() below must not flush it
    try:
        out, err = sink_p.communicate(timeout=60)
        vent_p.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        stop_all([sink_p, vent_p] + workers)
        fail("pipeline did not finish")
    check(sink_p.returncode == 0 and vent_p.returncode == 0, "sink/ventilator failed: %r" % err)
    names = exactly_once(out.decode(), jobs, "result")
    print("pipeline: %d jobs, done by %d workers" % (jobs, len(names)))
    check(len(names) >= 2, "only %r did jobs" % names)
    stop_all(workers)


def zmq_broker():
    """Broker, 3 REP workers (-w 2 and a plain process), a client with 4 REQ sockets:
    every request answered exactly once, by more than one worker."""
    jobs = 1000
    front, back = "tcp://127.0.0.1:%d" % free_port(), "tcp://127.0.0.1:%d" % free_port()
    script = os.path.join(EXAMPLES, "zmq_broker.lua")
    broker = start(script, "broker", front, back)
    wait_listening(front)
    wait_listening(back)
    workers = [start(script, "worker", back, workers=2), start(script, "worker", back)]
    time.sleep(0.5)
    client = start(script, "client", front, str(jobs), "4")
    try:
        out, err = client.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        stop_all([client, broker] + workers)
        fail("broker client did not finish")
    check(client.returncode == 0, "client failed: %r" % err)
    names = exactly_once(out.decode(), jobs, "reply")
    print("broker: %d requests, answered by %d workers" % (jobs, len(names)))
    check(len(names) >= 2, "only %r answered" % names)
    stop_all(workers + [broker])

if __name__ == "__main__":
    try:
        globals()[sys.argv[1]]()
    except Exception:
        stop_started()
        raise
    print("ok", sys.argv[1])
