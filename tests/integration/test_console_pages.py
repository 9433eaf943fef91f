#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""The console pages (issue 14 item 5; docs/consoles.md).

Served files: the page at Proxmox's URL (/?console=...) with no-cache and a
CSP, its assets under /assets/<hash>/ cached as immutable, 404 for anything
else under /assets/, and no way out of the loaded set (.., %2e%2e, encoded
slashes, NUL); "/" without console= is answered as before.

In a browser (headless Debian Chromium through npm playwright-core,
console_pages.mjs): the login form appears without a cookie and logs in;
the noVNC page of a running TCG VM shows the guest's screen (its canvas's
pixels, at the framebuffer's size, agree with the screenshot endpoint's
taken right after) and its Paste text button types into the guest; the
xterm.js page of the VM's serial port shows the test ISO's boot marker; the
node shell page as root@pam (a cookie, renewed by the page) runs `id -u` and
shows 0; a container's terminal runs `hostname` (skipped without LXC).
Browser cases are skipped without /usr/bin/chromium or www/node_modules
(tools/setup-deps installs both).
"""

import base64
import http.client
import json
import os
import re
import ssl
import struct
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ctvmtest  # noqa: E402
from ctfixture import CtDaemonTest  # noqa: E402
from test_vm_boot import build_iso, read_until, serial_socket, upload_iso  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("CTVM_SOURCE_ROOT") or os.path.join(HERE, "..", "..")
MODULES = os.path.join(SRC, "www", "node_modules")
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
QEMU = "/usr/bin/qemu-system-x86_64"
MARKER = "CTVM-GUEST-BOOTED"


def raw_get(daemon, path, cookie=None):
    """One GET with the path sent exactly as given (no client normalising)."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    c = http.client.HTTPSConnection(daemon.host, daemon.port, context=ctx, timeout=15)
    try:
        c.putrequest("GET", path, skip_accept_encoding=True)
        if cookie:
            c.putheader("Cookie", "PVEAuthCookie=" + urllib.parse.quote(cookie, safe=""))
        c.endheaders()
        r = c.getresponse()
        return r.status, dict((k.lower(), v) for k, v in r.getheaders()), r.read()
    finally:
        c.close()


def root_ticket(daemon):
    """A root@pam ticket signed with the daemon's key, as ctvmd makes them
    ("PVE:root@pam:HEXTIME::base64 RSA-SHA256"): root@pam's password is the
    host's, which a test does not know."""
    plain = "PVE:root@pam:%08X" % int(time.time())
    key = os.path.join(daemon.root, "etc", "priv", "authkey.key")
    sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key], input=plain.encode(),
                         capture_output=True, check=True, timeout=30).stdout
    return plain + "::" + base64.b64encode(sig).decode()


class PagesTest(ctvmtest.AdminDaemonTest):

    @classmethod
    def setUpClass(cls):
        pages = os.path.join(os.path.dirname(ctvmtest.ctvmd_path()), "..", "..", "www", "pages")
        if not os.path.isfile(os.path.join(pages, "console.html")):
            raise AssertionError("the console pages were not built (%s): run tools/setup-deps"
                                 % pages)
        super().setUpClass()

    def page(self, query):
        st, h, body = raw_get(self.daemon, "/?" + query)
        self.assertEqual(st, 200)
        return h, body.decode()

    def test_static_files(self):
        h, page = self.page("console=kvm&novnc=1&vmid=100&node=" + self.node)
        self.assertEqual(h["content-type"], "text/html;charset=UTF-8")
        self.assertEqual(h["cache-control"], "no-cache")
        self.assertIn("default-src 'self'", h["content-security-policy"])
        self.assertEqual(h["x-content-type-options"], "nosniff")
        m = re.search(r'src="(/assets/([0-9a-f]{16})/console\.js)"', page)
        self.assertTrue(m, page)
        js, digest = m.group(1), m.group(2)
        st, h, body = raw_get(self.daemon, js)
        self.assertEqual(st, 200)
        self.assertEqual(h["content-type"], "text/javascript;charset=UTF-8")
        self.assertEqual(h["cache-control"], "max-age=31536000, immutable")
        self.assertIn(b"vncwebsocket", body)
        a = "/assets/%s/" % digest
        for path in (a + "novnc/core/rfb.js", a + "xterm/xterm.js", a + "xterm/xterm.css"):
            st, h, _ = raw_get(self.daemon, path)
            self.assertEqual(st, 200, path)
        # the same page for every console kind; a ticket changes nothing
        _, other = self.page("console=shell&xtermjs=1&node=" + self.node)
        self.assertEqual(other, page)
        # outside the loaded set: 404, never a file
        for path in ("/assets/", "/assets/x", a, a + "nope.js", a + "../" + digest + "/console.js",
                     a + "%2e%2e/%2e%2e/console.html", "/assets/../console.html",
                     "/assets/..%2fconsole.html", a + "novnc/core/../core/rfb.js",
                     a + "console.js%00.png", a + "console.js/", "/assets//etc/passwd",
                     "/assets/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
                     "/assets/" + "a/" * 300 + "x"):
            st, _, body = raw_get(self.daemon, path)
            self.assertIn(st, (400, 404, 501), path)
            self.assertNotIn(b"root:", body, path)
        # the page file itself is only the page at "/?console="
        for path in ("/console.html", "/www/console.html", "/?console", "/?xtermjs=1"):
            st, h, body = raw_get(self.daemon, path)
            if path == "/?console":
                self.assertEqual(st, 200)  # console= present, if empty
                continue
            self.assertNotEqual(h.get("content-type"), "text/html;charset=UTF-8", path)
        # other requests as before: the API answers them
        st, _, body = raw_get(self.daemon, "/api2/json/version")
        self.assertEqual(st, 401)

    def test_no_cookie_shows_login(self):
        r = browse({"url": self.url("console=shell&xtermjs=1&node=" + self.node),
                    "login": {"user": "nobody-here", "password": "wrong", "realm": "pve"},
                    "timeout_ms": 30000})
        self.assertTrue(r["shown_login"], r)
        self.assertEqual(r["state"], "login", r)
        self.assertIn("Login failed", r["login_error"], r)

    def url(self, query):
        return "https://%s:%d/?%s" % (self.daemon.host, self.daemon.port, query)

    def test_node_shell_as_root(self):
        r = browse({"url": self.url("console=shell&xtermjs=1&node=" + self.node),
                    "cookie": root_ticket(self.daemon), "wait_for": r"# ?$",
                    "type": ["id -u; echo ID-DONE"], "expect": r"^0\s*\nID-DONE\s*$",
                    "timeout_ms": 60000})
        self.assertFalse(r["shown_login"], r)
        self.assertEqual(r["state"], "connected", r)
        self.assertRegex(r["text"], r"(?m)^0\s*$", r)

    def test_node_shell_pve_user_refused(self):
        """The form logs a pve-realm user in; the node shell stays refused."""
        pw = "Pages-pw-1"
        self.admin.access.users.post(userid="pages@pve", password=pw)
        self.admin.access.acl.put(path="/", roles="Administrator", users="pages@pve")
        r = browse({"url": self.url("console=shell&xtermjs=1&node=" + self.node),
                    "login": {"user": "pages", "password": pw, "realm": "pve"},
                    "timeout_ms": 30000})
        self.assertTrue(r["shown_login"], r)
        self.assertEqual(r["state"], "error", r)
        self.assertIn("403", r["message"], r)


def browse(args, expect_done=True):
    if not os.access(CHROMIUM, os.X_OK) or not os.path.isdir(MODULES):
        raise unittest.SkipTest("no %s or %s: run tools/setup-deps" % (CHROMIUM, MODULES))
    env = dict(os.environ, CTVM_WWW_MODULES=MODULES, CHROMIUM=CHROMIUM, HOME=tempfile.gettempdir())
    timeout = args.get("timeout_ms", 60000) / 1000 + 60
    p = subprocess.run(["node", os.path.join(HERE, "console_pages.mjs"), json.dumps(args)],
                       capture_output=True, text=True, timeout=timeout, env=env,
                       stdin=subprocess.DEVNULL)
    lines = p.stdout.strip().splitlines()
    if p.returncode or not lines:
        raise AssertionError("console_pages.mjs failed (%d): %s %s"
                             % (p.returncode, p.stdout[-2000:], p.stderr[-2000:]))
    r = json.loads(lines[-1])
    if expect_done:
        assert r["ok"], r
    return r


class GuestPagesTest(ctvmtest.AdminDaemonTest):
    """A VM's screen and serial port, a container's terminal, through the form."""

    @classmethod
    def setUpClass(cls):
        if not os.access(QEMU, os.X_OK):
            raise unittest.SkipTest("no %s" % QEMU)
        if not os.access(CHROMIUM, os.X_OK) or not os.path.isdir(MODULES):
            raise unittest.SkipTest("no %s or %s: run tools/setup-deps" % (CHROMIUM, MODULES))
        cls.iso = build_iso()
        if not cls.iso:
            raise unittest.SkipTest("the test guest ISO cannot be built here")
        super().setUpClass()
        path = os.path.join(cls.daemon.root, "srv", "vms")
        cls.daemon.root_call("POST", "/storage", storage="vms", type="dir", path=path,
                             content="images,iso")
        cls.isoname = upload_iso(cls.admin, cls.node, "vms", cls.iso)
        cls.addClassCleanup(cls.stop_vms)

    @classmethod
    def stop_vms(cls):
        for vmid in (450, 451):
            try:
                cls.wait(cls, cls.admin.nodes(cls.node).qemu(vmid).status.stop.post())
            except Exception:  # noqa: BLE001 - best effort
                pass

    def wait(self, upid, timeout=120):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            st = self.admin.nodes(self.node).tasks(upid).status.get()
            if st["status"] == "stopped":
                assert st["exitstatus"] == "OK", st
                return
            time.sleep(0.1)
        raise AssertionError("task %s did not end" % upid)

    def start_vm(self, vmid):
        q = self.admin.nodes(self.node).qemu
        self.wait(q.post(vmid=vmid, kvm=0, memory=256, cores=1, serial0="socket",
                         ide2="vms:iso/%s,media=cdrom" % self.isoname, boot="order=ide2"))
        self.wait(q(vmid).status.start.post())

    def form(self):
        return {"user": self.acct.userid.split("@")[0], "password": self.acct.password,
                "realm": "pam"}

    def url(self, query):
        return "https://%s:%d/?%s" % (self.daemon.host, self.daemon.port, query)

    def test_serial_page(self):
        """The page is open before the guest prints its marker: a serial
        port does not replay what was printed before a client came."""
        self.start_vm(450)
        r = browse({"url": self.url("console=kvm&xtermjs=1&vmid=450&node=" + self.node),
                    "login": self.form(), "expect": MARKER, "timeout_ms": 150000})
        self.assertTrue(r["shown_login"], r)
        self.assertEqual(r["state"], "connected", r)
        self.assertIn(MARKER, r["text"], r)

    def test_vnc_page(self):
        """What the browser shows is the guest's screen: the noVNC canvas's
        pixels against the screenshot endpoint's, taken right after; then
        the Paste text button types into the guest, which powers off at its
        first input event (tests/fixtures/guest-iso)."""
        self.start_vm(451)
        with serial_socket(self.daemon, 451) as s, tempfile.TemporaryDirectory() as d:
            # the guest reads its keyboard once it has printed the marker
            serial = read_until(s, MARKER.encode(), 150)
            self.assertIn(MARKER.encode(), serial)
            r = browse({"url": self.url("console=kvm&novnc=1&vmid=451&node=" + self.node),
                        "login": self.form(), "timeout_ms": 120000, "paste": "h",
                        "compare": {"endpoint": "/api2/json/nodes/%s/qemu/451/screenshot"
                                    % self.node, "dir": d, "shots": 5}})
            self.assertTrue(r["shown_login"], r)
            self.assertEqual(r["state"], "connected", r)
            self.assertGreaterEqual(r["lit"], 50, "the guest's screen stayed black: %s" % r)
            self.assertTrue(r["shots"], r)
            self.assertTrue(all(sh == [200, 200] for sh in r["shots"]), r)
            tries = []
            for i in range(len(r["shots"])):
                with open(os.path.join(d, "canvas-%d.png" % i), "rb") as f:
                    page = png_rgb(f.read())
                with open(os.path.join(d, "endpoint-%d.png" % i), "rb") as f:
                    qemu = png_rgb(f.read())
                self.assertEqual(page[:2], tuple(r["canvas_size"]), r)
                tries.append((page[:2], qemu[:2], same_pixels(page, qemu)))
                # a blinking cursor, a line being drawn: most, not all
                if page[:2] == qemu[:2] and tries[-1][2] >= 0.98:
                    break
            else:
                self.fail("the page never showed the guest's screen "
                          "((page size, endpoint size, share of equal pixels)...): %s" % tries)
            # the Paste text button: the guest read the key and powered off
            # (the page then says so: the VNC connection ended with QEMU)
            self.assertEqual(r["paste"]["hidden"], True, r)
            self.assertNotIn("paste failed", r["paste"]["message"], r)
            serial += read_until(s, b"CTVM-GUEST-POWERDOWN", 60)
            self.assertIn(b"CTVM-GUEST-POWERDOWN", serial)
            self.assertIn(r["paste"]["state"], ("closed", "error"), r)


def png_rgb(data):
    """(width, height, RGB bytes) of an 8-bit RGB or RGBA, not interlaced
    PNG (Chromium's toDataURL, QEMU's screendump): enough to compare two
    pictures without python3-pil."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", data[:16]
    p, idat, head = 8, [], None
    while p < len(data):
        n, kind = struct.unpack(">I4s", data[p:p + 8])
        body = data[p + 8:p + 8 + n]
        assert zlib.crc32(kind + body) == struct.unpack(">I", data[p + 8 + n:p + 12 + n])[0]
        if kind == b"IHDR":
            head = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        p += 12 + n
    w, h, depth, ctype, _, _, interlace = head
    assert depth == 8 and ctype in (2, 6) and not interlace, head
    # bounded: a test guest's screen, never more than 4096x4096 RGBA
    assert w * h <= 4096 * 4096, head
    bpp = 3 if ctype == 2 else 4
    stride = w * bpp
    raw = zlib.decompress(b"".join(idat))
    assert len(raw) == h * (stride + 1), (len(raw), head)
    out, prev = bytearray(), bytearray(stride)
    for y in range(h):
        ft = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        if ft == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 0xFF
        elif ft == 2:
            line = bytearray((a + b) & 0xFF for a, b in zip(line, prev))
        elif ft == 3:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 0xFF
        elif ft == 4:
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b, c = prev[i], (prev[i - bpp] if i >= bpp else 0)
                pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                pr = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pr) & 0xFF
        else:
            assert ft == 0, ft
        out += line
        prev = line
    if bpp == 4:
        del out[3::4]
    return w, h, bytes(out)


def same_pixels(a, b):
    """The share of pixels two (w, h, RGB) pictures of one size have equal."""
    if a[:2] != b[:2]:
        return 0.0
    pa, pb = a[2], b[2]
    n = len(pa) // 3
    equal = sum(1 for i in range(0, len(pa), 3) if pa[i:i + 3] == pb[i:i + 3])
    return equal / n if n else 0.0


class CtPagesTest(CtDaemonTest):
    """A container's terminal page, through the form: `hostname` answers
    the container's."""

    @classmethod
    def setUpClass(cls):
        if not os.access(CHROMIUM, os.X_OK) or not os.path.isdir(MODULES):
            raise unittest.SkipTest("no %s or %s: run tools/setup-deps" % (CHROMIUM, MODULES))
        super().setUpClass()

    def test_container_page(self):
        # cmode shell (lxc-attach): the busybox template runs no getty on its ttys
        self.create(470, hostname="ct470", cmode="shell",
                    net0="name=eth0,bridge=%s" % self.bridge)
        self.power(470, "start")
        self.wait_booted(self.running_pid(470))
        r = browse({"url": "https://%s:%d/?console=lxc&xtermjs=1&vmid=470&node=%s"
                           % (self.daemon.host, self.daemon.port, self.node),
                    "login": {"user": self.acct.userid.split("@")[0],
                              "password": self.acct.password, "realm": "pam"},
                    "type": ["", "hostname"], "expect": r"^ct470\s*$", "timeout_ms": 60000})
        self.assertTrue(r["shown_login"], r)
        self.assertEqual(r["state"], "connected", r)
        self.assertRegex(r["text"], r"(?m)^ct470\s*$", r)


if __name__ == "__main__":
    ctvmtest.main()
