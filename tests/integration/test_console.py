#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""The VM screen through the API, as Proxmox's noVNC page opens it (issue 14).

Two VMs with no disk (kvm: 0; QEMU runs and serves VNC whatever the guest
does) are started; POST vncproxy gives a ticket and a port, and GET
vncwebsocket with them upgrades to a WebSocket relayed to the VM's VNC
socket: the RFB banner arrives, the handshake reaches VNC authentication
(the ticket's head is the VNC password) and a wrong password is refused.
A wrong, reused, expired or another VM's ticket, another user's ticket and
a user without VM.Console are refused.  A VM's serial port (termproxy) is
reached the same way with Proxmox's terminal framing.  A small WebSocket client is written
here, framing by hand to reach the server's edges (test_console_clients.py opens
every console kind with Debian's python3-websocket, as Proxmox's clients do).
"""

import base64
import os
import re
import socket
import struct
import sys
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ctvmtest  # noqa: E402

QEMU = "/usr/bin/qemu-system-x86_64"


class WsClient:
    """A WebSocket client over TLS, masking its frames as RFC 6455 asks."""

    def __init__(self, daemon, path, ticket):
        raw = socket.create_connection((daemon.host, daemon.port), timeout=15)
        self.sock = ctvmtest._tls_context().wrap_socket(raw)
        key = base64.b64encode(os.urandom(16)).decode()
        req = ("GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
               "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: binary\r\n"
               "Cookie: PVEAuthCookie=%s\r\n\r\n" % (path, daemon.host, key, ticket))
        self.sock.sendall(req.encode())
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            d = self.sock.recv(4096)
            if not d:
                break
            self.buf += d
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        self.head = head.decode(errors="replace")
        self.status = int(self.head.split(" ")[1]) if self.head else 0
        self.data = b""

    def send(self, data, op=2):
        mask = os.urandom(4)
        n = len(data)
        hdr = bytes([0x80 | op])
        if n < 126:
            hdr += bytes([0x80 | n])
        elif n < 65536:
            hdr += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            hdr += bytes([0x80 | 127]) + struct.pack(">Q", n)
        self.sock.sendall(hdr + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def _need(self, n):
        while len(self.buf) < n:
            d = self.sock.recv(65536)
            if not d:
                raise EOFError
            self.buf += d

    def frame(self):
        """The next server frame: (opcode, payload)."""
        self._need(2)
        op, n = self.buf[0] & 0x0F, self.buf[1] & 0x7F
        assert not self.buf[1] & 0x80, "a server frame must not be masked"
        p = 2
        if n == 126:
            self._need(4)
            n, p = struct.unpack(">H", self.buf[2:4])[0], 4
        elif n == 127:
            self._need(10)
            n, p = struct.unpack(">Q", self.buf[2:10])[0], 10
        self._need(p + n)
        payload, self.buf = self.buf[p:p + n], self.buf[p + n:]
        return op, payload

    def read(self, n):
        """n bytes of the relayed stream (binary messages)."""
        while len(self.data) < n:
            op, payload = self.frame()
            if op == 8:
                raise EOFError("closed: %r" % payload)
            if op == 2:
                self.data += payload
        out, self.data = self.data[:n], self.data[n:]
        return out

    def close(self):
        self.sock.close()


def type_(c, text):
    """Types text into a terminal session (Proxmox's framing: 0:LEN:DATA)."""
    b = text.encode()
    c.send(b"0:%d:%s" % (len(b), b))


def until(c, pattern, timeout):
    """Reads the terminal until pattern (a bytes regex) matches within
    timeout seconds; the match.  What came after it stays for the next call
    (one message may hold the output of two commands).  The socket's own
    timeout is as it was afterwards."""
    seen = getattr(c, "pending", b"")
    deadline = time.monotonic() + timeout
    before = c.sock.gettimeout()
    try:
        while True:
            m = re.search(pattern, seen)
            if m:
                c.pending = seen[m.end():]
                return m
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("no %r in %r" % (pattern, seen))
            # a frame cut by the timeout stays in c.buf for the next read
            c.sock.settimeout(min(left, 1))
            try:
                op, payload = c.frame()
            except TimeoutError:
                continue
            if op == 8:
                raise EOFError("closed after %r" % seen)
            if op == 2:
                seen += payload
    finally:
        c.sock.settimeout(before)


class ConsoleTest(ctvmtest.AdminDaemonTest):

    @classmethod
    def setUpClass(cls):
        if not os.access(QEMU, os.X_OK):
            raise unittest.SkipTest("no %s" % QEMU)
        super().setUpClass()
        q = cls.admin.nodes(cls.node).qemu
        for vmid in (400, 401, 402):
            cls.wait(cls, q.post(vmid=vmid, kvm=0, memory=64, serial0="socket"))
            cls.wait(cls, q(vmid).status.start.post())
        cls.addClassCleanup(cls.stop_vms)
        pw = "Console-pw-1"
        cls.admin.access.users.post(userid="con@pve", password=pw)
        cls.admin.access.acl.put(path="/vms/400", roles="PVEVMUser", users="con@pve")
        cls.admin.access.users.post(userid="aud@pve", password=pw)
        cls.admin.access.acl.put(path="/vms/400", roles="PVEAuditor", users="aud@pve")
        cls.con = cls.daemon.login("con@pve", pw)
        cls.aud = cls.daemon.login("aud@pve", pw)

    @classmethod
    def stop_vms(cls):
        q = cls.admin.nodes(cls.node).qemu
        for vmid in (400, 401, 402):
            try:
                cls.wait(cls, q(vmid).status.stop.post())
            except Exception:  # noqa: BLE001 - best effort
                pass

    def wait(self, upid):
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            st = self.admin.nodes(self.node).tasks(upid).status.get()
            if st["status"] == "stopped":
                assert st["exitstatus"] == "OK", st
                return
            time.sleep(0.1)
        raise AssertionError("task %s did not end" % upid)

    def proxy(self, vmid, who=None):
        ticket, csrf = who or (self.ticket, self.csrf)
        return self.daemon.http("POST", "/nodes/%s/qemu/%d/vncproxy" % (self.node, vmid),
                                ticket=ticket, csrf=csrf, data={"websocket": 1})

    def ws(self, vmid, port, vncticket, who=None):
        path = "%s/nodes/%s/qemu/%d/vncwebsocket?%s" % (
            ctvmtest.API, self.node, vmid,
            urllib.parse.urlencode({"port": port, "vncticket": vncticket}))
        return WsClient(self.daemon, path, (who or (self.ticket,))[0])

    def test_vnc_screen(self):
        r = self.proxy(400)
        self.assertEqual(r.status, 200, r.reason)
        d = r.json()["data"]
        self.assertEqual(sorted(d), ["cert", "port", "ticket", "upid", "user"])
        self.assertEqual(d["user"], self.acct.userid)
        self.assertIsInstance(d["port"], int)
        c = self.ws(400, d["port"], d["ticket"])
        try:
            self.assertEqual(c.status, 101, c.head)
            self.assertIn("Sec-WebSocket-Protocol: binary", c.head)
            self.assertEqual(c.read(12), b"RFB 003.008\n")
            c.send(b"RFB 003.008\n")
            n = c.read(1)[0]
            types = list(c.read(n))
            self.assertEqual(types, [2], "VNC authentication only")
            c.send(b"\x02")
            self.assertEqual(len(c.read(16)), 16)  # the challenge
            c.send(b"\x00" * 16)  # not the DES of the challenge
            self.assertEqual(struct.unpack(">I", c.read(4))[0], 1, "a wrong password passed")
        finally:
            c.close()
        # used once
        c = self.ws(400, d["port"], d["ticket"])
        self.assertEqual(c.status, 403, c.head)
        c.close()

    def test_refusals(self):
        d = self.proxy(400).json()["data"]
        for vmid, port, ticket in ((400, d["port"], "x" * 32), (401, d["port"], d["ticket"])):
            c = self.ws(vmid, port, ticket)
            self.assertEqual(c.status, 403, c.head)
            c.close()
        # the ticket was used up by the attempt on VM 401
        c = self.ws(400, d["port"], d["ticket"])
        self.assertEqual(c.status, 403, c.head)
        c.close()
        # another port
        d = self.proxy(400).json()["data"]
        c = self.ws(400, 5999 if d["port"] != 5999 else 5998, d["ticket"])
        self.assertEqual(c.status, 403, c.head)
        c.close()
        # another user's ticket
        d = self.proxy(400).json()["data"]
        c = self.ws(400, d["port"], d["ticket"], who=self.con)
        self.assertEqual(c.status, 403, c.head)
        c.close()
        # VM.Console on 400 only
        r = self.proxy(400, who=self.con)
        self.assertEqual(r.status, 200, r.reason)
        d = r.json()["data"]
        self.assertEqual(d["user"], "con@pve")
        c = self.ws(400, d["port"], d["ticket"], who=self.con)
        self.assertEqual(c.status, 101, c.head)
        self.assertEqual(c.read(12), b"RFB 003.008\n")
        c.close()
        self.assertEqual(self.proxy(401, who=self.con).status, 403)
        # without VM.Console
        self.assertEqual(self.proxy(400, who=self.aud).status, 403)
        d = self.proxy(400).json()["data"]
        c = self.ws(400, d["port"], d["ticket"], who=self.aud)
        self.assertEqual(c.status, 403, c.head)
        c.close()
        # not an upgrade
        d = self.proxy(400).json()["data"]
        r = self.api("GET", "/nodes/%s/qemu/400/vncwebsocket" % self.node,
                     params={"port": d["port"], "vncticket": d["ticket"]})
        self.assertEqual(r.status, 400, r.reason)

    def test_serial_terminal(self):
        """termproxy on serial0 with Proxmox's terminal framing; the session
        ends with a normal close when the VM stops."""
        r = self.daemon.http("POST", "/nodes/%s/qemu/402/termproxy" % self.node,
                             ticket=self.ticket, csrf=self.csrf, data={"serial": "serial0"})
        self.assertEqual(r.status, 200, r.reason)
        d = r.json()["data"]
        self.assertEqual(sorted(d), ["port", "ticket", "upid", "user"])
        c = self.ws(402, d["port"], d["ticket"])
        try:
            self.assertEqual(c.status, 101, c.head)
            c.send(("%s:%s\n" % (d["user"], d["ticket"])).encode())
            self.assertEqual(c.read(2), b"OK")
            c.send(b"0:5:hello")
            c.send(b"1:80:24:")
            c.send(b"2")
            c.send(b"pp", op=9)
            self.assertEqual(c.frame(), (10, b"pp"))  # still relaying
            self.wait(self.admin.nodes(self.node).qemu(402).status.stop.post())
            while True:
                op, payload = c.frame()
                if op == 8:
                    break
            self.assertEqual(payload[:2], b"\x03\xe8")  # 1000
        finally:
            c.close()
        # no such port on this VM
        r = self.daemon.http("POST", "/nodes/%s/qemu/400/termproxy" % self.node,
                             ticket=self.ticket, csrf=self.csrf, data={"serial": "serial1"})
        self.assertEqual(r.status, 500, r.reason)
        # a malformed frame ends the session
        r = self.daemon.http("POST", "/nodes/%s/qemu/401/termproxy" % self.node,
                             ticket=self.ticket, csrf=self.csrf)
        self.assertEqual(r.status, 200, r.reason)
        d = r.json()["data"]
        c = self.ws(401, d["port"], d["ticket"])
        try:
            self.assertEqual(c.status, 101, c.head)
            c.send(b"u:t\n9")
            self.assertEqual(c.read(2), b"OK")
            op, payload = c.frame()
            self.assertEqual((op, payload[:2]), (8, b"\x03\xf3"))  # 1011
        finally:
            c.close()

    def test_z_expired(self):
        d = self.proxy(400).json()["data"]
        time.sleep(31)
        c = self.ws(400, d["port"], d["ticket"])
        self.assertEqual(c.status, 403, c.head)
        c.close()

    def test_vncproxy_cert(self):
        """vncproxy answers the node's TLS certificate (PEM) as PVE does."""
        with open(os.path.join(self.daemon.root, "etc", "local", "pve-ssl.pem")) as f:
            pem = f.read()
        d = self.proxy(400).json()["data"]
        self.assertEqual(d["cert"], pem)
        self.assertIn("BEGIN CERTIFICATE", d["cert"])
        self.assertNotIn("PRIVATE KEY", d["cert"])
        self.assertEqual(d["upid"], "")


if __name__ == "__main__":
    ctvmtest.main()
