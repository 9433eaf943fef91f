#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""The node shell (issue 14): POST /nodes/{node}/termproxy, then GET
/nodes/{node}/vncwebsocket with Proxmox's terminal framing.

root@pam (the daemon's unix socket, where uid 0 is root@pam) gets a root
login shell: `id -u` answers 0 and `stty size` the size last sent.  The
class's pam administrator (a throwaway host account) gets the host's login
prompt, not a shell.  A pve-realm Administrator, a pam user without
Sys.Console, a token and `cmd` from anyone but root@pam are refused.  When
the client goes, the shell goes with it (no process of its session is left),
and the audit log has the shell's opening and its end.  POST vncshell is
the same shell under the same rule.
"""

import base64
import functools
import json
import os
import socket
import subprocess
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ctvmtest  # noqa: E402
import test_console  # noqa: E402
from test_console import WsClient, type_  # noqa: E402

# the terminal's reads wait 20 s unless told
until = functools.partial(test_console.until, timeout=20)


class UnixWsClient(WsClient):
    """WsClient over the daemon's unix socket (root@pam, no ticket)."""

    def __init__(self, daemon, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(15)
        self.sock.connect(os.path.join(daemon.root, "run", "api.sock"))
        key = base64.b64encode(os.urandom(16)).decode()
        req = ("GET %s HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
               "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: binary\r\n\r\n"
               % (path, key))
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


def session_pids(tty):
    """Processes whose controlling terminal is tty (e.g. "pts/3")."""
    out = subprocess.run(["ps", "-eo", "pid=,tty="], capture_output=True, text=True).stdout
    return [ln.split()[0] for ln in out.splitlines() if ln.split()[1:] == [tty]]


class NodeShellTest(ctvmtest.AdminDaemonTest):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        pw = "Shell-pw-1"
        cls.admin.access.users.post(userid="padmin@pve", password=pw)
        cls.admin.access.acl.put(path="/", roles="Administrator", users="padmin@pve")
        cls.pve = cls.daemon.login("padmin@pve", pw)

    def path(self):
        return "/nodes/%s/termproxy" % self.node

    def root_shell(self, what="termproxy", wait=0):
        r = self.daemon.root_http("POST", "/nodes/%s/%s" % (self.node, what))
        self.assertEqual(r.status, 200, r.reason)
        d = r.json()["data"]
        self.assertEqual(d["user"], "root@pam")
        q = urllib.parse.urlencode({"port": d["port"], "vncticket": d["ticket"]})
        c = UnixWsClient(self.daemon, "%s/nodes/%s/vncwebsocket?%s" % (ctvmtest.API, self.node, q))
        self.assertEqual(c.status, 101, c.head)
        time.sleep(wait)
        c.send(("%s:%s\n" % (d["user"], d["ticket"])).encode())
        self.assertEqual(c.read(2), b"OK")
        return c

    def test_ok_comes_first(self):
        """Nothing of the shell reaches the client before the "OK" that
        answers its ticket line, however late that line comes: Proxmox's
        xterm.js closes a terminal whose first message is not "OK"."""
        c = self.root_shell(wait=1.5)  # login -f root has printed by now
        try:
            until(c, rb"# ")
        finally:
            c.close()

    def test_root_shell(self):
        c = self.root_shell()
        try:
            # what is typed before login set the terminal up may be flushed
            until(c, rb"# ")
            c.send(b"1:91:27:")
            type_(c, "echo U$(id -u)U; echo S$(stty size)S; echo T$(tty)T\n")
            self.assertEqual(until(c, rb"U(\d+)U").group(1), b"0")
            self.assertEqual(until(c, rb"S(\d+ \d+)S").group(1), b"27 91")
            tty = until(c, rb"T/dev/(pts/\d+)T").group(1).decode()
            self.assertTrue(session_pids(tty))
        finally:
            c.close()
        # the client went: the shell's session goes too
        deadline = time.monotonic() + 10
        while session_pids(tty) and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertEqual(session_pids(tty), [])
        # both ends of the session are in the audit log
        deadline = time.monotonic() + 10
        while True:
            with open(os.path.join(self.daemon.root, "log", "audit.log")) as f:
                lines = [json.loads(ln) for ln in f if "shell " in ln]
            ends = [(ln["user"], ln["addr"], ln["result"].split(" (")[0]) for ln in lines
                    if ln["user"] == "root@pam"]
            if ends.count(("root@pam", "unix", "shell ended")) >= 1 or \
                    time.monotonic() > deadline:
                break
            time.sleep(0.1)
        self.assertIn(("root@pam", "unix", "shell opened"), ends)
        self.assertIn(("root@pam", "unix", "shell ended"), ends)

    def test_shell_exit_closes(self):
        c = self.root_shell()
        try:
            until(c, rb"# ")
            type_(c, "exit\n")
            while True:
                op, payload = c.frame()
                if op == 8:
                    break
        finally:
            c.close()

    def test_vncshell(self):
        """vncshell: the same shell under the same rule (its ticket opens
        the terminal, ctvm has no vncterm)."""
        ticket, csrf = self.pve
        for data in ({}, {"websocket": 1}):
            r = self.daemon.http("POST", "/nodes/%s/vncshell" % self.node, ticket=ticket,
                                 csrf=csrf, data=data)
            self.assertEqual((r.status, r.reason), (403, "Permission check failed (realm != pam)"))
        r = self.api("POST", "/nodes/%s/vncshell" % self.node, data={"cmd": "login"})
        self.assertEqual(r.status, 403, r.reason)
        d = self.admin.access.users(self.acct.userid).token("vs").post(privsep=0)
        h = {"Authorization": "PVEAPIToken=%s=%s" % (d["full-tokenid"], d["value"])}
        r = self.daemon.http("POST", "/nodes/%s/vncshell" % self.node, headers=h)
        self.assertEqual(r.status, 403, r.reason)
        c = self.root_shell("vncshell")
        try:
            until(c, rb"# ")
            type_(c, "echo U$(id -u)U\n")
            self.assertEqual(until(c, rb"U(\d+)U").group(1), b"0")
        finally:
            c.close()

    def test_pam_user_gets_login(self):
        r = self.api("POST", self.path())
        self.assertEqual(r.status, 200, r.reason)
        d = r.json()["data"]
        self.assertEqual(d["user"], self.acct.userid)
        q = urllib.parse.urlencode({"port": d["port"], "vncticket": d["ticket"]})
        c = WsClient(self.daemon, "%s/nodes/%s/vncwebsocket?%s" % (ctvmtest.API, self.node, q),
                     self.ticket)
        try:
            self.assertEqual(c.status, 101, c.head)
            c.send(("%s:%s\n" % (d["user"], d["ticket"])).encode())
            self.assertEqual(c.read(2), b"OK")
            until(c, rb"login: ")
        finally:
            c.close()

    def test_refusals(self):
        # a pve-realm Administrator on /
        ticket, csrf = self.pve
        r = self.daemon.http("POST", self.path(), ticket=ticket, csrf=csrf)
        self.assertEqual(r.status, 403, r.reason)
        # cmd is root@pam's alone (even "login")
        for cmd in ("upgrade", "login"):
            r = self.api("POST", self.path(), data={"cmd": cmd})
            self.assertEqual(r.status, 403, r.reason)
        # a token of the pam administrator
        d = self.admin.access.users(self.acct.userid).token("sh").post(privsep=0)
        h = {"Authorization": "PVEAPIToken=%s=%s" % (d["full-tokenid"], d["value"])}
        r = self.daemon.http("POST", self.path(), headers=h)
        self.assertEqual(r.status, 403, r.reason)
        # a ticket is the caller's and the node shell's only
        r = self.api("POST", self.path())
        d = r.json()["data"]
        q = urllib.parse.urlencode({"port": d["port"], "vncticket": d["ticket"]})
        c = WsClient(self.daemon, "%s/nodes/%s/vncwebsocket?%s" % (ctvmtest.API, self.node, q),
                     ticket)
        self.assertEqual(c.status, 403, c.head)
        c.close()

    def test_pam_user_without_sys_console(self):
        with ctvmtest.HostAccount() as acct:
            self.admin.access.users.post(userid=acct.userid)
            self.admin.access.acl.put(path="/", roles="PVEVMAdmin", users=acct.userid)
            ticket, csrf = self.daemon.login(acct.userid, acct.password)
            r = self.daemon.http("POST", self.path(), ticket=ticket, csrf=csrf)
            self.assertEqual(r.status, 403, r.reason)
            self.admin.access.users(acct.userid).delete()

    def test_vncshell_cert(self):
        """vncshell answers the node's TLS certificate (public, PEM) as PVE
        does, never its key; termproxy has no cert (PVE's neither)."""
        with open(os.path.join(self.daemon.root, "etc", "local", "pve-ssl.pem")) as f:
            pem = f.read()
        self.assertIn("BEGIN CERTIFICATE", pem)
        d = self.daemon.root_http("POST", "/nodes/%s/vncshell" % self.node).json()["data"]
        self.assertEqual(d["cert"], pem)
        self.assertNotIn("PRIVATE KEY", d["cert"])
        self.assertEqual(d["upid"], "")
        d = self.daemon.root_http("POST", self.path()).json()["data"]
        self.assertEqual(sorted(d), ["port", "ticket", "upid", "user"])


if __name__ == "__main__":
    ctvmtest.main()
