"""aiosmtpd as the peer server of ratchet.smtp.client (driven by test_smtp_aiosmtpd.lua).

Usage: aiosmtpd_server.py PORTFILE OUTDIR SIZE_LIMIT [CERTFILE]
Listens on 127.0.0.1 with a free port, or $AIOSMTPD_PORT (written to PORTFILE once
listening). It
advertises PIPELINING as well (aiosmtpd reads pipelined commands line by line) and,
with CERTFILE, STARTTLS. Each message is written to OUTDIR/N.eml (content) and
OUTDIR/N.env (sender, recipients, MAIL parameters, whether TLS was on). RCPT to any
address at refused.test is refused with 550.
"""
import asyncio
import os
import ssl
import sys

from aiosmtpd.smtp import SMTP

portfile, outdir, size_limit = sys.argv[1], sys.argv[2], int(sys.argv[3])
certfile = sys.argv[4] if len(sys.argv) > 4 else None


class Handler:
    count = 0

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        return responses[:-1] + ["250-PIPELINING"] + responses[-1:]

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.endswith("@refused.test"):
            return "550 5.1.1 Refused recipient"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        Handler.count += 1
        base = os.path.join(outdir, str(Handler.count))
        with open(base + ".eml", "wb") as f:
            f.write(envelope.original_content)
        with open(base + ".env", "w") as f:
            f.write("\n".join([envelope.mail_from, ",".join(envelope.rcpt_tos),
                               " ".join(envelope.mail_options),
                               "tls" if session.ssl else "plain"]))
        return "250 2.0.0 Message accepted"


async def main():
    tls = None
    if certfile:
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(certfile)
    handler = Handler()
    loop = asyncio.get_running_loop()
    srv = await loop.create_server(
        lambda: SMTP(handler, data_size_limit=size_limit, enable_SMTPUTF8=True,
                     decode_data=False, tls_context=tls, hostname="aiosmtpd.test"),
        "127.0.0.1", int(os.environ.get("AIOSMTPD_PORT", "0")))
    port = srv.sockets[0].getsockname()[1]
    with open(portfile + ".tmp", "w") as f:
        f.write(str(port))
    os.rename(portfile + ".tmp", portfile)
    await srv.serve_forever()


asyncio.run(main())
