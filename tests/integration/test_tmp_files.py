#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""Temporary files and sidecars through a real daemon (issue 8, items 7 and 8).

- 60 parallel PUTs of one backup's notes all succeed and leave one complete
  version and no temporary file.
- Temporary files that a killed daemon left (config root, task and usage
  history directories, a storage's uploads, downloads and sidecar writes)
  are removed at start, while a locked one (a live writer of another
  process), a newer one and files that are not ours are kept.
- A backup's `.notes` or `.protected` planted as a symbolic link (to
  /etc/shadow, to a root-only file) or a FIFO is never read or written
  through: GET answers empty notes and not protected, PUT refuses with 500,
  and removing the attribute removes the link itself.
"""

import fcntl
import os
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ctvmtest  # noqa: E402
from ctvmtest import Daemon, HostAccount, user_cfg  # noqa: E402

WRITERS = 60
BACKUP = "vzdump-qemu-100-2026_01_02-03_04_05.vma.zst"
OLD = time.time() - 3600
DEAD_PID = 4194399  # above any pid_max


class Sidecars(ctvmtest.AdminDaemonTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.path = os.path.join(cls.daemon.root, "srv", "bak")
        cls.daemon.root_call("POST", "/storage", storage="bak", type="dir", path=cls.path,
                             content="backup")
        cls.dump = os.path.join(cls.path, "dump")
        os.makedirs(cls.dump, exist_ok=True)

    def backup(self, name):
        with open(os.path.join(self.dump, name), "wb") as f:
            f.write(b"\0" * 512)
        return "bak:backup/" + name

    def content(self, volid):
        return self.admin.nodes(self.node).storage("bak").content(volid)

    def test_parallel_notes(self):
        volid = self.backup(BACKUP)
        path = "/nodes/%s/storage/bak/content/%s" % (self.node, volid)
        texts = ["writer %02d " % i + chr(ord("a") + i % 26) * 4000 for i in range(WRITERS)]
        results = [None] * WRITERS
        start = threading.Barrier(WRITERS)

        def put(i):
            start.wait()
            r = self.api("PUT", path, data={"notes": texts[i]})
            results[i] = (r.status, r.reason)

        threads = [threading.Thread(target=put, args=(i,)) for i in range(WRITERS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        failed = [(i, r) for i, r in enumerate(results) if r is None or r[0] != 200]
        self.assertEqual(failed, [])
        notes = self.content(volid).get()["notes"]
        self.assertIn(notes, texts)
        with open(os.path.join(self.dump, BACKUP + ".notes"), encoding="utf-8") as f:
            self.assertEqual(f.read(), notes)
        self.assertEqual(sorted(os.listdir(self.dump)), [BACKUP, BACKUP + ".notes"])

    def test_symlinked_sidecars(self):
        name = BACKUP.replace("100", "101")
        volid = self.backup(name)
        secret = os.path.join(self.daemon.root, "secret")
        with open(secret, "w", encoding="utf-8") as f:
            f.write("TOPSECRET")
        os.chmod(secret, 0o600)
        notes = os.path.join(self.dump, name + ".notes")
        prot = os.path.join(self.dump, name + ".protected")
        os.symlink("/etc/shadow", notes)
        os.symlink(secret, prot)

        # read: an empty answer, as if there were no sidecar (nothing leaks,
        # and one bad sidecar does not break the listing)
        info = self.content(volid).get()
        self.assertEqual((info["notes"], info["protected"]), ("", 0))
        listed = [v for v in self.admin.nodes(self.node).storage("bak").content.get()
                  if v["volid"] == volid]
        self.assertEqual(len(listed), 1)
        self.assertNotIn("root:", listed[0].get("notes", ""))
        self.assertNotIn("protected", listed[0])

        # write: refused, and nothing written through the link
        e = self.assert_status(500, self.content(volid).put, notes="owned")
        self.assertIn("symbolic link", str(e))
        e = self.assert_status(500, self.content(volid).put, protected=1)
        self.assertIn("symbolic link", str(e))
        self.assertTrue(os.path.islink(notes) and os.path.islink(prot))
        with open(secret, encoding="utf-8") as f:
            self.assertEqual(f.read(), "TOPSECRET")
        with open("/etc/shadow", encoding="utf-8") as f:
            self.assertNotIn("owned", f.read())

        # removing the attribute removes the link itself, never its target
        self.content(volid).put(notes="", protected=0)
        self.assertFalse(os.path.lexists(notes) or os.path.lexists(prot))
        self.assertTrue(os.path.exists(secret) and os.path.exists("/etc/shadow"))
        self.content(volid).put(notes="mine", protected=1)
        info = self.content(volid).get()
        self.assertEqual((info["notes"], info["protected"]), ("mine", 1))
        self.content(volid).put(protected=0)

        # a FIFO would block a reader for ever
        name = BACKUP.replace("100", "102")
        volid = self.backup(name)
        os.mkfifo(os.path.join(self.dump, name + ".notes"))
        self.assertEqual(self.content(volid).get()["notes"], "")


class StaleTemporaries(unittest.TestCase):
    def test_swept_at_start(self):
        with HostAccount() as acct:
            d = Daemon(files={"etc/user.cfg": user_cfg(admins=[acct.userid])})
            store = os.path.join(d.root, "srv", "st")
            d.write("etc/storage.cfg",
                    "dir: st\n\tpath %s\n\tcontent iso,vztmpl,backup,snippets,import\n"
                    "\tcontent-dirs iso=isos\n" % store)
            gone = [
                "etc/user.cfg.tmp.%d" % DEAD_PID,           # before unique names
                "etc/storage.cfg.tmp.17.AbCdEf",
                "etc/priv/authkey.key.tmp.17.AbCdEf",
                "lib/rrd/pve2-node/n1.tmp.17.AbCdEf",
                "log/tasks/active.tmp.17.AbCdEf",
                "srv/st/.upload-Ab12Cd.tmp",
                "srv/st/.imgcopy-Ab12Cd.tmp",
                "srv/st/isos/.imgcopy-Ef34Gh.tmp",             # content-dirs honoured
                "srv/st/template/cache/.download-Ij56Kl.tmp",
                "srv/st/dump/%s.notes.tmp.17.AbCdEf" % BACKUP,
                "srv/st/dump/%s.notes.tmp.%d" % (BACKUP, DEAD_PID),
                "lib/vz/template/iso/.upload-Mn78Op.tmp",      # the implicit local
            ]
            kept = [
                "etc/locked.cfg.tmp.17.LoCkEd",                # a live writer's
                "srv/st/.upload-LoCk01.tmp",                   # a live upload's
                "etc/fresh.cfg.tmp.17.FrEsHh",                 # written after the start
                "etc/user.cfg.tmp.%d" % os.getpid(),            # its writer lives
                "srv/st/snippets/hook.tmp.17.AbCdEf",          # not ours
                "srv/st/dump/other.tmp.%d" % DEAD_PID,          # not ours
                "srv/st/isos/.upload-x.tmp",                   # not ours
            ]
            for rel in gone + kept:
                d.write(rel, "partial")
                t = time.time() + 3600 if "FrEsH" in rel else OLD
                os.utime(os.path.join(d.root, rel), (t, t))
            link = os.path.join(store, ".upload-LiNk01.tmp")
            os.symlink("/etc/passwd", link)
            held = []
            try:
                for rel in kept[:2]:
                    f = open(os.path.join(d.root, rel), "rb")
                    held.append(f)
                    fcntl.flock(f, fcntl.LOCK_EX)
                with d:
                    log = os.path.join(d.root, "log", "ctvmd.log")
                    deadline = time.monotonic() + 30
                    while time.monotonic() < deadline:
                        with open(log, encoding="utf-8", errors="replace") as f:
                            if "stale temporary files in storages swept" in f.read():
                                break
                        time.sleep(0.1)
                    else:
                        self.fail("the sweep of the storages did not end")
                    left = [rel for rel in gone if os.path.exists(os.path.join(d.root, rel))]
                    self.assertEqual(left, [])
                    lost = [rel for rel in kept
                            if not os.path.exists(os.path.join(d.root, rel))]
                    self.assertEqual(lost, [])
                    self.assertTrue(os.path.islink(link))
                    with open(log, encoding="utf-8", errors="replace") as f:
                        self.assertIn("a temporary file left by an interrupted writer",
                                      f.read())
            finally:
                for f in held:
                    f.close()


if __name__ == "__main__":
    ctvmtest.main()
