#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""Backup pruning (/nodes/{node}/storage/{storage}/prunebackups) through
proxmoxer and raw HTTPS.

One daemon (TZ=UTC, so the names' local times are UTC) with a dir storage
for backups; vzdump-named files with various dates are written into its
dump directory.  GET shows Proxmox's marks for keep-last, keep-daily and the
storage's own prune-backups; DELETE removes exactly the backups marked
remove, with their .log and .notes, and leaves a protected one; a bad
prune-backups string is 400, a user without the privileges gets 403.
"""

import calendar
import os
import secrets
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ctvmtest  # noqa: E402


QEMU = [  # vmid 100, oldest first
    "vzdump-qemu-100-2020_01_01-12_00_00.vma.zst",
    "vzdump-qemu-100-2020_01_02-12_00_00.vma.zst",
    "vzdump-qemu-100-2020_01_02-18_00_00.vma.zst",
    "vzdump-qemu-100-2020_01_03-12_00_00.vma.zst",  # protected
    "vzdump-qemu-100-2020_01_04-12_00_00.vma.zst",
]
LXC = [  # vmid 101
    "vzdump-lxc-101-2020_01_01-00_00_00.tar.zst",
    "vzdump-lxc-101-2020_01_05-00_00_00.tar.zst",
]
RENAMED = "vzdump-qemu-100-before-upgrade.vma.zst"
PROTECTED = QEMU[3]


def name_time(name):
    stamp = name.split("-", 3)[3].split(".")[0]  # 2020_01_01-12_00_00
    return calendar.timegm(time.strptime(stamp, "%Y_%m_%d-%H_%M_%S"))


def log_name(name):
    return name.split(".")[0] + ".log"


class PruneApi(ctvmtest.AdminDaemonTest):
    @classmethod
    def setUpClass(cls):
        os.environ["TZ"] = "UTC"  # the daemon inherits it
        super().setUpClass()
        cls.path = os.path.join(cls.daemon.root, "srv", "bk")
        # a storage's path is root@pam's to set
        cls.daemon.root_call("POST", "/storage", storage="bk", type="dir", path=cls.path,
                             content="backup")
        cls.dump = os.path.join(cls.path, "dump")

    def setUp(self):
        os.makedirs(self.dump, exist_ok=True)
        for f in os.listdir(self.dump):
            os.unlink(os.path.join(self.dump, f))
        for name in QEMU + LXC + [RENAMED]:
            self.touch(name, "data")
            if name != RENAMED:
                self.touch(log_name(name), "log")
                self.touch(name + ".notes", "notes")
        self.touch(PROTECTED + ".protected", "")

    def touch(self, name, text):
        with open(os.path.join(self.dump, name), "w") as f:
            f.write(text)

    def exists(self, name):
        return os.path.exists(os.path.join(self.dump, name))

    def prune(self, api=None):
        return (api or self.admin).nodes(self.node).storage("bk").prunebackups

    def marks(self, **params):
        got = self.prune().get(**params)
        return {e["volid"].split("/", 1)[1]: e for e in got}

    def task_log(self, upid):
        lines = self.admin.nodes(self.node).tasks(upid).log.get(limit=1000)
        return [line["t"] for line in lines]

    # -- the dry run ---------------------------------------------------------

    def test_keep_last(self):
        m = self.marks(**{"prune-backups": "keep-last=2"})
        self.assertEqual(set(m), set(QEMU + LXC + [RENAMED]))
        self.assertEqual([m[n]["mark"] for n in QEMU],
                         ["remove", "remove", "keep", "protected", "keep"])
        self.assertEqual([m[n]["mark"] for n in LXC], ["keep", "keep"])
        self.assertEqual(m[RENAMED]["mark"], "renamed")
        for n in QEMU:
            self.assertEqual(m[n]["type"], "qemu")
            self.assertEqual(m[n]["vmid"], 100)
            self.assertEqual(m[n]["ctime"], name_time(n))
            self.assertEqual(m[n]["volid"], "bk:backup/" + n)
        self.assertEqual(m[LXC[0]]["type"], "lxc")
        self.assertEqual(m[LXC[0]]["vmid"], 101)
        self.assertEqual(m[RENAMED]["type"], "qemu")
        # nothing was removed by looking
        self.assertTrue(all(self.exists(n) for n in QEMU + LXC))

    def test_keep_daily(self):
        # one per day, the newest of the day: 01_02-12 loses to 01_02-18
        m = self.marks(**{"prune-backups": "keep-daily=3"})
        self.assertEqual([m[n]["mark"] for n in QEMU],
                         ["keep", "remove", "keep", "protected", "keep"])
        m = self.marks(**{"prune-backups": "keep-last=1,keep-weekly=1"})
        # 2020-01-01 to 01-04 all fall in ISO week 1 of 2020
        self.assertEqual([m[n]["mark"] for n in QEMU],
                         ["remove", "remove", "remove", "protected", "keep"])
        m = self.marks(**{"prune-backups": "keep-all=1"})
        self.assertEqual([m[n]["mark"] for n in QEMU],
                         ["keep", "keep", "keep", "protected", "keep"])

    def test_filters(self):
        m = self.marks(**{"prune-backups": "keep-last=1", "type": "lxc"})
        self.assertEqual(set(m), set(LXC))
        self.assertEqual([m[n]["mark"] for n in LXC], ["remove", "keep"])
        m = self.marks(**{"prune-backups": "keep-last=1", "vmid": 101})
        self.assertEqual(set(m), set(LXC))
        m = self.marks(**{"prune-backups": "keep-last=1", "vmid": 100, "type": "qemu"})
        self.assertTrue(set(QEMU) <= set(m))
        self.assertFalse(set(LXC) & set(m))

    def test_storage_setting(self):
        # without the parameter: the storage's own prune-backups, else an error
        e = self.assert_status(500, self.prune().get)
        self.assertIn("no prune-backups options configured for storage 'bk'", str(e))
        self.admin.storage("bk").put(**{"prune-backups": "keep-last=1"})
        try:
            m = self.marks()  # the write is seen at once
            self.assertEqual([m[n]["mark"] for n in QEMU],
                             ["remove", "remove", "remove", "protected", "keep"])
        finally:
            self.admin.storage("bk").put(delete="prune-backups")

    def test_bad_prune_string(self):
        path = "/nodes/%s/storage/bk/prunebackups" % self.node
        for bad, why in [("keep-forever=1", "invalid key"),
                         ("keep-last=x", "type check ('integer') failed"),
                         ("keep-last=-1", "minimum value of 0"),
                         ("keep-all=1,keep-daily=2", "keep-all cannot be set together"),
                         ("keep-last=1,keep-last=2", "duplicate key")]:
            for method in ("GET", "DELETE"):
                r = self.daemon.http(method, path, ticket=self.ticket,
                                     csrf=self.csrf if method != "GET" else None,
                                     params={"prune-backups": bad})
                self.assertEqual(r.status, 400, "%s %s: %s" % (method, bad, r.reason))
                self.assertEqual(r.reason, "Parameter verification failed.")
                err = r.json()["errors"]["prune-backups"]
                self.assertIn(why, err)
                self.assertTrue(err.startswith("invalid format - "), err)
        self.assertTrue(all(self.exists(n) for n in QEMU + LXC))

    # -- the prune ---------------------------------------------------------

    def test_delete(self):
        upid = self.prune().delete(**{"prune-backups": "keep-last=2"})
        self.assertIn(":prunebackups:bk:", upid)
        st = self.task_status(upid)
        self.assertEqual(st["exitstatus"], "OK")
        removed = QEMU[:2]
        for n in removed:
            self.assertFalse(self.exists(n), n)
            self.assertFalse(self.exists(log_name(n)), log_name(n))
            self.assertFalse(self.exists(n + ".notes"), n + ".notes")
        for n in QEMU[2:] + LXC + [RENAMED]:
            self.assertTrue(self.exists(n), n)
        self.assertTrue(self.exists(log_name(PROTECTED)))
        self.assertTrue(self.exists(PROTECTED + ".protected"))
        log = self.task_log(upid)
        for n in removed:
            self.assertIn("removing backup 'bk:backup/%s'" % n, log)
        self.assertFalse([line for line in log if "error" in line.lower()], log)
        # and again: nothing left to remove
        m = self.marks(**{"prune-backups": "keep-last=2"})
        self.assertNotIn("remove", [e["mark"] for e in m.values()])
        self.assertEqual(self.task_status(self.prune().delete(
            **{"prune-backups": "keep-last=2"}))["exitstatus"], "OK")

    def test_delete_one_guest(self):
        upid = self.prune().delete(**{"prune-backups": "keep-last=1", "vmid": 101})
        self.assertIn(":prunebackups:101@bk:", upid)
        self.assertEqual(self.task_status(upid)["exitstatus"], "OK")
        self.assertFalse(self.exists(LXC[0]))
        self.assertTrue(self.exists(LXC[1]))
        self.assertTrue(all(self.exists(n) for n in QEMU))

    # -- permissions ---------------------------------------------------------

    def test_permissions(self):
        pw = "pw-" + secrets.token_urlsafe(12)
        self.admin.access.users.post(userid="pruner@pve", password=pw)
        api = self.daemon.proxmoxer("pruner@pve", pw)
        keep = {"prune-backups": "keep-last=1"}
        self.assert_status(403, self.prune(api).get, **keep)
        self.assert_status(403, self.prune(api).delete, **keep)
        self.assert_status(403, self.prune(api).delete, vmid=100, **keep)
        # Datastore.Audit + AllocateSpace: may look, may not prune everything
        self.admin.access.acl.put(path="/storage/bk", roles="PVEDatastoreUser",
                                  users="pruner@pve")
        self.assertEqual(len(self.prune(api).get(**keep)), len(QEMU + LXC) + 1)
        self.assert_status(403, self.prune(api).delete, **keep)
        # a vmid needs VM.Backup on that guest
        self.assert_status(403, self.prune(api).delete, vmid=100, **keep)
        self.admin.access.acl.put(path="/vms/101", roles="PVEVMUser", users="pruner@pve")
        self.assert_status(403, self.prune(api).delete, vmid=100, **keep)
        upid = self.prune(api).delete(vmid=101, **keep)
        self.assertEqual(self.task_status(upid)["exitstatus"], "OK")
        self.assertFalse(self.exists(LXC[0]))
        self.assertTrue(all(self.exists(n) for n in QEMU))


if __name__ == "__main__":
    ctvmtest.main()
