"""Sends one big message to an SMTP server (driven by test_smtp_message_size_limits.lua).

Usage: big_message.py PORT DATA|BDAT SIZE
The message is SIZE octets of 998-character lines, generated piece by piece so this
process stays small; over DATA it ends with CRLF "." CRLF, over BDAT it goes in 1 MiB
chunks, the last with LAST. Prints the EHLO reply's SIZE line ("size -" when absent) and
the final reply code; exits 1 on a protocol surprise.
"""
import socket
import sys

port, mode, size = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
s = socket.create_connection(("127.0.0.1", port), timeout=60)
f = s.makefile("rb")


def reply():
    lines = []
    while True:
        line = f.readline().decode()
        if not line:
            print("closed", lines, flush=True)
            sys.exit(1)
        lines.append(line.rstrip("\r\n"))
        if line[3:4] != "-":
            return lines


def command(text, want):
    s.sendall(text.encode() + b"\r\n")
    r = reply()
    if not r[-1].startswith(want):
        print("unexpected", text, r, flush=True)
        sys.exit(1)
    return r


reply()
ehlo = command("EHLO big.test", "250")
sizes = [l[4:] for l in ehlo if l[4:].upper().startswith("SIZE")]
print("size", sizes[0] if sizes else "-", flush=True)
command("MAIL FROM:<a@big.test>", "250")
command("RCPT TO:<b@big.test>", "250")
line = b"x" * 996 + b"\r\n"
piece = line * 1024
if mode == "DATA":
    command("DATA", "354")
    left = size
    while left > 0:
        s.sendall(piece[:left])
        left -= len(piece)
    s.sendall(b"\r\n.\r\n")
    print("final", reply()[-1][:3], flush=True)
else:
    left = size
    while left > 0:
        n = min(len(piece), left)
        last = " LAST" if n == left else ""
        s.sendall(b"BDAT %d%s\r\n" % (n, last.encode()) + piece[:n])
        left -= n
        r = reply()[-1]
        if last or not r.startswith("250"):
            print("final", r[:3], flush=True)
            break
s.sendall(b"QUIT\r\n")
print("quit", reply()[-1][:3], flush=True)
