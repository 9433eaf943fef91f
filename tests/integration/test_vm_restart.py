#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""Issue 12: VM tasks outlive a killed ctvmd (test_ct_restart.py's cases for
VMs; test_vm_boot.py kills it while a VM merely runs).

ctvmd is killed with SIGKILL (no cleanup of its own) and started again on
the same root:

 - during a qmcreate with disks, ctvmd alone (its worker outlives it and
   finishes) and ctvmd with the worker once a volume exists (the whole
   service crashes): the task has ended and its status is readable, every
   config in etc/qemu-server is whole, the new one is absent, whole, or
   holds `lock: create` (what Proxmox leaves after a killed create; it is
   refused by destroy until unlocked, as in PVE), and the id is destroyed
   and reused with no volume left;
 - during a full qmclone, the same two ways: the same for the new id; the
   source is whole, and a `lock: clone` left on it is cleared as Proxmox
   does (PUT config delete=lock);
 - during a qmshutdown of a running VM whose guest ignores the ACPI button
   (no OS, only firmware): the VM still runs with the same pid, status is
   `running`, the task status readable, the task ends at its timeout, and
   stop and start work.
"""

import glob
import os
import signal
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ctvmtest  # noqa: E402
from test_vm_snapshot import VmTestBase  # noqa: E402

QEMU = "/usr/bin/qemu-system-x86_64"


class VmRestartTest(ctvmtest.KillRestartMixin, VmTestBase):

    def conf_or_none(self, vmid):
        try:
            return self.conf_text(vmid)
        except FileNotFoundError:
            return None

    def assert_whole_configs(self, held_ok=False):
        """The configs are whole (assert_whole_config_dir()) and every one
        parses (GET config answers)."""
        for vmid in self.assert_whole_config_dir(os.path.join("etc", "qemu-server"), held_ok):
            r = self.api("GET", "/nodes/%s/qemu/%s/config" % (self.node, vmid))
            self.assertEqual(r.status, 200, "%s.conf: %s" % (vmid, r.reason))

    def wait_file(self, pattern, timeout=60):
        deadline = time.monotonic() + timeout
        while not glob.glob(pattern) and time.monotonic() < deadline:
            time.sleep(0.005)

    def check_new_guest(self, vmid, upid):
        """After the restart: the task ended with a readable status, the
        configs are whole, the new guest's config is absent, whole or
        create-locked, it is not running, and the id is freed and reused."""
        st = self.task_status(upid, timeout=120)
        self.wait_no_tasks(vmid)
        self.assert_whole_configs()
        conf = self.conf_or_none(vmid)
        vol = os.path.join(self.path, "images", str(vmid))
        print("\nkilled task of %d: %r, config %s" % (
            vmid, st.get("exitstatus"), "absent" if conf is None else
            "with lock: create" if "\nlock: create" in "\n" + conf else "present"),
            file=sys.stderr)
        if conf is None:
            self.assertEqual(glob.glob(os.path.join(vol, "*")), [])
        else:
            locked = "\nlock: create" in "\n" + conf
            self.assertEqual(locked, st.get("exitstatus") != "OK", conf)
            self.assertEqual(self.vm(vmid).status.current.get()["status"], "stopped")
            if locked:
                # PVE: a create-locked VM is refused until `qm unlock`
                r = self.api("DELETE", "/nodes/%s/qemu/%d" % (self.node, vmid))
                self.assertEqual((r.status, r.reason), (500, "VM is locked (create)"))
                self.daemon.root_call("PUT", "/nodes/%s/qemu/%d/config" % (self.node, vmid),
                                      delete="lock")
            self.ok(self.vm(vmid).delete(purge=1))
            self.assertIsNone(self.conf_or_none(vmid))
            self.assertEqual(glob.glob(os.path.join(vol, "*")), [])
        self.create(vmid, memory=64, scsi0="vms:1", kvm=0)
        self.assertNotIn("lock", self.vm(vmid).config.get())

    def kill_worker(self, upid):
        """SIGKILL the task's worker (its pid is the UPID's second field)."""
        pid = int(upid.split(":")[2], 16)
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def test_kill_during_create(self):
        upid = self.admin.nodes(self.node).qemu.post(vmid=510, memory=64, kvm=0,
                                                     scsi0="vms:1,format=qcow2",
                                                     scsi1="vms:1,format=raw")
        self.addCleanup(self.destroy_quietly, 510)
        self.kill9_and_restart()
        self.check_new_guest(510, upid)

    def test_kill_during_create_with_worker(self):
        """ctvmd and the qmcreate worker together (the whole service
        crashes) once a volume exists: `lock: create` stays, as in PVE."""
        upid = self.admin.nodes(self.node).qemu.post(vmid=511, memory=64, kvm=0,
                                                     scsi0="vms:1,format=qcow2",
                                                     scsi1="vms:1,format=raw")
        self.addCleanup(self.destroy_quietly, 511)
        self.wait_file(os.path.join(self.path, "images", "511", "*"))
        self.kill_worker(upid)
        self.kill9_and_restart()
        self.check_new_guest(511, upid)

    def test_kill_during_clone(self):
        self.create(520, name="src", memory=64, kvm=0, scsi0="vms:2,format=raw",
                    scsi1="vms:1,format=qcow2")
        src = self.conf_text(520)
        for newid, with_worker in ((521, False), (523, True)):
            upid = self.vm(520).clone.post(newid=newid, full=1, format="qcow2")
            self.addCleanup(self.destroy_quietly, newid)
            if with_worker:
                self.wait_file(os.path.join(self.path, "images", str(newid), "*"))
                self.kill_worker(upid)
            self.kill9_and_restart()
            self.check_new_guest(newid, upid)
            # the source: whole, as it was but for a lock the killed clone
            # left (PVE: `qm unlock`, i.e. delete=lock by root)
            now = self.conf_text(520)
            if "\nlock: clone" in "\n" + now:
                r = self.api("PUT", "/nodes/%s/qemu/520/config" % self.node,
                             data={"name": "locked"})
                self.assertEqual((r.status, r.reason), (500, "VM is locked (clone)"))
                self.daemon.root_call("PUT", "/nodes/%s/qemu/520/config" % self.node,
                                      delete="lock")
                now = self.conf_text(520)
            self.assertEqual(now, src)
        # and it clones again
        self.ok(self.vm(520).clone.post(newid=522, full=1))
        self.addCleanup(self.destroy_quietly, 522)

    def test_kill_during_shutdown(self):
        if not os.access(QEMU, os.X_OK):
            self.skipTest("no %s" % QEMU)
        vmid = 530
        self.create(vmid, memory=64, kvm=0, scsi0="vms:1")
        self.addCleanup(self.stop_quietly, vmid)
        self.ok(self.vm(vmid).status.start.post())
        pid = self.vm(vmid).status.current.get()["pid"]
        conf = self.conf_text(vmid)
        # no OS answers the power button: the shutdown waits its timeout
        upid = self.vm(vmid).status.shutdown.post(timeout=15)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            active = [t for t in self.admin.nodes(self.node).tasks.get(source="active")
                      if t.get("upid") == upid]
            if active:
                break
            time.sleep(0.02)
        time.sleep(0.5)
        self.kill9_and_restart()
        self.assertTrue(os.path.exists("/proc/%d" % pid), "the VM died with ctvmd")
        st = self.vm(vmid).status.current.get()
        self.assertEqual((st["status"], st["pid"]), ("running", pid))
        self.assertEqual(st["qmpstatus"], "running")
        # the task's status is readable: it runs on (its worker outlived
        # ctvmd) or was marked stopped
        r = self.api("GET", "/nodes/%s/tasks/%s/status" % (self.node, upid))
        self.assertEqual(r.status, 200, r.reason)
        self.assertIn(r.json()["data"]["status"], ("running", "stopped"))
        self.assert_whole_configs(held_ok=True)
        self.assertEqual(self.conf_text(vmid), conf)
        res = [x for x in self.admin.cluster.resources.get(type="vm") if x["vmid"] == vmid]
        self.assertEqual(res[0]["status"], "running")
        # the shutdown ends (the guest never powers off: its timeout), and
        # the restarted daemon sees it end; the VM runs on
        st = self.task_status(upid, timeout=120)
        self.assertNotEqual(st["exitstatus"], "OK")
        self.assertEqual(self.vm(vmid).status.current.get()["pid"], pid)
        self.assert_whole_configs()
        # managed: a hard stop ends it; no lock, nothing left running
        self.ok(self.vm(vmid).status.stop.post())
        self.assertEqual(self.vm(vmid).status.current.get()["status"], "stopped")
        self.assertTrue(self.gone(pid), "QEMU (pid %d) still runs" % pid)
        self.assertNotIn("\nlock:", "\n" + self.conf_text(vmid))
        # and starts again
        self.ok(self.vm(vmid).status.start.post())
        self.ok(self.vm(vmid).status.stop.post())

    def gone(self, pid, timeout=5):
        """pid exited (once QEMU outlived its parent, init reaps it: a
        zombie for a moment)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with open("/proc/%d/stat" % pid) as f:
                    if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                        return True
            except FileNotFoundError:
                return True
            time.sleep(0.05)
        return False

    def stop_quietly(self, vmid):
        r = self.api("POST", "/nodes/%s/qemu/%d/status/stop" % (self.node, vmid))
        if r.status == 200:
            self.task_status(r.json()["data"])


if __name__ == "__main__":
    ctvmtest.main()
