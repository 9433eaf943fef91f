#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""ctvm's extensions to a VM's screen (issue 14, item 6; docs/consoles.md):

 - GET .../qemu/{vmid}/screenshot answers image/png: a whole PNG (its
   chunks' CRCs, its pixels inflate to exactly its size) as large as the
   screen QEMU itself dumps at the same moment (a PPM through the VM's own
   QMP socket); VM.Console, a running VM; no file is left in the run dir;
 - PUT .../sendkey with text types it as key presses: the test guest
   (tests/fixtures/guest-iso) powers off at the first input event it reads,
   saying CTVM-GUEST-POWERDOWN on its serial port, so the keys reached the
   guest's keyboard; characters en-us cannot type are a 400 naming them,
   key and text together or neither are 400, and VM.Console is needed.
"""

import json
import os
import socket
import struct
import sys
import time
import unittest
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ctvmtest  # noqa: E402
from test_vm_boot import (MARKER, QEMU, build_iso, read_until, serial_socket,  # noqa: E402
                          upload_iso)

PW = "Screen-pw-1"


def png_size(data):
    """(width, height) of a PNG, checking its structure and its pixels."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", data[:16]
    p, chunks = 8, []
    while p < len(data):
        n, kind = struct.unpack(">I4s", data[p:p + 8])
        body = data[p + 8:p + 8 + n]
        crc = struct.unpack(">I", data[p + 8 + n:p + 12 + n])[0]
        assert zlib.crc32(kind + body) == crc, kind
        chunks.append((kind, body))
        p += 12 + n
    assert chunks[0][0] == b"IHDR" and chunks[-1][0] == b"IEND", [c[0] for c in chunks]
    w, h, depth, ctype = struct.unpack(">IIBB", chunks[0][1][:10])
    bpp = {2: 3, 6: 4, 0: 1}[ctype] * depth // 8
    raw = zlib.decompress(b"".join(b for k, b in chunks if k == b"IDAT"))
    assert len(raw) == h * (1 + w * bpp), (len(raw), w, h, bpp)
    return w, h


def qmp(path, cmd, args=None):
    """One QMP command on a VM's own socket (the test is root)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(30)
        s.connect(path)
        f = s.makefile("rwb")
        f.readline()
        for c in ({"execute": "qmp_capabilities"}, {"execute": cmd, "arguments": args or {}}):
            f.write(json.dumps(c).encode() + b"\n")
            f.flush()
            while True:
                r = json.loads(f.readline())
                if "return" in r or "error" in r:
                    break
        return r


class VmScreenTest(ctvmtest.AdminDaemonTest):

    @classmethod
    def setUpClass(cls):
        if not os.access(QEMU, os.X_OK):
            raise unittest.SkipTest("no %s" % QEMU)
        super().setUpClass()
        cls.admin.access.users.post(userid="scr@pve", password=PW)
        cls.admin.access.acl.put(path="/vms/410", roles="PVEAuditor", users="scr@pve")
        cls.aud = cls.daemon.login("scr@pve", PW)

    def ok(self, upid, timeout=180):
        self.assertEqual(self.task_status(upid, timeout)["exitstatus"], "OK")

    def run_dir(self, vmid):
        return os.path.join(self.daemon.root, "run", "qemu-server", str(vmid))

    def stop(self, vmid):
        try:
            self.ok(self.admin.nodes(self.node).qemu(vmid).status.stop.post())
        except Exception:  # noqa: BLE001 - best effort
            pass

    def test_screenshot(self):
        q = self.admin.nodes(self.node).qemu
        self.ok(q.post(vmid=410, kvm=0, memory=64))
        path = "/nodes/%s/qemu/410/screenshot" % self.node
        r = self.api("GET", path)
        self.assertEqual((r.status, r.reason), (500, "VM 410 not running"))
        self.ok(q(410).status.start.post())
        self.addCleanup(self.stop, 410)
        # the screen QEMU dumps itself right after (SeaBIOS may switch
        # modes early on: a few tries)
        ppm = os.path.join(self.run_dir(410), "test.ppm")
        for _ in range(10):
            r = self.api("GET", path)
            self.assertEqual(r.status, 200, r.reason)
            self.assertEqual(r.headers["Content-Type"], "image/png")
            w, h = png_size(r.body)
            self.assertIn("return", qmp(os.path.join(self.run_dir(410), "qmp.sock"),
                                        "screendump", {"filename": ppm}))
            with open(ppm, "rb") as f:
                head = f.read(64).split()
            os.unlink(ppm)
            self.assertEqual(head[0], b"P6")
            if (w, h) == (int(head[1]), int(head[2])):
                break
            time.sleep(1)
        self.assertEqual((w, h), (int(head[1]), int(head[2])))
        self.assertGreaterEqual(w * h, 640 * 400)
        # nothing left behind
        self.assertEqual([n for n in os.listdir(self.run_dir(410)) if "screenshot" in n], [])
        # VM.Console
        r = self.daemon.http("GET", path, ticket=self.aud[0])
        self.assertEqual(r.status, 403, r.reason)
        # sendkey's refusals need no guest
        sk = "/nodes/%s/qemu/410/sendkey" % self.node
        r = self.api("PUT", sk, data={"text": "ok \u00e9\u20ac\u00e9!"})
        self.assertEqual(r.status, 400, r.reason)
        errs = r.json()["errors"]
        self.assertIn("U+00E9", errs["text"])
        self.assertIn("U+20AC", errs["text"])
        self.assertEqual(errs["text"].count("U+00E9"), 1)
        r = self.api("PUT", sk, data={"text": "x" * 1025})
        self.assertEqual(r.status, 400, r.reason)
        r = self.api("PUT", sk, data={"text": "x", "key": "a"})
        self.assertEqual(r.status, 400, r.reason)
        r = self.api("PUT", sk, data={})
        self.assertEqual(r.status, 400, r.reason)
        r = self.daemon.http("PUT", sk, ticket=self.aud[0], csrf=self.aud[1],
                             data={"text": "x"})
        self.assertEqual(r.status, 403, r.reason)
        # the key form is as it was
        r = self.api("PUT", sk, data={"key": "shift-a"})
        self.assertEqual(r.status, 200, r.reason)
        self.assertIsNone(r.json()["data"])

    def test_typed_text_reaches_the_guest(self):
        iso = build_iso()
        if not iso:
            self.skipTest("the test guest ISO cannot be built here")
        path = os.path.join(self.daemon.root, "srv", "scr")
        self.daemon.root_call("POST", "/storage", storage="scr", type="dir", path=path,
                              content="iso")
        isoname = upload_iso(self.admin, self.node, "scr", iso)
        q = self.admin.nodes(self.node).qemu
        self.ok(q.post(vmid=411, kvm=0, memory=256, serial0="socket",
                       ide2="scr:iso/%s,media=cdrom" % isoname, boot="order=ide2"))
        self.ok(q(411).status.start.post())
        self.addCleanup(self.stop, 411)
        with serial_socket(self.daemon, 411) as s:
            deadline = time.monotonic() + 300
            seen = read_until(s, MARKER, 300)
            self.assertIn(MARKER, seen)
            # one character (shift + h: one send-key): the guest powers
            # off at the first event it reads, and QEMU with it, so a
            # second send-key could find it gone
            r = self.api("PUT", "/nodes/%s/qemu/411/sendkey" % self.node, data={"text": "H"})
            self.assertEqual(r.status, 200, r.reason)
            seen += read_until(s, b"CTVM-GUEST-POWERDOWN", deadline - time.monotonic())
        self.assertIn(b"CTVM-GUEST-POWERDOWN", seen)


if __name__ == "__main__":
    ctvmtest.main()
