#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""A VM's state to disk with a real TCG guest (the test guest of
test_vm_boot.py): POST status/suspend with todisk=1 saves the state into a
volume vm-<vmid>-state-suspend-<date>.raw (QEMU's migration into a file
descriptor passed over QMP), the QEMU process is gone and the config says
`vmstate: <volid>` and `lock: suspended`; a start (or resume) loads the state
(-incoming defer) and the guest runs on where it was: it answers the ACPI
power button at once without booting again (no boot marker on serial0);
the state volume is freed and `vmstate` and `lock` leave the config.  A save
that fails (a state storage too small to hold it, a storage that does not
exist) leaves the VM running and no state volume.  A snapshot with RAM
(vmstate=1) of a running VM saves its state the same way, a rollback to it
brings the VM back running from there, and its delete frees the volume.
Skipped without QEMU or
when the ISO cannot be built.
"""

import os
import secrets
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ctvmtest  # noqa: E402
from test_vm_boot import (MARKER, guest_iso_or_skip, read_until,  # noqa: E402
                          serial_socket, upload_iso)

POWERDOWN = b"CTVM-GUEST-POWERDOWN"


class VmStateTest(ctvmtest.AdminDaemonTest):
    @classmethod
    def setUpClass(cls):
        cls.iso = guest_iso_or_skip()
        super().setUpClass()
        cls.path = os.path.join(cls.daemon.root, "srv", "vms")
        cls.daemon.root_call("POST", "/storage", storage="vms", type="dir", path=cls.path,
                             content="images,iso")
        # a storage far too small for a state: the volume is sparse, the
        # save fails when QEMU writes it
        cls.tiny = os.path.join(cls.daemon.root, "srv", "tiny")
        os.makedirs(cls.tiny)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "ctvmt-tiny", cls.tiny],
                       check=True)
        cls.addClassCleanup(subprocess.run, ["umount", "-l", cls.tiny])
        cls.daemon.root_call("POST", "/storage", storage="tiny", type="dir", path=cls.tiny,
                             content="images")
        cls.isoname = upload_iso(cls.admin, cls.node, "vms", cls.iso)

    def conf(self, vmid):
        with open(os.path.join(self.daemon.root, "etc", "qemu-server", "%d.conf" % vmid)) as f:
            return dict(line.split(": ", 1) for line in f.read().splitlines()
                        if ": " in line)

    def boot(self, vmid):
        q = self.admin.nodes(self.node).qemu
        # no disk: the state goes to vmstatestorage (a CD-ROM's storage
        # does not count, and there is no `local` here)
        self.ok(q.post(vmid=vmid, kvm=0, memory=256, cores=1, serial0="socket",
                       boot="order=ide2", ide2="vms:iso/%s,media=cdrom" % self.isoname,
                       vmstatestorage="vms"))
        self.addCleanup(self.remove, vmid)
        self.ok(q(vmid).status.start.post())
        with serial_socket(self.daemon, vmid) as s:
            self.assertIn(MARKER, read_until(s, MARKER), "the guest did not boot")
        return q(vmid)

    def remove(self, vmid):
        self.daemon.root_call("PUT", "/nodes/%s/qemu/%d/config" % (self.node, vmid),
                              delete="lock")
        vm = self.admin.nodes(self.node).qemu(vmid)
        self.task_status(vm.status.stop.post(), 60)
        self.task_status(vm.delete(purge=1), 60)

    def state_files(self, storage_path, vmid):
        d = os.path.join(storage_path, "images", str(vmid))
        return sorted(f for f in os.listdir(d) if "-state-" in f) if os.path.isdir(d) else []

    def test_suspend_to_disk_and_resume(self):
        vmid = 400
        vm = self.boot(vmid)
        pid = vm.status.current.get()["pid"]
        self.ok(vm.status.suspend.post(todisk=1))
        self.assertEqual(vm.status.current.get()["status"], "stopped")
        self.assertFalse(os.path.exists("/proc/%d" % pid) and
                         open("/proc/%d/stat" % pid).read().split()[2] != "Z")
        conf = self.conf(vmid)
        self.assertEqual(conf.get("lock"), "suspended")
        files = self.state_files(self.path, vmid)
        self.assertEqual(len(files), 1, files)
        self.assertTrue(files[0].startswith("vm-%d-state-suspend-" % vmid), files)
        self.assertEqual(conf.get("vmstate"), "vms:%d/%s" % (vmid, files[0]))
        # a suspended VM is locked for anything but its start or resume
        r = self.api("POST", "/nodes/%s/qemu/%d/status/stop" % (self.node, vmid))
        self.assertEqual((r.status, r.reason), (500, "VM is locked (suspended)"))

        self.ok(vm.status.resume.post())
        st = vm.status.current.get()
        self.assertEqual((st["status"], st["qmpstatus"]), ("running", "running"))
        conf = self.conf(vmid)
        self.assertNotIn("lock", conf)
        self.assertNotIn("vmstate", conf)
        self.assertEqual(self.state_files(self.path, vmid), [])
        # the guest runs on from its saved state: its init answers the power
        # button at once, without booting again
        with serial_socket(self.daemon, vmid) as s:
            self.ok(vm.status.shutdown.post(timeout=60), timeout=120)
            seen = read_until(s, POWERDOWN, timeout=10)
        self.assertIn(POWERDOWN, seen)
        self.assertNotIn(MARKER, seen)

        # again, resumed by a start this time, the storage given
        self.ok(vm.status.start.post())
        with serial_socket(self.daemon, vmid) as s:
            self.assertIn(MARKER, read_until(s, MARKER))
        self.ok(vm.status.suspend.post(todisk=1, statestorage="vms"))
        self.assertEqual(self.conf(vmid).get("lock"), "suspended")
        self.ok(vm.status.start.post())
        self.assertEqual(vm.status.current.get()["qmpstatus"], "running")
        self.assertEqual(self.state_files(self.path, vmid), [])

    def test_failed_save_leaves_vm_running(self):
        vmid = 401
        vm = self.boot(vmid)
        # a storage that does not exist: nothing is written
        upid = vm.status.suspend.post(todisk=1, statestorage="nosuch")
        self.assertNotEqual(self.task_status(upid)["exitstatus"], "OK")
        self.assertEqual(vm.status.current.get()["qmpstatus"], "running")
        self.assertNotIn("lock", self.conf(vmid))
        self.assertNotIn("vmstate", self.conf(vmid))
        # a storage too small: QEMU's write fails, the volume goes, the VM
        # runs on; the lock stays `suspending` as PVE leaves it
        upid = vm.status.suspend.post(todisk=1, statestorage="tiny")
        st = self.task_status(upid, 300)
        self.assertNotEqual(st["exitstatus"], "OK")
        self.assertIn("state save failed", st["exitstatus"])
        st = vm.status.current.get()
        self.assertEqual((st["status"], st["qmpstatus"]), ("running", "running"))
        self.assertEqual(self.state_files(self.tiny, vmid), [])
        conf = self.conf(vmid)
        self.assertNotIn("vmstate", conf)
        self.assertEqual(conf.get("lock"), "suspending")

    def test_snapshot_with_ram(self):
        """vmstate=1 on a running VM: the state goes to vm-<vmid>-state-<snap>
        and the VM runs on; a rollback brings the VM back running from that
        state (no new boot); a delete frees the state volume."""
        vmid = 403
        q = self.admin.nodes(self.node).qemu
        self.ok(q.post(vmid=vmid, kvm=0, memory=256, cores=1, serial0="socket",
                       boot="order=ide2", ide2="vms:iso/%s,media=cdrom" % self.isoname,
                       scsi0="vms:1,format=qcow2"))
        self.addCleanup(self.remove, vmid)
        vm = q(vmid)
        self.ok(vm.status.start.post())
        with serial_socket(self.daemon, vmid) as s:
            self.assertIn(MARKER, read_until(s, MARKER), "the guest did not boot")
        self.ok(vm.snapshot.post(snapname="ram", vmstate=1))
        st = vm.status.current.get()
        self.assertEqual((st["status"], st["qmpstatus"]), ("running", "running"))
        name = "vm-%d-state-ram.raw" % vmid
        self.assertEqual(self.state_files(self.path, vmid), [name])
        snaps = {x["name"]: x for x in vm.snapshot.get()}
        self.assertEqual(snaps["ram"].get("vmstate"), 1)
        self.assertEqual(vm.snapshot("ram").config.get()["vmstate"], "vms:%d/%s" % (vmid, name))
        self.assertNotIn("lock", self.conf(vmid))

        # the VM goes on, stops; the rollback brings it back at the snapshot
        self.ok(vm.status.stop.post())
        self.ok(vm.snapshot("ram").rollback.post())
        st = vm.status.current.get()
        self.assertEqual((st["status"], st["qmpstatus"]), ("running", "running"))
        self.assertEqual(self.state_files(self.path, vmid), [name])
        with serial_socket(self.daemon, vmid) as s:
            self.ok(vm.status.shutdown.post(timeout=60), timeout=120)
            seen = read_until(s, POWERDOWN, timeout=10)
        self.assertIn(POWERDOWN, seen)
        self.assertNotIn(MARKER, seen)

        self.ok(vm.snapshot("ram").delete())
        self.assertEqual(self.state_files(self.path, vmid), [])

    def test_paused_shutdown(self):
        """The shutdown task asks QEMU whether the VM is paused (one
        query-status): refused without forceStop, a stop with it."""
        vmid = 404
        q = self.admin.nodes(self.node).qemu
        self.ok(q.post(vmid=vmid, kvm=0, memory=64))
        self.addCleanup(self.remove, vmid)
        vm = q(vmid)
        self.ok(vm.status.start.post())
        self.ok(vm.status.suspend.post())
        self.assertEqual(vm.status.current.get()["qmpstatus"], "paused")
        upid = vm.status.shutdown.post(timeout=5)
        self.assertEqual(self.task_status(upid)["exitstatus"], "VM is paused - cannot shutdown")
        self.assertEqual(vm.status.current.get()["qmpstatus"], "paused")
        upid = vm.status.shutdown.post(timeout=5, forceStop=1)
        self.assertEqual(self.task_status(upid)["exitstatus"], "WARNINGS: 1")
        self.assertIn("VM is paused - stop instead of shutdown", self.task_log(upid))
        self.assertEqual(vm.status.current.get()["status"], "stopped")

    def test_todisk_privileges(self):
        """todisk needs VM.Config.Disk on the VM and Datastore.AllocateSpace
        on the state storage besides VM.PowerMgmt (PVE's vm_suspend)."""
        q = self.admin.nodes(self.node).qemu
        vmid = 402
        self.ok(q.post(vmid=vmid, kvm=0, memory=64))
        self.addCleanup(self.remove, vmid)
        self.ok(q(vmid).status.start.post())
        pw = secrets.token_urlsafe(12)
        self.admin.access.users.post(userid="power@pve", password=pw)
        self.admin.access.acl.put(path="/vms/%d" % vmid, roles="PVEVMUser", users="power@pve")
        ticket, csrf = self.daemon.login("power@pve", pw)
        path = "/nodes/%s/qemu/%d/status/suspend" % (self.node, vmid)
        r = self.daemon.http("POST", path, ticket=ticket, csrf=csrf, data={"todisk": 1})
        self.assertEqual((r.status, r.reason),
                         (403, "Permission check failed (/vms/%d, VM.Config.Disk)" % vmid))
        self.admin.access.acl.put(path="/vms/%d" % vmid, roles="PVEVMAdmin", users="power@pve")
        r = self.daemon.http("POST", path, ticket=ticket, csrf=csrf,
                             data={"todisk": 1, "statestorage": "vms"})
        self.assertEqual((r.status, r.reason),
                         (403, "Permission check failed (/storage/vms, Datastore.AllocateSpace)"))
        self.assertEqual(q(vmid).status.current.get()["qmpstatus"], "running")


if __name__ == "__main__":
    ctvmtest.main()
