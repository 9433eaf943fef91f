#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""The Disks API (/nodes/{node}/disks) on a real daemon and this host's
real disks, read-only: the list through proxmoxer in Proxmox's fields and
JSON types, matching what lsblk sees; the disk holding / is in use;
partitions only when asked; Sys.Audit to look, Sys.Modify to create, and
add_storage root@pam's.  Nothing is created here: a POST that passes the
checks would start a task on a real disk, so only refusals are sent (the
creations run in the lab VM, tests/labvm/disks-lab.c).
"""

import json
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ctvmtest  # noqa: E402
from ctvmtest import Daemon, HostAccount  # noqa: E402

from proxmoxer.core import ResourceException  # noqa: E402


def lsblk():
    out = subprocess.run(["lsblk", "--json", "--list", "--bytes", "-o",
                          "NAME,PATH,TYPE,SIZE,MOUNTPOINT,PKNAME"],
                         capture_output=True, text=True, timeout=30, check=True).stdout
    return json.loads(out)["blockdevices"]


class DisksApi(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.admin_acct = HostAccount().__enter__()
        cls.addClassCleanup(cls.admin_acct.remove)
        cls.none_acct = HostAccount().__enter__()
        cls.addClassCleanup(cls.none_acct.remove)
        cfg = "".join("user:%s:1:0::::::\n" % u
                      for u in (cls.admin_acct.userid, cls.none_acct.userid)) + "\n"
        cfg += "acl:1:/:%s:Administrator:\n" % cls.admin_acct.userid
        cls.daemon = Daemon(files={"etc/user.cfg": cfg}, args=["--login-delay-ms", "100"])
        cls.daemon.start()
        cls.addClassCleanup(cls.daemon.stop)
        cls.admin = cls.daemon.proxmoxer(cls.admin_acct.userid, cls.admin_acct.password)
        cls.none = cls.daemon.proxmoxer(cls.none_acct.userid, cls.none_acct.password)
        cls.node = cls.admin.nodes.get()[0]["node"]

    def disks(self):
        return self.admin.nodes(self.node).disks

    def test_index(self):
        names = sorted(r["name"] for r in self.disks().get())
        self.assertEqual(names, ["directory", "list", "lvm", "lvmthin", "zfs"])

    def test_list_matches_lsblk(self):
        rows = self.disks().list.get()
        seen = {r["devpath"]: r for r in rows}
        want = [d for d in lsblk() if d["type"] == "disk"
                and not d["name"].startswith(("zram", "ram", "loop", "fd", "sr"))]
        self.assertEqual(sorted(seen), sorted(d["path"] for d in want))
        for d in want:
            r = seen[d["path"]]
            self.assertEqual(r["size"], int(d["size"]))
            self.assertIsInstance(r["gpt"], int)
            self.assertIsInstance(r["mounted"], int)
            self.assertIn(r["type"], ("hdd", "ssd", "nvme", "usb"))
            self.assertEqual(r["health"], "UNKNOWN")
        # the disk of / (or of its partition, or of the VG on it) is in use
        by_name = {d["name"]: d for d in lsblk()}
        root = next((d for d in lsblk() if d["mountpoint"] == "/"), None)
        while root is not None and root["type"] != "disk" and root.get("pkname"):
            root = by_name.get(root["pkname"])
        if root is not None and root["type"] == "disk":
            self.assertIn("used", seen[root["path"]])
            # and creating on it is refused before any task
            with self.assertRaises(ResourceException) as cm:
                self.disks().lvm.post(name="ctvmtest", device=root["path"])
            self.assertEqual(cm.exception.status_code, 400)
            self.assertIn("is already in use", str(cm.exception))

    def test_partitions_when_asked(self):
        parts = [d["path"] for d in lsblk() if d["type"] == "part"]
        rows = self.disks().list.get(**{"include-partitions": 1})
        self.assertEqual(sorted(p for p in parts), sorted(r["devpath"] for r in rows
                                                          if r["type"] == "partition"))
        unused = self.disks().list.get(type="unused")
        self.assertFalse(any("used" in r for r in unused))

    def test_permissions(self):
        with self.assertRaises(ResourceException) as cm:
            self.none.nodes(self.node).disks.list.get()
        self.assertEqual(cm.exception.status_code, 403)
        with self.assertRaises(ResourceException) as cm:
            self.none.nodes(self.node).disks.lvm.post(name="x1", device="/dev/nosuch")
        self.assertEqual(cm.exception.status_code, 403)
        with self.assertRaises(ResourceException) as cm:
            self.disks().lvm.post(name="x1", device="/dev/nosuch", add_storage=1)
        self.assertEqual(cm.exception.status_code, 403)
        self.assertIn("only root@pam", str(cm.exception))

    def test_refusals(self):
        with self.assertRaises(ResourceException) as cm:
            self.disks().lvm.post(name="x1", device="/dev/nosuch")
        self.assertEqual(cm.exception.status_code, 400)
        self.assertIn("unable to find device '/dev/nosuch'", str(cm.exception))
        with self.assertRaises(ResourceException) as cm:
            self.disks().zfs.post(name="tank", devices="/dev/nosuch", raidlevel="raidz2")
        self.assertEqual(cm.exception.status_code, 400)
        self.assertIn("raidz2 needs at least 4 disks", str(cm.exception))


if __name__ == "__main__":
    ctvmtest.main()
