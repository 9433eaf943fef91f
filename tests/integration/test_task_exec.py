#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""Task operations run by a worker that was exec'd with only its arguments.

A task is a named operation with a JSON object of plain data (task.h), so its
worker can be a fresh program: `ctvmd --run-task-op TYPE`, the arguments on
stdin, the log on stdout.  Here that program is run by hand on a temporary
root and removes a volume of a dir storage (imgdel): the log ends TASK OK and
the file is gone, with nothing of a daemon around.  Then a daemon runs its
tasks that way (its default): the worker is a fresh --run-task-op program,
and a client sees the same UPIDs, log lines and statuses as from forked
workers.

The upload's and download-url's operations (imgcopy of an uploaded file,
download) run the same way: the temporary file's name and the URL arrive on
stdin, never in an argv, and the log shows the URL without its credentials.
"""

import fcntl
import functools
import hashlib
import http.server
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ctvmtest  # noqa: E402
from ctvmtest import Daemon  # noqa: E402


def storage_cfg(path, disable=False):
    return ("dir: store1\n\tpath %s\n\tcontent images,rootdir\n%s"
            % (path, "\tdisable\n" if disable else ""))


def serve(srvdir):
    """A loopback http.server on srvdir; returns (server, base URL)."""
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                          functools.partial(Quiet, directory=srvdir))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, "http://127.0.0.1:%d" % srv.server_address[1]


def make_volume(store, vmid, name, size=1 << 20):
    d = os.path.join(store, "images", str(vmid))
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, name)
    with open(path, "wb") as f:
        f.truncate(size)
    return path


class WorkerProgram(unittest.TestCase):
    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="ctvmt-exec-")
        self.addCleanup(shutil.rmtree, self.root, ignore_errors=True)
        self.store = os.path.join(self.root, "srv", "store")
        os.makedirs(os.path.join(self.root, "etc"))
        self.write_cfg()

    def write_cfg(self, disable=False):
        with open(os.path.join(self.root, "etc", "storage.cfg"), "w") as f:
            f.write(storage_cfg(self.store, disable))

    def run_op(self, type_, args):
        """ctvmd --run-task-op with only the operation's arguments: returns
        the exit status and the log it wrote."""
        log = os.path.join(self.root, "task.log")
        if os.path.exists(log):
            os.unlink(log)
        text = args if isinstance(args, str) else json.dumps(args)
        with open(log, "ab") as out:
            p = subprocess.run([ctvmtest.ctvmd_path(), "--run-task-op", type_,
                                "--root", self.root, "--node", "testnode"],
                               input=text.encode(), stdout=out, stderr=out, timeout=60)
        with open(log, encoding="utf-8") as f:
            return p.returncode, f.read()

    def test_imgdel(self):
        vol = make_volume(self.store, 100, "vm-100-disk-0.raw")
        rc, log = self.run_op("imgdel", {"storage": "store1", "volume": "100/vm-100-disk-0.raw"})
        self.assertEqual(log, "removing volume 'store1:100/vm-100-disk-0.raw'\n"
                              "removed volume '100/vm-100-disk-0.raw'\nTASK OK\n")
        self.assertEqual(rc, 0)
        self.assertFalse(os.path.exists(vol))

    def test_refusals(self):
        vol = make_volume(self.store, 100, "vm-100-disk-1.raw")
        args = {"storage": "store1", "volume": "100/vm-100-disk-1.raw"}
        # the worker reads storage.cfg itself, from the storage's id
        self.write_cfg(disable=True)
        self.assertEqual(self.run_op("imgdel", args),
                         (1, "TASK ERROR: storage 'store1' is disabled\n"))
        self.write_cfg()
        self.assertEqual(self.run_op("nosuchop", args),
                         (1, "TASK ERROR: unknown task type 'nosuchop'\n"))
        # the arguments are checked again: shape, then meaning
        self.assertEqual(self.run_op("imgdel", dict(args, extra=1)),
                         (1, "TASK ERROR: unknown argument 'extra' of task type 'imgdel'\n"))
        self.assertEqual(self.run_op("imgdel", dict(args, storage="../x")),
                         (1, "TASK ERROR: storage ID '../x' contains illegal characters\n"))
        rc, log = self.run_op("imgdel", '{"storage": ')
        self.assertEqual(rc, 1)
        self.assertTrue(log.startswith("TASK ERROR: invalid task arguments - "), log)
        self.assertTrue(os.path.exists(vol))

    def test_upload_and_download(self):
        isos = os.path.join(self.root, "srv", "isos")
        iso_dir = os.path.join(isos, "template", "iso")
        os.makedirs(iso_dir)
        with open(os.path.join(self.root, "etc", "storage.cfg"), "w") as f:
            f.write("dir: isos\n\tpath %s\n\tcontent iso\n" % isos)
        # an upload, as the handler leaves it: a temporary file in the
        # storage's path that the task moves into place
        with open(os.path.join(isos, ".imgcopy-Ab12Cd.tmp"), "wb") as f:
            f.write(b"uploaded")
        rc, log = self.run_op("imgcopy", {
            "storage": "isos", "content": "iso", "filename": "up.iso",
            "tmp": ".imgcopy-Ab12Cd.tmp", "checksum": hashlib.sha1(b"uploaded").hexdigest(),
            "checksum-algorithm": "sha1"})
        self.assertEqual(log, "moving uploaded file into place\ncalculating sha1 checksum\n"
                              "checksum verified\ntarget file: %s/up.iso\nTASK OK\n" % iso_dir)
        self.assertEqual(rc, 0)
        with open(os.path.join(iso_dir, "up.iso"), "rb") as f:
            self.assertEqual(f.read(), b"uploaded")
        # a name that is not a temporary file of the storage is refused
        rc, log = self.run_op("imgcopy", {
            "storage": "isos", "content": "iso", "filename": "x.iso",
            "tmp": "../../../etc/passwd"})
        self.assertEqual((rc, log), (1, "TASK ERROR: invalid temporary file name "
                                        "'../../../etc/passwd'\n"))

        # a download from a loopback server, with credentials in the URL
        www = tempfile.mkdtemp(dir=self.root)
        with open(os.path.join(www, "dl.iso"), "wb") as f:
            f.write(b"downloaded")
        srv, base = serve(www)
        self.addCleanup(srv.server_close)
        self.addCleanup(srv.shutdown)
        with open(os.path.join(iso_dir, ".download-Ef34Gh.tmp"), "wb"):
            pass
        url = base.replace("http://", "http://ctvmuser:s3cret-pw@") + "/dl.iso"
        rc, log = self.run_op("download", {
            "storage": "isos", "content": "iso", "filename": "dl.iso",
            "tmp": ".download-Ef34Gh.tmp", "url": url, "verify-certificates": True,
            "api-port": 8006})
        self.assertEqual(log, "downloading %s/dl.iso to %s/dl.iso\ndownload finished\n"
                              "target file: %s/dl.iso\nTASK OK\n" % (base, iso_dir, iso_dir))
        self.assertEqual(rc, 0)
        with open(os.path.join(iso_dir, "dl.iso"), "rb") as f:
            self.assertEqual(f.read(), b"downloaded")
        self.assertEqual([n for n in os.listdir(iso_dir) if n.startswith(".")], [])


class DaemonExecWorkers(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.daemon = Daemon()
        cls.store = os.path.join(cls.daemon.root, "srv", "store")
        cls.daemon.write("etc/storage.cfg", storage_cfg(cls.store)
                         + "\ndir: backups\n\tpath %s-bk\n\tcontent backup\n" % cls.store)
        cls.daemon.start()
        cls.addClassCleanup(cls.daemon.stop)
        cls.node = cls.api("get", "/nodes")[0]["node"]

    @classmethod
    def api(cls, verb, path, *args):
        p = cls.daemon.cli("api", verb, path, *args, "--output-format", "json")
        if p.returncode != 0:
            raise AssertionError("ctvm api %s %s: %s" % (verb, path, p.stderr))
        return json.loads(p.stdout) if p.stdout.strip() else None

    def wait(self, upid):
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            st = self.api("get", "/nodes/%s/tasks/%s/status" % (self.node, upid))
            if st["status"] == "stopped":
                return st
            time.sleep(0.05)
        self.fail("task %s did not finish" % upid)

    def log(self, upid):
        return [e["t"] for e in self.api("get", "/nodes/%s/tasks/%s/log" % (self.node, upid))]

    def test_imgdel(self):
        vol = make_volume(self.store, 100, "vm-100-disk-0.raw")
        upid = self.api("delete", "/nodes/%s/storage/store1/content/store1:100/vm-100-disk-0.raw"
                        % self.node)
        self.assertRegex(upid, r"^UPID:%s:[0-9A-F]{8}:[0-9A-F]{8,9}:[0-9A-F]{8}:imgdel:store1:"
                               r"root@pam:$" % self.node)
        st = self.wait(upid)
        self.assertEqual((st["exitstatus"], st["type"], st["id"]), ("OK", "imgdel", "store1"))
        self.assertEqual(self.log(upid), ["removing volume 'store1:100/vm-100-disk-0.raw'",
                                          "removed volume '100/vm-100-disk-0.raw'", "TASK OK"])
        self.assertFalse(os.path.exists(vol))

    def test_worker_is_execd(self):
        # the worker waits for the storage lock the test holds: long enough
        # to see that it is a fresh program with only its operation's name,
        # not a fork of the daemon: "--run-task-op imgdel", or the spare
        # started ahead ("--task-spare") that became the imgdel worker
        make_volume(self.store, 104, "vm-104-disk-0.raw")
        lock = os.path.join(self.daemon.root, "run", "storage-store1.lock")
        with open(lock, "a") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            upid = self.api("delete", "/nodes/%s/storage/store1/content/store1:104/"
                            "vm-104-disk-0.raw" % self.node)
            pid = int(upid.split(":")[2], 16)
            deadline = time.monotonic() + 10
            argv = []
            while time.monotonic() < deadline:
                with open("/proc/%d/cmdline" % pid, "rb") as c:
                    argv = c.read().split(b"\0")
                with open("/proc/%d/comm" % pid, "rb") as c:
                    comm = c.read().strip()
                if b"--run-task-op" in argv or comm == b"task imgdel":
                    break
                time.sleep(0.02)
            if b"--task-spare" in argv:
                self.assertEqual(comm, b"task imgdel")
            else:
                self.assertIn(b"--run-task-op", argv)
                self.assertEqual(argv[argv.index(b"--run-task-op") + 1], b"imgdel")
            with open("/proc/%d/status" % pid) as st:
                ppid = [int(l.split()[1]) for l in st if l.startswith("PPid:")][0]
            self.assertEqual(ppid, self.daemon.proc.pid)
        self.assertEqual(self.wait(upid)["exitstatus"], "OK")

    def test_startall(self):
        upid = self.api("create", "/nodes/%s/startall" % self.node, "--vms", "100,101")
        self.assertEqual(self.wait(upid)["exitstatus"], "OK")
        self.assertEqual(self.log(upid),
                         ["starting guests: 100,101", "no guests to start", "TASK OK"])

    def test_prunebackups(self):
        # blanks the API's parser skips reach the task as the parsed options
        dump = os.path.join(self.store + "-bk", "dump")
        os.makedirs(dump, exist_ok=True)
        for day in ("01", "02"):
            with open(os.path.join(dump, "vzdump-qemu-103-2026_01_%s-00_00_00.vma.zst" % day),
                      "wb"):
                pass
        upid = self.api("delete", "/nodes/%s/storage/backups/prunebackups" % self.node,
                        "--prune-backups", "keep-last=1,\t", "--vmid", "103")
        self.assertEqual(self.wait(upid)["exitstatus"], "OK")
        lines = self.log(upid)
        self.assertEqual(lines[0], "removing backup 'backups:backup/"
                                   "vzdump-qemu-103-2026_01_01-00_00_00.vma.zst'")
        self.assertEqual(lines[-1], "TASK OK")
        self.assertEqual(os.listdir(dump), ["vzdump-qemu-103-2026_01_02-00_00_00.vma.zst"])

    def test_download_url(self):
        # the handler makes the temporary file, the exec'd worker fetches
        www = tempfile.mkdtemp(dir=self.daemon.root)
        with open(os.path.join(www, "a.iso"), "wb") as f:
            f.write(b"iso image")
        srv, base = serve(www)
        self.addCleanup(srv.server_close)
        self.addCleanup(srv.shutdown)
        isos = os.path.join(self.daemon.root, "srv", "isos")
        self.daemon.root_call("POST", "/storage", storage="isos", type="dir", path=isos,
                              content="iso")
        url = base.replace("http://", "http://ctvmuser:s3cret-pw@") + "/a.iso"
        upid = self.daemon.root_call("POST", "/nodes/%s/storage/isos/download-url" % self.node,
                                     url=url, content="iso", filename="a.iso")
        self.assertIn(":download:", upid)
        self.assertEqual(self.wait(upid)["exitstatus"], "OK")
        lines = self.log(upid)
        self.assertEqual(lines[0], "downloading %s/a.iso to %s/template/iso/a.iso"
                                   % (base, isos))
        self.assertNotIn("s3cret", "\n".join(lines))
        with open(os.path.join(isos, "template", "iso", "a.iso"), "rb") as f:
            self.assertEqual(f.read(), b"iso image")

    def test_failing_task(self):
        # a snapshot of a raw volume fails in the storage layer, in the worker
        make_volume(self.store, 102, "vm-102-disk-0.raw")
        upid = self.api("create", "/nodes/%s/storage/store1/snapshots/store1:102/vm-102-disk-0.raw"
                        % self.node, "--snapname", "s1")
        st = self.wait(upid)
        self.assertNotEqual(st["exitstatus"], "OK")
        lines = self.log(upid)
        self.assertEqual(lines[0], "create snapshot 's1' of volume 'store1:102/vm-102-disk-0.raw'")
        self.assertEqual(lines[-1], "TASK ERROR: " + st["exitstatus"])


if __name__ == "__main__":
    ctvmtest.main()
