#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""File content on every file storage, through the API.

An ISO uploaded to a btrfs storage (a loop-mounted file system, as the unit
tests' btrfs-fixture.c makes it) lands where the btrfs backend lists it,
shows in the content list and is deleted again.  A dir storage with
content-dirs gets its uploads and downloads in the overridden directories,
lists them from there, and a bad content-dirs is refused with 400.  Needs
root (mount, loop devices); skipped otherwise.
"""

import functools
import hashlib
import http.server
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from urllib.parse import quote

import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ctvmtest  # noqa: E402

MIB = 1024 * 1024


def multipart(boundary, fields, file_name, data):
    out = b""
    for k, v in fields.items():
        out += ("--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n%s\r\n"
                % (boundary, k, v)).encode()
    out += ("--%s\r\nContent-Disposition: form-data; name=\"filename\"; filename=\"%s\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n" % (boundary, file_name)).encode()
    return out + data + ("\r\n--%s--\r\n" % boundary).encode()


def have(prog):
    return shutil.which(prog) is not None or os.path.exists("/usr/sbin/" + prog)


class BtrfsLoop:
    """A 512 MiB btrfs in a file, loop-mounted at <tmp>/mnt."""

    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="ctvmt-btrfs-")
        self.mnt = os.path.join(self.tmp, "mnt")
        self.mounted = False

    def setup(self):
        if not have("mkfs.btrfs") or not os.path.exists("/dev/loop-control"):
            return False
        img = os.path.join(self.tmp, "btrfs.img")
        with open(img, "wb") as f:
            f.truncate(512 * MIB)
        os.mkdir(self.mnt)
        if subprocess.run(["mkfs.btrfs", "-q", "-f", "--", img],
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


class StorageFiles(ctvmtest.AdminDaemonTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()

    def upload(self, storage, content, name, data):
        boundary = secrets.token_hex(8)
        url = "%s/nodes/%s/storage/%s/upload" % (self.daemon.url, self.node, storage)
        fields = {"content": content, "checksum": hashlib.sha256(data).hexdigest(),
                  "checksum-algorithm": "sha256"}
        r = requests.post(url, data=multipart(boundary, fields, name, data), verify=False,
                          timeout=120,
                          headers={"Cookie": "PVEAuthCookie=" + self.ticket,
                                   "Content-Type": "multipart/form-data; boundary=" + boundary})
        self.assertEqual(r.status_code, 200, r.reason)
        self.assertEqual(self.wait_task(r.json()["data"]), "OK")

    def content(self, storage, **params):
        r = self.api("GET", "/nodes/%s/storage/%s/content" % (self.node, storage),
                     params=params)
        self.assertEqual(r.status, 200, r.reason)
        return {v["volid"]: v for v in r.json()["data"]}

    def delete(self, volid):
        r = self.api("DELETE", "/nodes/%s/storage/%s/content/%s"
                     % (self.node, volid.split(":")[0], quote(volid, safe="")))
        self.assertEqual(r.status, 200, r.reason)
        self.assertEqual(self.wait_task(r.json()["data"]), "OK")

    def test_btrfs_upload_list_delete(self):
        loop = BtrfsLoop()
        self.addCleanup(loop.remove)
        if not loop.setup():
            self.skipTest("no btrfs loop mount here")
        path = os.path.join(loop.mnt, "store")
        r = self.daemon.root_http("POST", "/storage",
                                  data={"storage": "bt", "type": "btrfs", "path": path,
                                        "content": "iso,vztmpl,images"})
        self.assertEqual(r.status, 200, r.reason)
        self.addCleanup(self.api, "DELETE", "/storage/bt")

        data = os.urandom(MIB + 7)
        self.upload("bt", "iso", "inst.iso", data)
        dest = os.path.join(path, "template", "iso", "inst.iso")
        with open(dest, "rb") as f:
            self.assertEqual(f.read(), data)
        vols = self.content("bt")
        self.assertIn("bt:iso/inst.iso", vols)
        v = vols["bt:iso/inst.iso"]
        self.assertEqual((v["content"], v["format"], v["size"]), ("iso", "iso", MIB + 7))
        self.assertEqual(list(self.content("bt", content="iso")), ["bt:iso/inst.iso"])
        self.assertEqual(self.content("bt", content="images"), {})
        r = self.api("GET", "/nodes/%s/storage/bt/content/%s"
                     % (self.node, quote("bt:iso/inst.iso", safe="")))
        self.assertEqual(r.status, 200, r.reason)
        self.assertEqual(r.json()["data"]["path"], dest)

        # a template upload, and an image beside the files
        self.upload("bt", "vztmpl", "ct.tar.zst", b"tmpl")
        r = self.api("POST", "/nodes/%s/storage/bt/content" % self.node,
                     data={"vmid": 100, "filename": "vm-100-disk-0.raw", "size": "1M"})
        self.assertEqual(r.status, 200, r.reason)
        vols = self.content("bt")
        self.assertEqual(sorted(vols), ["bt:100/vm-100-disk-0.raw", "bt:iso/inst.iso",
                                        "bt:vztmpl/ct.tar.zst"])
        self.assertEqual(vols["bt:vztmpl/ct.tar.zst"]["format"], "tzst")

        # traversal is refused before anything is touched
        r = self.api("DELETE", "/nodes/%s/storage/bt/content/%s"
                     % (self.node, quote("bt:iso/../../x.iso", safe="")))
        self.assertEqual(r.status, 400, r.reason)

        for volid in ("bt:iso/inst.iso", "bt:vztmpl/ct.tar.zst", "bt:100/vm-100-disk-0.raw"):
            self.delete(volid)
        self.assertEqual(self.content("bt"), {})
        self.assertFalse(os.path.exists(dest))

    def test_dir_content_dirs(self):
        path = os.path.join(self.daemon.root, "srv", "cdirs")
        # refused: absolute, traversal, unknown content, one directory twice,
        # a directory inside another content type's
        for bad in ("iso=/etc", "iso=../x", "bogus=x", "iso=a,vztmpl=a", "iso=a,iso=b",
                    "iso=images/iso"):
            r = self.daemon.root_http("POST", "/storage",
                                      data={"storage": "cd", "type": "dir", "path": path,
                                            "content": "iso", "content-dirs": bad})
            self.assertEqual(r.status, 400, "%s: %s" % (bad, r.reason))
            self.assertIn("content-dirs", r.json().get("errors", {}), bad)
        r = self.daemon.root_http("POST", "/storage", data={
            "storage": "cd", "type": "dir", "path": path, "content": "iso,vztmpl,backup",
            "content-dirs": "iso=isos,vztmpl=tmpl/cache/"})
        self.assertEqual(r.status, 200, r.reason)
        self.addCleanup(self.api, "DELETE", "/storage/cd")
        r = self.api("GET", "/storage/cd")
        self.assertEqual(r.json()["data"]["content-dirs"], "iso=isos,vztmpl=tmpl/cache")
        # activation made the overridden directories, not the defaults
        self.assertTrue(os.path.isdir(os.path.join(path, "isos")))
        self.assertTrue(os.path.isdir(os.path.join(path, "dump")))
        self.assertFalse(os.path.exists(os.path.join(path, "template", "iso")))

        self.upload("cd", "iso", "o.iso", b"override")
        with open(os.path.join(path, "isos", "o.iso"), "rb") as f:
            self.assertEqual(f.read(), b"override")
        self.assertFalse(os.path.exists(os.path.join(path, "template")))
        self.assertEqual(list(self.content("cd")), ["cd:iso/o.iso"])

        # download-url goes there too
        srvdir = tempfile.mkdtemp(prefix="ctvmt-www-")
        self.addCleanup(shutil.rmtree, srvdir, ignore_errors=True)
        with open(os.path.join(srvdir, "t.tar.gz"), "wb") as f:
            f.write(b"template")

        class Quiet(http.server.SimpleHTTPRequestHandler):
            def log_message(self, *args):
                pass
        srv = http.server.ThreadingHTTPServer(
            ("127.0.0.1", 0), functools.partial(Quiet, directory=srvdir))
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        self.addCleanup(srv.server_close)
        self.addCleanup(srv.shutdown)
        r = self.api("POST", "/nodes/%s/storage/cd/download-url" % self.node, data={
            "url": "http://127.0.0.1:%d/t.tar.gz" % srv.server_address[1],
            "content": "vztmpl", "filename": "t.tar.gz"})
        self.assertEqual(r.status, 200, r.reason)
        self.assertEqual(self.wait_task(r.json()["data"]), "OK")
        self.assertTrue(os.path.exists(os.path.join(path, "tmpl", "cache", "t.tar.gz")))
        vols = self.content("cd")
        self.assertEqual(sorted(vols), ["cd:iso/o.iso", "cd:vztmpl/t.tar.gz"])
        self.assertEqual(vols["cd:vztmpl/t.tar.gz"]["format"], "tgz")
        # no temporary files left in any content directory
        for d, _, files in os.walk(path):
            self.assertEqual([f for f in files if f.startswith(".")], [], d)

        self.delete("cd:iso/o.iso")
        self.delete("cd:vztmpl/t.tar.gz")
        self.assertEqual(self.content("cd"), {})
        self.assertFalse(os.path.exists(os.path.join(path, "isos", "o.iso")))

    def test_content_dir_on_another_file_system(self):
        """An upload is streamed below the storage's path; a content-dirs
        directory on another file system gets it by copy, not rename."""
        path = os.path.join(self.daemon.root, "srv", "xdev")
        isos = os.path.join(path, "isos")
        os.makedirs(isos)
        if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "ctvmt", isos]).returncode:
            self.skipTest("cannot mount a tmpfs here")
        self.addCleanup(subprocess.run, ["umount", "-l", isos])
        r = self.daemon.root_http("POST", "/storage",
                                  data={"storage": "xd", "type": "dir", "path": path,
                                        "content": "iso", "content-dirs": "iso=isos"})
        self.assertEqual(r.status, 200, r.reason)
        self.addCleanup(self.api, "DELETE", "/storage/xd")
        self.assertNotEqual(os.stat(path).st_dev, os.stat(isos).st_dev)
        self.upload("xd", "iso", "x.iso", b"across" * 1000)
        with open(os.path.join(isos, "x.iso"), "rb") as f:
            self.assertEqual(f.read(), b"across" * 1000)
        for d, _, files in os.walk(path):
            self.assertEqual([f for f in files if f.startswith(".")], [], d)
        self.assertEqual(list(self.content("xd")), ["xd:iso/x.iso"])
        self.delete("xd:iso/x.iso")


if __name__ == "__main__":
    ctvmtest.main()
