#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""Uploads and downloads into a dir storage (POST .../upload, .../download-url).

A 200 MiB ISO is streamed (chunked, hand-built multipart) with a sha256
checksum while ctvmd's resident memory is sampled: it must stay flat.  A
wrong checksum, an interrupted upload and a failed download leave no file;
file names that try to leave the directory are refused with 400; disk images
naming host files are refused.  Downloads come from a loopback http.server:
no URL globbing, no credentials in logs or command lines, no redirect to this
host, and the free space bounds an answer without Content-Length.
"""

import functools
import hashlib
import http.server
import json
import os
import secrets
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ctvmtest  # noqa: E402

MIB = 1024 * 1024
ISO_SIZE = 200 * MIB
RSS_SLACK_KIB = 40 * 1024


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def sanitizer_build(pid):
    """ASan keeps freed memory in a quarantine of 256 MiB (GnuTLS allocates a
    buffer per TLS record), so resident memory says nothing there.  gcc links
    the runtime as a shared library, clang into the executable."""
    with open("/proc/%d/maps" % pid) as f:
        if any(m in f.read() for m in ("libasan", "libtsan")):
            return True
    out = subprocess.run(["nm", "-D", "--defined-only", ctvmtest.ctvmd_path()],
                         capture_output=True, text=True).stdout
    return any(m in out for m in ("__asan_init", "__tsan_init"))


def multipart(boundary, fields, file_field, file_name, file_iter):
    """Yields a multipart/form-data body, the file part streamed."""
    for k, v in fields.items():
        yield ("--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n%s\r\n"
               % (boundary, k, v)).encode()
    yield ("--%s\r\nContent-Disposition: form-data; name=\"%s\"; filename=\"%s\"\r\n"
           "Content-Type: application/octet-stream\r\n\r\n"
           % (boundary, file_field, file_name)).encode()
    yield from file_iter
    yield ("\r\n--%s--\r\n" % boundary).encode()


def file_chunks(path, size=MIB):
    with open(path, "rb") as f:
        while True:
            b = f.read(size)
            if not b:
                return
            yield b


class Upload(ctvmtest.AdminDaemonTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tmp = tempfile.mkdtemp(prefix="ctvmt-upload-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, ignore_errors=True)
        cls.store = os.path.join(cls.daemon.root, "srv", "isos")
        # a storage's path is root@pam's to set
        r = cls.daemon.root_http("POST", "/storage",
                                 data={"storage": "isos", "type": "dir", "path": cls.store,
                                       "content": "iso,vztmpl,import"})
        assert r.status == 200, (r.status, r.reason)
        cls.iso_dir = os.path.join(cls.store, "template", "iso")

    def leftovers(self):
        found = []
        for dirpath, _, files in os.walk(self.store):
            found += [os.path.join(dirpath, f) for f in files if f.startswith(".")]
        return found

    def upload(self, body_iter, boundary):
        url = "%s/nodes/%s/storage/isos/upload" % (self.daemon.url, self.node)
        # a ticket without CSRF token: uploads do not need one (pve-api.md 2.6)
        return requests.post(url, data=body_iter, verify=False, timeout=600,
                             headers={"Cookie": "PVEAuthCookie=" + self.ticket,
                                      "Content-Type":
                                      "multipart/form-data; boundary=" + boundary})

    def make_iso(self, name, size):
        path = os.path.join(self.tmp, name)
        h = hashlib.sha256()
        with open(path, "wb") as f:
            block = 4 * MIB
            for i in range(size // block):
                # sparse-ish: every other block random, the rest zeros
                b = os.urandom(block) if i % 2 == 0 else bytes(block)
                h.update(b)
                f.write(b)
        return path, h.hexdigest()

    def test_1_upload_200mib_flat_memory(self):
        path, digest = self.make_iso("big.iso", ISO_SIZE)
        pid = self.daemon.proc.pid
        before = rss_kib(pid)
        peak = [before]
        stop = threading.Event()

        def sample():
            while not stop.is_set():
                peak[0] = max(peak[0], rss_kib(pid))
                time.sleep(0.05)
        t = threading.Thread(target=sample)
        t.start()
        boundary = secrets.token_hex(16)
        fields = {"content": "iso", "checksum": digest, "checksum-algorithm": "sha256"}
        try:
            r = self.upload(multipart(boundary, fields, "filename", "big.iso",
                                      file_chunks(path)), boundary)
        finally:
            stop.set()
            t.join()
        self.assertEqual(r.status_code, 200, r.reason)
        upid = r.json()["data"]
        self.assertIn(":imgcopy:", upid)
        self.assertEqual(self.wait_task(upid), "OK")
        after = rss_kib(pid)
        print("ctvmd VmRSS: before %d KiB, peak during upload %d KiB, after %d KiB"
              % (before, peak[0], after), file=sys.stderr)
        if not sanitizer_build(pid):
            self.assertLess(peak[0] - before, RSS_SLACK_KIB)
        dest = os.path.join(self.iso_dir, "big.iso")
        h = hashlib.sha256()
        for b in file_chunks(dest):
            h.update(b)
        self.assertEqual(h.hexdigest(), digest)
        self.assertEqual(self.leftovers(), [])
        # an existing file is never replaced
        r = self.upload(multipart(boundary, {"content": "iso"}, "filename", "big.iso",
                                  [b"x"]), boundary)
        self.assertEqual(r.status_code, 500, r.reason)
        self.assertIn("refusing to override", r.reason)
        self.assertEqual(os.path.getsize(dest), ISO_SIZE)
        self.assertEqual(self.leftovers(), [])

    def test_wrong_checksum(self):
        boundary = secrets.token_hex(8)
        fields = {"content": "iso", "checksum": "00" * 32, "checksum-algorithm": "sha256"}
        r = self.upload(multipart(boundary, fields, "filename", "bad.iso",
                                  [os.urandom(MIB)] * 3), boundary)
        self.assertEqual(r.status_code, 200, r.reason)
        status = self.wait_task(r.json()["data"])
        self.assertIn("checksum mismatch", status)
        self.assertFalse(os.path.exists(os.path.join(self.iso_dir, "bad.iso")))
        self.assertEqual(self.leftovers(), [])

    def test_small_upload_vztmpl(self):
        boundary = secrets.token_hex(8)
        data = os.urandom(12345)
        fields = {"content": "vztmpl", "checksum": hashlib.md5(data).hexdigest(),
                  "checksum-algorithm": "md5"}
        r = self.upload(multipart(boundary, fields, "filename", "ct.tar.zst", [data]),
                        boundary)
        self.assertEqual(r.status_code, 200, r.reason)
        self.assertEqual(self.wait_task(r.json()["data"]), "OK")
        with open(os.path.join(self.store, "template", "cache", "ct.tar.zst"), "rb") as f:
            self.assertEqual(f.read(), data)

    def test_content_length_and_curl(self):
        # a plain Content-Length body
        boundary = secrets.token_hex(8)
        data = os.urandom(2 * MIB + 3)
        body = b"".join(multipart(boundary, {"content": "iso"}, "filename", "cl.iso", [data]))
        r = self.upload(body, boundary)
        self.assertEqual(r.status_code, 200, r.reason)
        self.assertEqual(self.wait_task(r.json()["data"]), "OK")
        with open(os.path.join(self.iso_dir, "cl.iso"), "rb") as f:
            self.assertEqual(f.read(), data)
        # curl -F, which sends "Expect: 100-continue" for large bodies
        src = os.path.join(self.tmp, "curl.iso")
        with open(src, "wb") as f:
            f.write(data)
        out = subprocess.run(
            ["curl", "-sk", "-H", "Cookie: PVEAuthCookie=" + self.ticket,
             "-F", "content=iso", "-F", "checksum=" + hashlib.sha1(data).hexdigest(),
             "-F", "checksum-algorithm=sha1", "-F", "filename=@%s" % src,
             "%s/nodes/%s/storage/isos/upload" % (self.daemon.url, self.node)],
            capture_output=True, text=True, timeout=120, check=True).stdout
        self.assertEqual(self.wait_task(json.loads(out)["data"]), "OK")
        self.assertTrue(os.path.exists(os.path.join(self.iso_dir, "curl.iso")))

    def test_interrupted_upload(self):
        boundary = "interrupted"
        head = ("POST /api2/json/nodes/%s/storage/isos/upload HTTP/1.1\r\n"
                "Host: x\r\nCookie: PVEAuthCookie=%s\r\n"
                "Content-Type: multipart/form-data; boundary=%s\r\n"
                "Content-Length: %d\r\n\r\n" % (self.node, self.ticket, boundary, 50 * MIB))
        body = ("--%s\r\nContent-Disposition: form-data; name=\"content\"\r\n\r\niso\r\n"
                "--%s\r\nContent-Disposition: form-data; name=\"filename\"; "
                "filename=\"cut.iso\"\r\n\r\n" % (boundary, boundary)).encode()
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        with socket.create_connection((self.daemon.host, self.daemon.port)) as raw:
            with ctx.wrap_socket(raw) as s:
                s.sendall(head.encode() + body)
                for _ in range(5):
                    s.sendall(os.urandom(MIB))
                time.sleep(0.5)
                self.assertTrue(any(f.startswith(".upload-") for f in os.listdir(self.store)))
        deadline = time.monotonic() + 10
        while self.leftovers() and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertEqual(self.leftovers(), [])
        self.assertFalse(os.path.exists(os.path.join(self.iso_dir, "cut.iso")))

    def test_traversal_refused(self):
        for name in ("../evil.iso", "a/b.iso", "..", ".hidden.iso", "x.exe"):
            boundary = secrets.token_hex(8)
            r = self.upload(multipart(boundary, {"content": "iso"}, "filename", name,
                                      [b"data"]), boundary)
            self.assertEqual(r.status_code, 400, "%s: %s" % (name, r.reason))
        r = self.api("POST", "/nodes/%s/storage/isos/download-url" % self.node,
                     data={"url": "http://127.0.0.1:1/x", "content": "iso",
                           "filename": "../../x.iso"})
        self.assertEqual(r.status, 400, r.reason)
        self.assertEqual(self.leftovers(), [])
        self.assertFalse(os.path.exists(os.path.join(self.store, "evil.iso")))

    def test_unauthenticated_upload(self):
        boundary = "b"
        url = "%s/nodes/%s/storage/isos/upload" % (self.daemon.url, self.node)
        r = requests.post(url, data=multipart(boundary, {"content": "iso"}, "filename",
                                              "x.iso", [bytes(2 * MIB)]),
                          verify=False, timeout=60,
                          headers={"Content-Type": "multipart/form-data; boundary=b"})
        self.assertIn(r.status_code, (401, 413))
        self.assertEqual(self.leftovers(), [])

    def test_upload_without_privilege(self):
        # a logged-in user without Datastore.AllocateTemplate: the body is never
        # streamed to the storage, and the answer is 403 (413 if it is large)
        r = self.api("POST", "/access/users",
                     data={"userid": "noupload@pve", "password": "no-upload-pw"})
        self.assertEqual(r.status, 200, r.reason)
        ticket, _ = self.daemon.login("noupload@pve", "no-upload-pw")
        boundary = "c"
        url = "%s/nodes/%s/storage/isos/upload" % (self.daemon.url, self.node)
        for size, codes in ((64 * 1024, (403,)), (3 * MIB, (403, 413))):
            r = requests.post(url, data=multipart(boundary, {"content": "iso"}, "filename",
                                                  "y.iso", [bytes(size)]),
                              verify=False, timeout=60,
                              headers={"Cookie": "PVEAuthCookie=" + ticket,
                                       "Content-Type": "multipart/form-data; boundary=c"})
            self.assertIn(r.status_code, codes, r.reason)
            self.assertEqual(self.leftovers(), [])
        self.assertFalse(os.path.exists(os.path.join(self.iso_dir, "y.iso")))

    def image_fixtures(self):
        """Disk images naming a host file, each refused, and plain ones."""
        d = tempfile.mkdtemp(prefix="img-", dir=self.tmp)

        def qemu_img(name, *args):
            path = os.path.join(d, name)
            subprocess.run(["qemu-img", "create", "-q", *args, path, "1M"], check=True,
                           timeout=30)
            return path

        flat = ('# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\n'
                'createType="monolithicFlat"\n\nRW 2048 FLAT "/etc/shadow" 0\n')
        bad = {
            "back.qcow2": qemu_img("back.qcow2", "-f", "qcow2", "-u", "-F", "raw",
                                   "-b", "/etc/shadow"),
            "data.qcow2": qemu_img("data.qcow2", "-f", "qcow2", "-o",
                                   "data_file=" + os.path.join(d, "data.raw")),
            "flat.vmdk": os.path.join(d, "flat.vmdk"),
            "emb.vmdk": os.path.join(d, "emb.vmdk"),
        }
        with open(bad["flat.vmdk"], "w") as f:
            f.write(flat)
        good = {
            "plain.qcow2": qemu_img("plain.qcow2", "-f", "qcow2"),
            "sparse.vmdk": qemu_img("sparse.vmdk", "-f", "vmdk"),
            "disk.raw": qemu_img("disk.raw", "-f", "raw"),
        }
        # capacity 0 and a descriptor offset: qemu opens the embedded
        # descriptor's extents
        with open(good["sparse.vmdk"], "rb") as f:
            b = bytearray(f.read())
        b[12:20] = bytes(8)
        b[0x200:0x200 + 2048] = flat.encode().ljust(2048, b"\0")
        with open(bad["emb.vmdk"], "wb") as f:
            f.write(b)
        return bad, good

    def find_in_store(self, name):
        return [os.path.join(p, name) for p, _, files in os.walk(self.store) if name in files]

    def test_untrusted_images_refused(self):
        bad, good = self.image_fixtures()
        for name, path in bad.items():
            boundary = secrets.token_hex(8)
            r = self.upload(multipart(boundary, {"content": "import"}, "filename", name,
                                      file_chunks(path)), boundary)
            self.assertEqual(r.status_code, 200, r.reason)
            status = self.wait_task(r.json()["data"])
            self.assertIn("refusing image '%s'" % name, status)
            self.assertEqual(self.find_in_store(name), [])
            self.assertEqual(self.leftovers(), [])
        for name, path in good.items():
            boundary = secrets.token_hex(8)
            r = self.upload(multipart(boundary, {"content": "import"}, "filename", name,
                                      file_chunks(path)), boundary)
            self.assertEqual(r.status_code, 200, r.reason)
            self.assertEqual(self.wait_task(r.json()["data"]), "OK", name)
            self.assertEqual(len(self.find_in_store(name)), 1, name)

    def serve(self, srvdir, handler_class=None):
        """A loopback http.server on srvdir (stopped at the test's end)."""
        class Quiet(http.server.SimpleHTTPRequestHandler):
            def log_message(self, *args):
                pass
        handler = functools.partial(handler_class or Quiet, directory=srvdir)
        srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        t = threading.Thread(target=srv.serve_forever, daemon=True)
        t.start()
        self.addCleanup(srv.server_close)
        self.addCleanup(srv.shutdown)
        return "http://127.0.0.1:%d" % srv.server_address[1]

    def test_download_untrusted_image_refused(self):
        bad, good = self.image_fixtures()
        base = self.serve(os.path.dirname(bad["back.qcow2"]))
        path = "/nodes/%s/storage/isos/download-url" % self.node
        r = self.api("POST", path, data={"url": base + "/back.qcow2", "content": "import",
                                         "filename": "dl-back.qcow2"})
        self.assertEqual(r.status, 200, r.reason)
        self.assertIn("refusing image 'dl-back.qcow2'", self.wait_task(r.json()["data"]))
        self.assertEqual(self.find_in_store("dl-back.qcow2"), [])
        self.assertEqual(self.leftovers(), [])
        r = self.api("POST", path, data={"url": base + "/plain.qcow2", "content": "import",
                                         "filename": "dl-plain.qcow2"})
        self.assertEqual(self.wait_task(r.json()["data"]), "OK")
        self.assertEqual(len(self.find_in_store("dl-plain.qcow2")), 1)

    def test_download_url(self):
        srvdir = os.path.join(self.tmp, "www")
        os.makedirs(srvdir, exist_ok=True)
        data = os.urandom(3 * MIB + 17)
        with open(os.path.join(srvdir, "dl.iso"), "wb") as f:
            f.write(data)
        class Quiet(http.server.SimpleHTTPRequestHandler):
            def log_message(self, *args):
                pass
        handler = functools.partial(Quiet, directory=srvdir)
        srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        t = threading.Thread(target=srv.serve_forever, daemon=True)
        t.start()
        try:
            base = "http://127.0.0.1:%d" % srv.server_address[1]
            path = "/nodes/%s/storage/isos/download-url" % self.node
            r = self.api("POST", path, data={
                "url": base + "/dl.iso", "content": "iso", "filename": "dl.iso",
                "checksum": hashlib.sha512(data).hexdigest(),
                "checksum-algorithm": "sha512"})
            self.assertEqual(r.status, 200, r.reason)
            upid = r.json()["data"]
            self.assertIn(":download:", upid)
            self.assertEqual(self.wait_task(upid), "OK")
            with open(os.path.join(self.iso_dir, "dl.iso"), "rb") as f:
                self.assertEqual(f.read(), data)
            # a 404 fails the task and leaves nothing
            r = self.api("POST", path, data={"url": base + "/missing.iso", "content": "iso",
                                             "filename": "missing.iso"})
            self.assertEqual(r.status, 200, r.reason)
            self.assertNotEqual(self.wait_task(r.json()["data"]), "OK")
            self.assertFalse(os.path.exists(os.path.join(self.iso_dir, "missing.iso")))
            # a wrong checksum too
            r = self.api("POST", path, data={
                "url": base + "/dl.iso", "content": "iso", "filename": "dl2.iso",
                "checksum": "ab" * 32, "checksum-algorithm": "sha256"})
            self.assertIn("checksum mismatch", self.wait_task(r.json()["data"]))
            self.assertFalse(os.path.exists(os.path.join(self.iso_dir, "dl2.iso")))
            self.assertEqual(self.leftovers(), [])
        finally:
            srv.shutdown()
            srv.server_close()


class Recorder(http.server.SimpleHTTPRequestHandler):
    """Serves a directory, records each request's path and Authorization
    header, and answers the paths in `redirects` with a 302."""
    protocol_version = "HTTP/1.1"
    requests = None      # [(path, authorization)], set per server
    redirects = {}
    hold = None          # a threading.Event a request to /slow.iso waits for
    arrived = None       # set when /slow.iso arrived
    chunked = {}         # path -> size of a chunked answer without Content-Length

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.requests.append((self.path, self.headers.get("Authorization")))
        if self.path in self.redirects:
            self.send_response(302)
            self.send_header("Location", self.redirects[self.path])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if self.path == "/slow.iso" and self.hold:
            self.arrived.set()
            self.hold.wait(30)
        if self.path in self.chunked:
            self.send_chunked(self.chunked[self.path])
            return
        super().do_GET()

    def send_chunked(self, size):
        self.send_response(200)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        block = b"\x5a" * MIB
        try:
            while size > 0:
                n = min(size, len(block))
                self.wfile.write(b"%x\r\n" % n + block[:n] + b"\r\n")
                size -= n
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        self.close_connection = True


class Ext4Loop:
    """A small ext4 in a file, loop-mounted, with half its blocks reserved
    for root: free space for others (f_bavail) is well below what root may
    still write."""

    def __init__(self, size=64 * MIB):
        self.tmp = tempfile.mkdtemp(prefix="ctvmt-ext4-")
        self.mnt = os.path.join(self.tmp, "mnt")
        self.size = size
        self.mounted = False

    def setup(self):
        if shutil.which("mkfs.ext4") is None and not os.path.exists("/usr/sbin/mkfs.ext4"):
            return False
        if not os.path.exists("/dev/loop-control"):
            return False
        img = os.path.join(self.tmp, "ext4.img")
        with open(img, "wb") as f:
            f.truncate(self.size)
        os.mkdir(self.mnt)
        if subprocess.run(["mkfs.ext4", "-q", "-F", "-m", "50", "--", img],
                          capture_output=True).returncode != 0:
            return False
        if subprocess.run(["mount", "-o", "loop", "--", img, self.mnt],
                          capture_output=True).returncode != 0:
            return False
        self.mounted = True
        return True

    def remove(self):
        if self.mounted:
            if subprocess.run(["umount", self.mnt], capture_output=True).returncode != 0:
                subprocess.run(["umount", "-l", self.mnt], capture_output=True)
        shutil.rmtree(self.tmp, ignore_errors=True)


class DownloadUrl(ctvmtest.AdminDaemonTest):
    """download-url: no URL globbing, credentials never shown (task log,
    audit log, command lines), no redirect to this host or ctvmd's port,
    and the storage's free space bounds a download without Content-Length."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tmp = tempfile.mkdtemp(prefix="ctvmt-download-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, ignore_errors=True)
        cls.store = os.path.join(cls.daemon.root, "srv", "dl")
        r = cls.daemon.root_http("POST", "/storage",
                                 data={"storage": "dl", "type": "dir", "path": cls.store,
                                       "content": "iso"})
        assert r.status == 200, (r.status, r.reason)
        cls.iso_dir = os.path.join(cls.store, "template", "iso")

    def serve(self, **attrs):
        srvdir = tempfile.mkdtemp(prefix="www-", dir=self.tmp)
        handler_class = type("H", (Recorder,), dict(requests=[], **attrs))
        handler = functools.partial(handler_class, directory=srvdir)
        srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        self.addCleanup(srv.server_close)
        self.addCleanup(srv.shutdown)
        return srvdir, "http://127.0.0.1:%d" % srv.server_address[1], handler_class

    def download(self, url, filename, storage="dl"):
        r = self.api("POST", "/nodes/%s/storage/%s/download-url" % (self.node, storage),
                     data={"url": url, "content": "iso", "filename": filename})
        self.assertEqual(r.status, 200, r.reason)
        return r.json()["data"]

    def task_log(self, upid):
        r = self.api("GET", "/nodes/%s/tasks/%s/log" % (self.node, upid),
                     params={"limit": 1000})
        self.assertEqual(r.status, 200, r.reason)
        return "\n".join(line["t"] for line in r.json()["data"])

    def leftovers(self, top=None):
        found = []
        for dirpath, _, files in os.walk(top or self.store):
            found += [os.path.join(dirpath, f) for f in files if f.startswith(".")]
        return found

    def test_globoff(self):
        srvdir, base, h = self.serve()
        for name, data in (("{a,b}.iso", b"literal"), ("a.iso", b"A"), ("b.iso", b"B")):
            with open(os.path.join(srvdir, name), "wb") as f:
                f.write(data)
        upid = self.download(base + "/{a,b}.iso", "glob.iso")
        self.assertEqual(self.wait_task(upid), "OK")
        # one request for the literal name, not one per alternative
        self.assertEqual([p for p, _ in h.requests], ["/{a,b}.iso"])
        with open(os.path.join(self.iso_dir, "glob.iso"), "rb") as f:
            self.assertEqual(f.read(), b"literal")

    def test_credentials_hidden(self):
        secret = "s3cret-" + secrets.token_hex(6)
        hold, arrived = threading.Event(), threading.Event()
        srvdir, base, h = self.serve(hold=hold, arrived=arrived)
        with open(os.path.join(srvdir, "slow.iso"), "wb") as f:
            f.write(b"slow")
        url = base.replace("http://", "http://ctvmuser:%s@" % secret) + "/slow.iso"
        upid = self.download(url, "slow.iso")
        try:
            self.assertTrue(arrived.wait(30), "curl never asked")
            # curl runs now: no command line on this host shows the password
            for pid in os.listdir("/proc"):
                if not pid.isdigit():
                    continue
                try:
                    with open("/proc/%s/cmdline" % pid, "rb") as f:
                        cmdline = f.read()
                except OSError:
                    continue
                self.assertNotIn(secret.encode(), cmdline, "visible in pid %s" % pid)
        finally:
            hold.set()
        self.assertEqual(self.wait_task(upid), "OK")
        # the credentials still reached the server
        import base64
        auth = [a for p, a in h.requests if p == "/slow.iso"]
        self.assertEqual(auth, ["Basic " + base64.b64encode(
            ("ctvmuser:%s" % secret).encode()).decode()])
        log = self.task_log(upid)
        self.assertIn(base + "/slow.iso", log)
        self.assertNotIn(secret, log)
        self.assertNotIn("ctvmuser", log)
        with open(os.path.join(self.daemon.root, "log", "audit.log")) as f:
            audit = f.read()
        self.assertIn("download-url", audit)
        self.assertNotIn(secret, audit)

    def test_redirects_to_this_host_refused(self):
        target_dir, target, th = self.serve()
        with open(os.path.join(target_dir, "dl.iso"), "wb") as f:
            f.write(b"should never be fetched")
        port = target.rsplit(":", 1)[1]
        redirects = {
            "/to-loopback": target + "/dl.iso",
            "/to-localhost": "http://localhost:%s/dl.iso" % port,
            "/to-ipv6-loopback": "http://[::1]:%s/dl.iso" % port,
            "/to-ctvmd": "https://127.0.0.1:%d/api2/json/version" % self.daemon.port,
            "/relative": "/dl.iso",
            "/with-credentials": "http://user:pw-in-redirect@127.0.0.1:%s/dl.iso" % port,
            "/to-file": "file:///etc/shadow",
        }
        srvdir, base, h = self.serve(redirects=redirects)
        for i, path in enumerate(sorted(redirects)):
            name = "redir%d.iso" % i
            upid = self.download(base + path, name)
            status = self.wait_task(upid)
            self.assertIn("refusing redirect to", status, path)
            self.assertNotIn("pw-in-redirect", status)
            self.assertNotIn("pw-in-redirect", self.task_log(upid))
            self.assertFalse(os.path.exists(os.path.join(self.iso_dir, name)))
        self.assertEqual(th.requests, [])
        self.assertEqual(sorted(p for p, _ in h.requests), sorted(redirects))
        self.assertEqual(self.leftovers(), [])

    def test_free_space_without_content_length(self):
        fs = Ext4Loop()
        self.addCleanup(fs.remove)
        if not fs.setup():
            self.skipTest("no loop-mounted ext4 here")
        st = os.statvfs(fs.mnt)
        avail, root_free = st.f_bavail * st.f_frsize, st.f_bfree * st.f_frsize
        if root_free - avail < 8 * MIB:
            self.skipTest("no room reserved for root")
        # more than the free space, less than what root could still write
        size = (avail + root_free) // 2
        p = self.daemon.cli("api", "create", "/storage", "--storage", "small", "--type", "dir",
                            "--path", fs.mnt, "--content", "iso")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.addCleanup(self.daemon.cli, "api", "delete", "/storage/small")
        srvdir, base, h = self.serve(chunked={"/big.iso": size, "/small.iso": MIB})
        upid = self.download(base + "/big.iso", "big.iso", storage="small")
        self.assertIn("exceeds the free space", self.wait_task(upid))
        self.assertEqual(self.leftovers(fs.mnt), [])
        self.assertFalse(os.path.exists(os.path.join(fs.mnt, "template", "iso", "big.iso")))
        # within the budget, chunked works
        upid = self.download(base + "/small.iso", "small.iso", storage="small")
        self.assertEqual(self.wait_task(upid), "OK")
        self.assertEqual(os.path.getsize(os.path.join(fs.mnt, "template", "iso", "small.iso")),
                         MIB)


if __name__ == "__main__":
    ctvmtest.main()
