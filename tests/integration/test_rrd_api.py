#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""Usage history (GET .../rrddata) through proxmoxer.

One daemon started with the test-only --test-rrd-step 1: the history's step
is one second instead of 60, so the "hour" rows are seconds and the "day"
rows 30 s, and sampling and saving speed up with it (docs/monitoring.md).
The node's and a dir storage's rows carry plausible values; a user without
Sys.Audit / Datastore.Audit gets 403, a bad timeframe or cf 400, the PNG
variants 501; the history survives a daemon restart, and a storage removed
from storage.cfg loses its history.
"""

import math
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ctvmtest  # noqa: E402
from ctvmtest import Daemon, HostAccount  # noqa: E402

from proxmoxer.core import ResourceException  # noqa: E402

NODE_FIELDS = ("loadavg", "maxcpu", "cpu", "iowait", "memtotal", "memused", "swaptotal",
               "swapused", "roottotal", "rootused", "netin", "netout")
STEP = 1
RES = {"hour": STEP, "day": 30 * STEP, "week": 180 * STEP, "month": 720 * STEP,
       "year": 10080 * STEP}


class RrdApi(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.admin_acct = HostAccount().__enter__()
        cls.addClassCleanup(cls.admin_acct.remove)
        cls.stor_acct = HostAccount().__enter__()   # Datastore.Audit on the storage only
        cls.addClassCleanup(cls.stor_acct.remove)
        cls.none_acct = HostAccount().__enter__()   # no privileges at all
        cls.addClassCleanup(cls.none_acct.remove)
        users = [cls.admin_acct.userid, cls.stor_acct.userid, cls.none_acct.userid]
        cfg = "".join("user:%s:1:0::::::\n" % u for u in users) + "\n"
        cfg += "acl:1:/:%s:Administrator:\n" % cls.admin_acct.userid
        cfg += "acl:1:/storage/vols:%s:PVEDatastoreUser:\n" % cls.stor_acct.userid
        cls.daemon = Daemon(files={"etc/user.cfg": cfg},
                            args=["--login-delay-ms", "100", "--test-rrd-step", str(STEP)])
        cls.daemon.start()
        cls.addClassCleanup(cls.daemon.stop)
        cls.connect()
        cls.node = cls.admin.nodes.get()[0]["node"]
        # a storage's path is root@pam's to set
        cls.daemon.root_call("POST", "/storage", storage="vols", type="dir",
                             path=os.path.join(cls.daemon.root, "srv", "vols"),
                             content="images,iso")

    @classmethod
    def connect(cls):
        cls.admin = cls.daemon.proxmoxer(cls.admin_acct.userid, cls.admin_acct.password)
        cls.stor = cls.daemon.proxmoxer(cls.stor_acct.userid, cls.stor_acct.password)
        cls.none = cls.daemon.proxmoxer(cls.none_acct.userid, cls.none_acct.password)

    def node_rrd(self, api=None, **kw):
        return (api or self.admin).nodes(self.node).rrddata.get(**kw)

    def storage_rrd(self, storage="vols", api=None, **kw):
        return (api or self.admin).nodes(self.node).storage(storage).rrddata.get(**kw)

    def assert_status(self, status, fn, *args, **kw):
        with self.assertRaises(ResourceException) as cm:
            fn(*args, **kw)
        self.assertEqual(cm.exception.status_code, status, str(cm.exception))
        return cm.exception

    def check_rows(self, rows, timeframe):
        """70 rows, times aligned to the resolution and ending about now."""
        res = RES[timeframe]
        self.assertEqual(len(rows), 70)
        times = [r["time"] for r in rows]
        for a, b in zip(times, times[1:]):
            self.assertEqual(b - a, res)
        self.assertEqual(times[-1] % res, 0)
        self.assertLessEqual(abs(times[-1] - int(time.time()) // res * res), res)
        for r in rows:
            for k, v in r.items():
                self.assertIsInstance(v, (int, float), k)
                self.assertTrue(math.isfinite(v), k)

    def check_node_row(self, r):
        for f in NODE_FIELDS:
            self.assertIn(f, r)
            self.assertGreaterEqual(r[f], 0, f)
        self.assertGreaterEqual(r["maxcpu"], 1)
        self.assertLessEqual(r["cpu"], 1.0)
        self.assertLessEqual(r["iowait"], 1.0)
        self.assertGreater(r["memtotal"], 0)
        self.assertLessEqual(r["memused"], r["memtotal"])
        self.assertLessEqual(r["swapused"], r["swaptotal"])
        self.assertGreater(r["roottotal"], 0)
        self.assertLessEqual(r["rootused"], r["roottotal"])

    def wait_rows(self, fetch, key, deadline_s):
        """The rows once one has key (a value), else fails after deadline_s."""
        end = time.monotonic() + deadline_s
        while True:
            rows = fetch()
            if any(key in r for r in rows):
                return rows
            if time.monotonic() > end:
                self.fail("no row with %r within %d s: %r" % (key, deadline_s, rows[-5:]))
            time.sleep(0.5)

    # -- the tests run in name order: a_..., then b_restart, then c_remove ----

    def test_a1_node_hour_and_day(self):
        rows = self.wait_rows(lambda: self.node_rrd(timeframe="hour"), "cpu", 20)
        self.check_rows(rows, "hour")
        full = [r for r in rows if "cpu" in r]
        self.assertGreater(len(full), 0)
        for r in full:
            self.check_node_row(r)
        # a 30-step row needs 15 known steps (xff 0.5): at most ~45 s of history
        rows = self.wait_rows(lambda: self.node_rrd(timeframe="day"), "memtotal", 75)
        self.check_rows(rows, "day")
        for r in rows:
            if "cpu" in r:
                self.check_node_row(r)
        rows = self.node_rrd(timeframe="day", cf="MAX")
        self.check_rows(rows, "day")
        self.assertTrue(any("memtotal" in r for r in rows))
        for tf in ("week", "month", "year"):
            self.check_rows(self.node_rrd(timeframe=tf), tf)

    def test_a2_storage_hour_and_day(self):
        rows = self.wait_rows(lambda: self.storage_rrd(timeframe="hour"), "total", 20)
        self.check_rows(rows, "hour")
        for r in rows:
            if "total" in r:
                self.assertGreater(r["total"], 0)
                self.assertGreaterEqual(r["used"], 0)
                self.assertLessEqual(r["used"], r["total"])
                self.assertEqual(set(r), {"time", "total", "used"})
        rows = self.wait_rows(lambda: self.storage_rrd(timeframe="day", cf="MAX"), "total", 75)
        self.check_rows(rows, "day")
        # a storage that is not active (is_mountpoint, nothing mounted) records
        # unknown: rows with only their time
        # (written by hand: the API refuses to create it, as it cannot activate it)
        with open(os.path.join(self.daemon.root, "etc", "storage.cfg"), "a") as f:
            f.write("\ndir: offline\n\tpath %s\n\tcontent iso\n\tis_mountpoint yes\n"
                    % os.path.join(self.daemon.root, "srv", "offline"))
        end = time.monotonic() + 20
        while True:
            ids = [s["storage"] for s in self.admin.storage.get()]
            if "offline" in ids or time.monotonic() > end:
                break
            time.sleep(0.2)
        time.sleep(5 * STEP)
        rows = self.storage_rrd("offline", timeframe="hour")
        self.check_rows(rows, "hour")
        self.assertEqual([r for r in rows if set(r) != {"time"}], [])
        # /cluster/resources answers from these samples: the same figures
        res = {r["storage"]: r for r in self.admin.cluster.resources.get(type="storage")}
        self.assertEqual(res["offline"]["status"], "unknown")
        self.assertEqual(res["vols"]["status"], "available")
        self.assertGreater(res["vols"]["maxdisk"], 0)
        self.admin.storage("offline").delete()
        # the implicit local storage is recorded too
        rows = self.wait_rows(lambda: self.storage_rrd("local", timeframe="hour"), "used", 20)
        self.check_rows(rows, "hour")

    def test_a3_permissions(self):
        self.assert_status(403, self.node_rrd, api=self.none, timeframe="hour")
        self.assert_status(403, self.storage_rrd, api=self.none, timeframe="hour")
        # Datastore.Audit on the storage: its history, not the node's
        self.check_rows(self.storage_rrd(api=self.stor, timeframe="hour"), "hour")
        self.assert_status(403, self.node_rrd, api=self.stor, timeframe="hour")
        self.assert_status(403, self.storage_rrd, "local", api=self.stor, timeframe="hour")

    def test_a4_parameters(self):
        self.assert_status(400, self.node_rrd, timeframe="fortnight")
        self.assert_status(400, self.node_rrd)  # timeframe is required
        self.assert_status(400, self.node_rrd, timeframe="hour", cf="LAST")
        self.assert_status(400, self.storage_rrd, timeframe="decade")
        e = self.assert_status(500, self.storage_rrd, "nosuch", timeframe="hour")
        self.assertIn("does not exist", str(e))
        # the PNG variants: ctvm draws no images
        self.assert_status(501, self.admin.nodes(self.node).rrd.get, timeframe="hour", ds="cpu")
        self.assert_status(501, self.admin.nodes(self.node).storage("vols").rrd.get,
                           timeframe="hour", ds="used")

    def test_b_restart_keeps_history(self):
        day = self.wait_rows(lambda: self.node_rrd(timeframe="day"), "memtotal", 75)
        sday = self.wait_rows(lambda: self.storage_rrd(timeframe="day"), "total", 75)
        before = {r["time"]: r for r in day if "memtotal" in r}
        sbefore = {r["time"]: r for r in sday if "total" in r}
        hour = {r["time"]: r for r in self.node_rrd(timeframe="hour") if "cpu" in r}
        self.daemon.stop()     # SIGTERM saves the history
        path = os.path.join(self.daemon.root, "lib", "rrd", "pve2-node", self.node)
        self.assertTrue(os.path.isfile(path))
        self.daemon.start()
        type(self).connect()
        after = {r["time"]: r for r in self.node_rrd(timeframe="day")}
        for t, r in before.items():
            if t in after:
                self.assertEqual(after[t], r)
        self.assertTrue(set(before) & set(after))
        safter = {r["time"]: r for r in self.storage_rrd(timeframe="day")}
        for t, r in sbefore.items():
            if t in safter:
                self.assertEqual(safter[t], r)
        # the second rows of before the restart that are still in the window
        hafter = {r["time"]: r for r in self.node_rrd(timeframe="hour")}
        kept = [t for t in hour if t in hafter]
        self.assertTrue(kept, "no second rows kept across the restart")
        for t in kept:
            self.assertEqual(hafter[t], hour[t])

    def test_c_removed_storage_drops_history(self):
        self.wait_rows(lambda: self.storage_rrd(timeframe="hour"), "total", 20)
        path = os.path.join(self.daemon.root, "lib", "rrd", "pve2-storage", self.node, "vols")
        end = time.monotonic() + 20    # saved every 5 steps
        while not os.path.exists(path) and time.monotonic() < end:
            time.sleep(0.2)
        self.assertTrue(os.path.exists(path))
        self.admin.storage("vols").delete()
        end = time.monotonic() + 20
        while os.path.exists(path) and time.monotonic() < end:
            time.sleep(0.2)
        self.assertFalse(os.path.exists(path))
        self.assert_status(500, self.storage_rrd, timeframe="hour")
        # the same id again starts with an empty history
        self.daemon.root_call("POST", "/storage", storage="vols", type="dir",
                              path=os.path.join(self.daemon.root, "srv", "vols2"),
                              content="iso")
        rows = self.storage_rrd(timeframe="day")
        self.check_rows(rows, "day")
        self.assertFalse(any("total" in r for r in rows))

    def test_d_vm_history(self):
        """A VM's series: its figures, VM.Audit, gone with the VM."""
        qemu = self.admin.nodes(self.node).qemu
        vm_rrd = lambda api=None, **kw: (api or self.admin).nodes(self.node).qemu(150).rrddata.get(**kw)  # noqa: E731,E501
        upid = qemu.post(vmid=150, memory=256, cores=2)
        end = time.monotonic() + 60
        while self.admin.nodes(self.node).tasks(upid).status.get()["status"] != "stopped":
            self.assertLess(time.monotonic(), end)
            time.sleep(0.1)
        rows = self.wait_rows(lambda: vm_rrd(timeframe="hour"), "maxmem", 20)
        self.check_rows(rows, "hour")
        last = [r for r in rows if "maxmem" in r][-1]
        self.assertEqual(last["maxmem"], 256 * 1024 * 1024)
        self.assertEqual(last["maxcpu"], 2)
        self.assertEqual(last["mem"], 0)  # stopped
        self.assert_status(403, vm_rrd, self.none, timeframe="hour")
        self.assert_status(501, self.admin.nodes(self.node).qemu(150).rrd.get,
                           timeframe="hour", ds="cpu")
        path = os.path.join(self.daemon.root, "lib", "rrd", "pve2-vm", "150")
        end = time.monotonic() + 20    # saved every 5 steps
        while not os.path.exists(path) and time.monotonic() < end:
            time.sleep(0.2)
        self.assertTrue(os.path.exists(path))
        upid = qemu(150).delete()
        end = time.monotonic() + 60
        while self.admin.nodes(self.node).tasks(upid).status.get()["status"] != "stopped":
            self.assertLess(time.monotonic(), end)
            time.sleep(0.1)
        self.assert_status(500, vm_rrd, timeframe="hour")
        end = time.monotonic() + 20
        while os.path.exists(path) and time.monotonic() < end:
            time.sleep(0.2)
        self.assertFalse(os.path.exists(path))


if __name__ == "__main__":
    ctvmtest.main()
