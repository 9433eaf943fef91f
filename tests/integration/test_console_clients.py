#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""Every console kind through Debian's websocket client (python3-websocket,
the websocket-client library), opened as Proxmox's clients open them
(issue 14, first acceptance item; docs/consoles.md).

proxmoxer logs in and asks for the console (termproxy / vncproxy); the
library then opens .../vncwebsocket?port=..&vncticket=.. (URL-encoded) over
TLS with the login cookie and subprotocol "binary".  On a terminal the
client speaks Proxmox's framing in text messages, as the xterm.js page does:
"user:ticket\\n" answered "OK", then "0:LEN:DATA" input and "1:COLS:ROWS:"
resize; output comes back as binary messages.

 - the test VM's serial terminal (the guest ISO under TCG, kvm 0) shows its
   boot marker;
 - a container's terminal runs `hostname` and sees the container's;
 - the node shell as root@pam runs `id -u` and sees 0.  No password of
   root's is known to the tests: root@pam is the peer uid 0 on ctvmd's unix
   socket (as on a Proxmox host's own tools), so the library gets that
   socket already connected (its `socket=` option) and speaks plain ws://;
 - a VM's screen (vncproxy) carries RFB in binary messages: the 3.8 banner
   and VNC authentication as the only security type.

All four share one daemon.  Without the library the script exits 77.
"""

import os
import re
import socket
import ssl
import sys
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ctvmtest  # noqa: E402

try:
    import websocket
except ImportError as e:
    print("SKIP: the websocket client library cannot be imported (%s); "
          "tools/setup-deps installs python3-websocket" % e)
    sys.exit(ctvmtest.SKIP)

from ctfixture import CtDaemonTest  # noqa: E402
from test_vm_boot import MARKER, QEMU, build_iso, upload_iso  # noqa: E402

OPEN_TIMEOUT = 15


class Term:
    """A vncwebsocket terminal over websocket-client, framed as Proxmox's
    xterm.js page frames it."""

    def __init__(self, ws):
        self.ws = ws
        self.ws.settimeout(1)  # until() keeps its own deadline
        self.pending = b""

    def login(self, user, ticket):
        """The first message; the answer starts with OK (what follows it in
        the same message is already terminal output)."""
        self.ws.send("%s:%s\n" % (user, ticket))
        first = b""
        deadline = time.monotonic() + OPEN_TIMEOUT
        while len(first) < 2:
            if time.monotonic() >= deadline:
                raise AssertionError("no OK after the ticket: %r" % first)
            first += self.recv()
        assert first[:2] == b"OK", first
        self.pending = first[2:]

    def type(self, text):
        b = text.encode()
        self.ws.send("0:%d:%s" % (len(b), text))

    def resize(self, cols, rows):
        self.ws.send("1:%d:%d:" % (cols, rows))

    def recv(self):
        """The next output message's bytes, b"" on a read timeout; EOFError
        on the server's close."""
        try:
            op, data = self.ws.recv_data(control_frame=False)
        except websocket.WebSocketTimeoutException:
            return b""
        except websocket.WebSocketConnectionClosedException as e:
            raise EOFError("closed: %s" % e) from e
        if op == websocket.ABNF.OPCODE_CLOSE:
            raise EOFError("closed: %r" % data)
        return data if isinstance(data, bytes) else data.encode()

    def until(self, pattern, timeout=30):
        """Reads the terminal until pattern (a bytes regex) matches; the
        match.  What came after it stays for the next call."""
        seen = self.pending
        deadline = time.monotonic() + timeout
        while True:
            m = re.search(pattern, seen)
            if m:
                self.pending = seen[m.end():]
                return m
            if time.monotonic() >= deadline:
                raise AssertionError("no %r in %r" % (pattern, seen[-2000:]))
            try:
                seen += self.recv()
            except EOFError as e:
                raise EOFError("%s after %r" % (e, seen[-2000:])) from e


class ConsoleClientsTest(CtDaemonTest):

    @classmethod
    def setUpClass(cls):
        if not os.access(QEMU, os.X_OK):
            raise unittest.SkipTest("no %s" % QEMU)
        super().setUpClass()
        # what the Proxmox client logged in with: its cookie opens the socket
        cls.cookie, _ = cls.admin.get_tokens()

    def ok(self, upid, timeout=180):
        self.assertEqual(self.wait_task(upid, timeout), "OK")

    def stop_vm(self, vmid):
        try:
            self.ok(self.admin.nodes(self.node).qemu(vmid).status.stop.post(), 60)
        except Exception:  # noqa: BLE001 - best effort
            pass

    def connect(self, where, d):
        """The library's WebSocket to .../vncwebsocket for d (a termproxy or
        vncproxy answer), over TLS with the login cookie."""
        q = urllib.parse.urlencode({"port": d["port"], "vncticket": d["ticket"]})
        url = "wss://%s:%d%s/nodes/%s%s/vncwebsocket?%s" % (
            self.daemon.host, self.daemon.port, ctvmtest.API, self.node, where, q)
        ws = websocket.create_connection(
            url, timeout=OPEN_TIMEOUT, subprotocols=["binary"],
            header=["Cookie: PVEAuthCookie=%s" % self.cookie],
            sslopt={"cert_reqs": ssl.CERT_NONE, "check_hostname": False},
            http_no_proxy=[self.daemon.host])  # loopback, whatever the environment says
        self.addCleanup(ws.close)
        self.assertEqual(ws.getstatus(), 101)
        self.assertEqual(ws.getsubprotocol(), "binary")
        return ws

    def test_vm_serial_shows_boot_marker(self):
        iso = build_iso()
        if not iso:
            self.skipTest("the test guest ISO cannot be built here")
        path = os.path.join(self.daemon.root, "srv", "iso")
        self.daemon.root_call("POST", "/storage", storage="iso", type="dir", path=path,
                              content="iso")
        isoname = upload_iso(self.admin, self.node, "iso", iso)
        q = self.admin.nodes(self.node).qemu
        self.ok(q.post(vmid=530, kvm=0, memory=256, serial0="socket",
                       ide2="iso:iso/%s,media=cdrom" % isoname, boot="order=ide2"))
        self.ok(q(530).status.start.post())
        self.addCleanup(self.stop_vm, 530)
        # the guest says its marker once, seconds into its boot under TCG:
        # the terminal is open before that
        d = q(530).termproxy.post(serial="serial0")
        self.assertEqual(d["user"], self.acct.userid)
        t = Term(self.connect("/qemu/530", d))
        t.login(d["user"], d["ticket"])
        t.resize(80, 24)  # a serial port has no size: ignored
        t.until(re.escape(MARKER), timeout=300)

    def test_ct_terminal_runs_hostname(self):
        self.create(531, hostname="wsclient531", cmode="shell")
        self.power(531, "start")
        self.wait_booted(self.running_pid(531))
        d = self.ct(531).termproxy.post()
        self.assertEqual(d["user"], self.acct.userid)
        t = Term(self.connect("/lxc/531", d))
        t.login(d["user"], d["ticket"])
        # what is typed before lxc-attach set the terminal up may be flushed
        t.until(rb"# ")
        t.resize(100, 30)
        t.type("echo H$(hostname)H; echo S$(stty size)S\n")
        self.assertEqual(t.until(rb"H(\w+)H").group(1), b"wsclient531")
        self.assertEqual(t.until(rb"S(\d+ \d+)S").group(1), b"30 100")

    def test_node_shell_as_root(self):
        r = self.daemon.root_http("POST", "/nodes/%s/termproxy" % self.node)
        self.assertEqual(r.status, 200, r.reason)
        d = r.json()["data"]
        self.assertEqual(d["user"], "root@pam")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.addCleanup(sock.close)
        sock.settimeout(OPEN_TIMEOUT)
        sock.connect(os.path.join(self.daemon.root, "run", "api.sock"))
        q = urllib.parse.urlencode({"port": d["port"], "vncticket": d["ticket"]})
        ws = websocket.create_connection(
            "ws://localhost%s/nodes/%s/vncwebsocket?%s" % (ctvmtest.API, self.node, q),
            socket=sock, timeout=OPEN_TIMEOUT, subprotocols=["binary"])
        self.addCleanup(ws.close)
        self.assertEqual(ws.getstatus(), 101)
        t = Term(ws)
        t.login(d["user"], d["ticket"])
        t.until(rb"# ")
        t.resize(91, 27)
        t.type("echo U$(id -u)U\n")
        self.assertEqual(t.until(rb"U(\d+)U").group(1), b"0")

    def test_vm_screen_rfb(self):
        q = self.admin.nodes(self.node).qemu
        self.ok(q.post(vmid=532, kvm=0, memory=64))
        self.ok(q(532).status.start.post())
        self.addCleanup(self.stop_vm, 532)
        d = q(532).vncproxy.post(websocket=1)
        self.assertEqual(d["user"], self.acct.userid)
        ws = self.connect("/qemu/532", d)
        got = b""

        def read(n):
            nonlocal got
            while len(got) < n:
                op, data = ws.recv_data()
                self.assertEqual(op, websocket.ABNF.OPCODE_BINARY, data)
                got += data
            out, got = got[:n], got[n:]
            return out

        self.assertEqual(read(12), b"RFB 003.008\n")
        ws.send_binary(b"RFB 003.008\n")
        n = read(1)[0]
        self.assertEqual(list(read(n)), [2], "VNC authentication only")


if __name__ == "__main__":
    ctvmtest.main()
