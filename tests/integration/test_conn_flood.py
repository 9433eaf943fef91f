#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""A connection flood from a few loopback addresses must not lock anyone out.

Anyone who can open TCP connections to port 8006 once held the one connection
budget, which the local CLI's unix socket shared, for ~30 s per connection.
Now (docs/dev/HTTP.md, "Connection budget"): the unix socket has a budget of
its own; handshakes and idle connections before their first request have short
deadlines; clients are counted per address (IPv6 per /64); unauthenticated
connections are shed from the client holding the most, and authenticated ones
never.  Root's CLI and authenticated clients keep working with normal latency,
and the service is back at once when the flood stops.

Bounded: at most ~600 flood sockets open at once and FLOOD_MAX_CONNECTS connects
in all, from 127.0.0.2-12, for ~10 s.  test_deadlines uses short deadlines
(2 s, 3 s) to stay quick.
"""

import os
import resource
import select
import socket
import ssl
import sys
import threading
import time
import unittest

import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ctvmtest  # noqa: E402
from ctvmtest import Daemon, HostAccount, user_cfg  # noqa: E402

# Each call made during the flood must finish within this (generous: normal
# latency is milliseconds; a sanitizer build on 2 shared cores is slower).
CALL_BOUND = float(os.environ.get("CTVM_TEST_FLOOD_BOUND", "5"))
IDLE_ADDRS = ["127.0.0.%d" % i for i in range(2, 11)]  # 9 x 60 idle TCP connections
IDLE_PER_ADDR = 60
TLS_ADDRS = ["127.0.0.11", "127.0.0.12"]  # 2 x 30 half-open TLS handshakes
TLS_PER_ADDR = 30
FLOOD_MAX_CONNECTS = 4000  # reconnects of cut flood sockets included
REOPEN_PER_ROUND = 25  # reconnects per ~70 ms: a few hundred a second
ROUNDS = 6


def raise_nofile(want):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE,
                           (min(want, hard) if hard != resource.RLIM_INFINITY else want, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def client_hello():
    """The first flight of a TLS client, to leave handshakes half open."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname="localhost")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()


class Flood:
    """Idle TCP connections and half-open TLS handshakes; a thread reopens
    the ones the server cuts, as a real flooder would."""

    def __init__(self, port):
        self.port = port
        self.hello = client_hello()
        self.socks = {}  # fd -> (socket, source address, half-open TLS?)
        self.connects = 0
        self.cut = 0
        self.stopping = threading.Event()
        self.thread = None
        self.lock = threading.Lock()

    def _open(self, src, tls):
        if self.connects >= FLOOD_MAX_CONNECTS:
            return
        self.connects += 1
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.settimeout(2)
            s.bind((src, 0))
            s.connect(("127.0.0.1", self.port))
            if tls:
                s.sendall(self.hello)
            s.setblocking(False)
        except OSError:
            s.close()
            return
        self.socks[s.fileno()] = (s, src, tls)

    def open(self):
        for src in IDLE_ADDRS:
            for _ in range(IDLE_PER_ADDR):
                self._open(src, False)
        for src in TLS_ADDRS:
            for _ in range(TLS_PER_ADDR):
                self._open(src, True)
        self.thread = threading.Thread(target=self._reconnect, daemon=True)
        self.thread.start()

    def _reconnect(self):
        while not self.stopping.is_set():
            with self.lock:
                p = select.poll()
                for fd in self.socks:
                    p.register(fd, select.POLLIN)
                gone = []
                for fd, _ in p.poll(50):
                    s = self.socks[fd][0]
                    try:
                        data = s.recv(65536)  # a server flight, or the end
                    except BlockingIOError:
                        continue
                    except OSError:
                        data = b""
                    if not data:
                        gone.append(fd)
                cut = []
                for fd in gone:
                    s, src, tls = self.socks.pop(fd)
                    s.close()
                    cut.append((src, tls))
                self.cut += len(cut)
                for src, tls in cut[:REOPEN_PER_ROUND]:
                    self._open(src, tls)
            time.sleep(0.02)

    def stop(self):
        self.stopping.set()
        if self.thread:
            self.thread.join(10)
        with self.lock:
            for s, _, _ in self.socks.values():
                s.close()
            self.socks.clear()


class ConnFlood(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.nofile = raise_nofile(2048)
        cls.acct = HostAccount()
        cls.acct.__enter__()
        cls.addClassCleanup(cls.acct.remove)

    def timed(self, what, fn):
        start = time.monotonic()
        try:
            result = fn()
        except Exception as e:  # a refused or reset connection
            self.fail("%s failed after %.2f s: %r" % (what, time.monotonic() - start, e))
        took = time.monotonic() - start
        self.slowest = max(getattr(self, "slowest", 0.0), took)
        self.assertLess(took, CALL_BOUND, "%s took %.2f s" % (what, took))
        return result

    def test_flood_spares_cli_and_authenticated_clients(self):
        if self.nofile < 900:
            self.skipTest("needs ~700 file descriptors, have %d" % self.nofile)
        with Daemon(files={"etc/user.cfg": user_cfg(admins=[self.acct.userid])},
                    args=["--login-delay-ms", "100"]) as d:
            ticket, csrf = d.login(self.acct.userid, self.acct.password)
            # a keep-alive client, authenticated before the flood begins
            session = requests.Session()
            session.verify = False
            session.headers["Cookie"] = "PVEAuthCookie=" + ticket
            r = session.get(d.url + "/version", verify=False, timeout=ctvmtest.TIMEOUT)
            self.assertEqual(r.status_code, 200, r.reason)
            prox = d.proxmoxer(self.acct.userid, self.acct.password)
            prox.version.get()

            flood = Flood(d.port)
            flood.open()
            try:
                time.sleep(0.5)  # let the server take them all in
                for i in range(ROUNDS):
                    p = self.timed("ctvm api get /version", lambda: d.cli(
                        "api", "get", "/version", "--output-format", "json", timeout=30))
                    self.assertEqual(p.returncode, 0, "round %d: %s %s" % (i, p.stdout,
                                                                            p.stderr))
                    r = self.timed("keep-alive GET /version", lambda: session.get(
                        d.url + "/version", verify=False, timeout=ctvmtest.TIMEOUT))
                    self.assertEqual(r.status_code, 200, r.reason)
                    v = self.timed("proxmoxer GET /version", lambda: prox.version.get())
                    self.assertIn("version", v)
                    r = self.timed("new connection GET /nodes", lambda: d.http(
                        "GET", "/nodes", ticket=ticket))
                    self.assertEqual(r.status, 200, r.reason)
                    r = self.timed("new connection POST /access/ticket", lambda: d.http(
                        "POST", "/access/ticket",
                        data={"username": self.acct.userid, "password": ticket}))
                    self.assertEqual(r.status, 200, r.reason)
                    time.sleep(0.5)
                self.assertGreater(len(flood.socks) + flood.cut, 550,
                                   "the flood did not get its connections open")
            finally:
                flood.stop()
                print("flood: %d connects, %d cut by the server, slowest call %.2f s"
                      % (flood.connects, flood.cut, self.slowest), file=sys.stderr)
            # the flood is gone: everyone is served at once, even without a ticket
            r = self.timed("GET /version without a ticket", lambda: d.http("GET", "/version"))
            self.assertEqual(r.status, 401, r.reason)
            p = self.timed("ctvm after the flood", lambda: d.cli("api", "get", "/version"))
            self.assertEqual(p.returncode, 0, p.stderr)

    def test_deadlines(self):
        """Handshakes and idle unauthenticated connections are cut soon; an
        authenticated keep-alive connection may idle longer."""
        with Daemon(files={"etc/user.cfg": user_cfg(admins=[self.acct.userid])},
                    args=["--login-delay-ms", "100", "--handshake-timeout", "2",
                          "--idle-timeout", "3"]) as d:
            ticket, _ = d.login(self.acct.userid, self.acct.password)
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE

            def tcp():
                return socket.create_connection(("127.0.0.1", d.port), timeout=5)

            def tls():
                return ctx.wrap_socket(tcp(), server_hostname="localhost")

            def get(sock, cookie):
                head = "GET /api2/json/version HTTP/1.1\r\nHost: x\r\n"
                if cookie:
                    head += "Cookie: PVEAuthCookie=%s\r\n" % ticket
                sock.sendall((head + "\r\n").encode())
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = sock.recv(65536)
                    self.assertTrue(chunk, "connection closed before the answer")
                    data += chunk
                head, _, body = data.partition(b"\r\n\r\n")
                length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
                while len(body) < length:
                    body += sock.recv(65536)
                return int(head.split()[1])

            start = time.monotonic()
            silent = tcp()  # not even a ClientHello
            half = tcp()
            half.sendall(client_hello())
            quiet = tls()  # handshake done, no request
            unauth = tls()
            self.assertEqual(get(unauth, False), 401)
            authed = tls()
            self.assertEqual(get(authed, True), 200)
            idle_from = time.monotonic()

            closed = {}
            watch = {"silent": silent, "half-open handshake": half, "no request": quiet,
                     "unauthenticated keep-alive": unauth, "authenticated keep-alive": authed}
            while time.monotonic() - idle_from < 4.5:
                for name, sock in watch.items():
                    if name in closed:
                        continue
                    r, _, _ = select.select([sock], [], [], 0)
                    if not r and not (isinstance(sock, ssl.SSLSocket) and sock.pending()):
                        continue
                    try:
                        sock.setblocking(False)
                        data = sock.recv(65536)
                    except (ssl.SSLWantReadError, BlockingIOError):
                        continue  # a server flight of the half-open handshake
                    except OSError:
                        data = b""
                    finally:
                        sock.setblocking(True)
                    if not data:
                        closed[name] = time.monotonic() - start
                time.sleep(0.05)
            for name in ("silent", "half-open handshake"):
                self.assertIn(name, closed, "not cut after 4.5 s of idleness")
                self.assertLess(closed[name], 2 + 2.5, name)
                self.assertGreater(closed[name], 1.5, name)
            for name in ("no request", "unauthenticated keep-alive"):
                self.assertIn(name, closed, "not cut after 4.5 s of idleness")
                self.assertGreater(closed[name], 2.5, name)
            self.assertNotIn("authenticated keep-alive", closed, closed)
            self.assertEqual(get(authed, True), 200)
            for sock in watch.values():
                sock.close()


if __name__ == "__main__":
    ctvmtest.main()
