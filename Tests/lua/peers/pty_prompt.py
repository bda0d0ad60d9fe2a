"""Drives ratchet-lua's interactive prompt through a pseudo-terminal, as a user at a
terminal would (driven by test_runner_interactive_prompt.lua).

Usage: pty_prompt.py RUNNER [ARGS...]
Reads a script of steps from stdin, one per line: "send TEXT" (TEXT with \\n escapes is
typed), "expect TEXT" (waits up to 10 s until TEXT appears in the output since the last
expect), "eof" (types Ctrl-D), "exit N" (waits for the exit status N). Prints the whole
transcript and exits 1 at the first step that fails.
"""
import os
import pty
import select
import sys
import time

argv = sys.argv[1:]
pid, fd = pty.fork()
if pid == 0:
    os.execv(argv[0], argv)

out = b""
seen = 0


def fail(why):
    sys.stdout.write("FAILED: %s\n--- transcript ---\n%s\n" % (why, out.decode(errors="replace")))
    try:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
    except OSError:
        pass
    sys.exit(1)


def read_some(deadline):
    global out
    r, _, _ = select.select([fd], [], [], max(0, deadline - time.time()))
    if not r:
        return False
    try:
        data = os.read(fd, 4096)
    except OSError:
        return False
    if not data:
        return False
    out += data
    return True


for step in sys.stdin.read().splitlines():
    verb, _, arg = step.partition(" ")
    arg = arg.encode().decode("unicode_escape").encode()
    if verb == "send":
        os.write(fd, arg)
    elif verb == "eof":
        os.write(fd, b"\x04")
    elif verb == "expect":
        deadline = time.time() + 10
        while arg not in out[seen:]:
            if not read_some(deadline):
                fail("did not see %r" % arg)
        seen = out.index(arg, seen) + len(arg)
    elif verb == "exit":
        deadline = time.time() + 10
        while time.time() < deadline:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                if os.WEXITSTATUS(status) != int(arg):
                    fail("exit status %d" % os.WEXITSTATUS(status))
                break
            read_some(time.time() + 0.05)
        else:
            fail("did not exit")
sys.stdout.write(out.decode(errors="replace"))
