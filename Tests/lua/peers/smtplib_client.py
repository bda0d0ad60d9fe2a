"""Python's smtplib as a client of ratchet.smtp.server (driven by test_smtp_smtplib.lua).

Usage: smtplib_client.py PORT MSG1 MSG2 BIG
Prints one line per step, "name code" (or "name ERROR ..."), for the Lua side to check.
"""
import smtplib
import sys

port = int(sys.argv[1])
msg1, msg2, big = (open(p, "rb").read() for p in sys.argv[2:5])


def step(name, fn):
    try:
        result = fn()
        code = result[0] if isinstance(result, tuple) else result
        print(name, code, flush=True)
    except smtplib.SMTPException as e:
        print(name, "ERROR", type(e).__name__, getattr(e, "smtp_code", ""), flush=True)


s = smtplib.SMTP("127.0.0.1", port, local_hostname="py.test", timeout=60)
step("ehlo", lambda: s.ehlo())
print("features", " ".join(sorted(s.esmtp_features)), flush=True)
# Dot-stuffing edge cases, first line included (smtplib stuffs every line).
step("send1", lambda: (s.sendmail("a@x.test", ["b@y.test"], msg1), 250)[1])
# 8-bit body with BODY=8BITMIME, and an SMTPUTF8 address.
step("send2", lambda: (s.sendmail("\u00fc@x.test", ["b@y.test"], msg2,
                                  mail_options=["BODY=8BITMIME", "SMTPUTF8"]), 250)[1])
# smtplib declares SIZE= itself: refused at MAIL, and the session goes on.
step("declared_big", lambda: (s.sendmail("a@x.test", ["b@y.test"], big), 250)[1])
step("noop1", lambda: s.noop())
# Undeclared: the message is streamed, dropped, and refused with 552 after the dot.
step("mail", lambda: s.mail("a@x.test"))
step("rcpt", lambda: s.rcpt("b@y.test"))
step("data_big", lambda: s.data(big))
step("noop2", lambda: s.noop())
step("rset", lambda: s.rset())
step("quit", lambda: s.quit())
