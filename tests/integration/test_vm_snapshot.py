#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""VM snapshots through the API (PVE::API2::Qemu's snapshot methods), as
proxmoxer drives them.

One daemon in a temporary root with a dir storage and, when the host can
loop-mount one, a btrfs storage.  A stopped VM with a qcow2 disk on dir (and
a raw one on btrfs) is snapshotted, written to, rolled back (the data of the
snapshot is back) and the snapshot deleted (from the config and the image).
The list has the `current` entry, a snapshot's config and description read
and change.  Refusals with Proxmox's words: a disk on a storage/format
without snapshots (the config keeps no half snapshot and no lock), a used
name, a missing snapshot, a template; RAM state of a VM whose QEMU does not
answer leaves nothing behind (test_vm_vmstate.py has the real ones).  No QEMU
runs here: a running VM is faked as test_vm_api does.
"""

import os
import secrets
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ctvmtest  # noqa: E402
from test_volume_api import guest_bytes, guest_write, mount_btrfs  # noqa: E402


class VmTestBase(ctvmtest.AdminDaemonTest):
    """A daemon with a dir storage `vms` and, when possible, a btrfs one
    `bvms`, and the helpers of the VM disk tests (test_vm_clone.py too)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.path = os.path.join(cls.daemon.root, "srv", "vms")
        cls.daemon.root_call("POST", "/storage", storage="vms", type="dir", path=cls.path,
                             content="images,iso")
        cls.bpath = None
        mnt = mount_btrfs(cls.daemon.root)
        if mnt:
            cls.addClassCleanup(subprocess.run, ["umount", mnt])
            cls.bpath = os.path.join(mnt, "store")
            cls.daemon.root_call("POST", "/storage", storage="bvms", type="btrfs",
                                 path=cls.bpath, content="images")

    # -- helpers ------------------------------------------------------------

    def vm(self, vmid):
        return self.admin.nodes(self.node).qemu(vmid)

    def task_log(self, upid):
        lines = self.admin.nodes(self.node).tasks(upid).log.get(limit=500)
        return "\n".join(line["t"] for line in lines)

    def ok(self, upid):
        st = self.task_status(upid)
        self.assertEqual(st["exitstatus"], "OK", self.task_log(upid))
        return st

    def failed(self, upid, msg):
        st = self.task_status(upid)
        self.assertEqual(st["exitstatus"], msg, self.task_log(upid))

    def create(self, vmid, **kw):
        self.ok(self.admin.nodes(self.node).qemu.post(vmid=vmid, **kw))
        self.addCleanup(self.destroy_quietly, vmid)

    def destroy_quietly(self, vmid):
        r = self.api("DELETE", "/nodes/%s/qemu/%d" % (self.node, vmid))
        if r.status == 200:
            self.task_status(r.json()["data"])

    def conf_text(self, vmid):
        with open(os.path.join(self.daemon.root, "etc", "qemu-server", "%d.conf" % vmid)) as f:
            return f.read()

    def disk_path(self, vmid, conf_value, storage_path):
        volname = conf_value.split(",")[0].split(":", 1)[1]
        p = os.path.join(storage_path, "images", volname)
        # btrfs keeps a raw image as <name>/disk.raw in a subvolume of its own
        if not os.path.exists(p) and os.path.isdir(p[:-len(".raw")]):
            p = os.path.join(p[:-len(".raw")], "disk.raw")
        return p

    def snapnames(self, vmid):
        return [s["name"] for s in self.vm(vmid).snapshot.get()]

    def fake_running(self, vmid):
        """As test_vm_api: a process that passes qemu-run's identity check."""
        d = os.path.join(self.daemon.root, "run", "qemu-server", str(vmid))
        os.makedirs(d, mode=0o700, exist_ok=True)
        p = subprocess.Popen(["/usr/bin/python3", "-c", "import time; time.sleep(120)",
                              os.path.join(d, "qmp.sock")])
        self.addCleanup(p.wait)
        self.addCleanup(p.kill)
        qmp = os.path.join(d, "qmp.sock").encode()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            with open("/proc/%d/cmdline" % p.pid, "rb") as f:
                if qmp in f.read():
                    break
            time.sleep(0.01)
        with open(os.path.join(d, "pid"), "w") as f:
            f.write("%d\n" % p.pid)
        return p



class VmSnapshotTest(VmTestBase):

    # -- tests --------------------------------------------------------------

    def roundtrip(self, vmid, storage, spath, disk_opts):
        """Snapshot, write, rollback, delete on one storage."""
        self.create(vmid, name="s", memory=512, scsi0="%s:1%s" % (storage, disk_opts), kvm=0)
        vm = self.vm(vmid)
        conf = vm.config.get()
        fmt = "qcow2" if ".qcow2" in conf["scsi0"] else "raw"
        path = self.disk_path(vmid, conf["scsi0"], spath)
        guest_write(path, fmt, 0, 0x11)
        before = guest_bytes(path, fmt)

        upid = vm.snapshot.post(snapname="first", description="before the change")
        self.assertIn(":qmsnapshot:%d:" % vmid, upid)
        self.ok(upid)
        snaps = {s["name"]: s for s in vm.snapshot.get()}
        self.assertEqual(list(snaps), ["first", "current"])
        self.assertEqual(snaps["first"]["description"], "before the change")
        self.assertIsInstance(snaps["first"]["snaptime"], int)
        self.assertNotIn("vmstate", snaps["first"])
        self.assertEqual(snaps["current"]["parent"], "first")
        self.assertEqual(snaps["current"]["description"], "You are here!")
        self.assertEqual(snaps["current"]["running"], 0)
        text = self.conf_text(vmid)
        self.assertIn("[first]", text)
        self.assertNotIn("lock:", text)
        self.assertNotIn("snapstate", text)

        # the snapshot's config and description
        sc = vm.snapshot("first").config.get()
        self.assertEqual(sc["name"], "s")
        self.assertEqual(sc["scsi0"], conf["scsi0"])
        self.assertIsNone(vm.snapshot("first").config.put(description="edited"))
        self.assertEqual(vm.snapshot("first").config.get()["description"], "edited")
        self.assertEqual([e["subdir"] for e in vm.snapshot("first").get()],
                         ["rollback", "config"])

        # a used name
        r = self.api("POST", "/nodes/%s/qemu/%d/snapshot" % (self.node, vmid),
                     data={"snapname": "first"})
        self.assertEqual((r.status, r.reason), (500, "snapshot name 'first' already used"))

        # change the disk and the config, then roll back
        guest_write(path, fmt, 0, 0x22)
        self.assertNotEqual(guest_bytes(path, fmt), before)
        self.assertIsNone(vm.config.put(name="changed", cores=3))
        upid = vm.snapshot("first").rollback.post()
        self.assertIn(":qmrollback:%d:" % vmid, upid)
        self.ok(upid)
        self.assertEqual(guest_bytes(path, fmt), before)
        conf = vm.config.get()
        self.assertEqual(conf["name"], "s")
        self.assertNotIn("cores", conf)
        self.assertEqual(conf["parent"], "first")
        self.assertNotIn("lock", conf)

        # delete
        upid = vm.snapshot("first").delete()
        self.assertIn(":qmdelsnapshot:%d:" % vmid, upid)
        self.ok(upid)
        self.assertEqual(self.snapnames(vmid), ["current"])
        text = self.conf_text(vmid)
        self.assertNotIn("[first]", text)
        self.assertNotIn("parent:", text)
        if fmt == "qcow2":
            out = subprocess.run(["qemu-img", "snapshot", "-l", path], capture_output=True,
                                 text=True, check=True).stdout
            self.assertNotIn("first", out)
        r = self.api("DELETE", "/nodes/%s/qemu/%d/snapshot/first" % (self.node, vmid))
        self.assertEqual((r.status, r.reason), (500, "snapshot 'first' does not exist"))

    def test_qcow2_on_dir(self):
        self.roundtrip(300, "vms", self.path, ",format=qcow2")

    def test_raw_on_btrfs(self):
        if not self.bpath:
            self.skipTest("no btrfs here")
        self.roundtrip(301, "bvms", self.bpath, "")

    def test_chain(self):
        """Two snapshots: the second's parent is the first; deleting the
        first re-parents the second."""
        self.create(302, name="c", memory=512, scsi0="vms:1,format=qcow2", kvm=0)
        vm = self.vm(302)
        self.ok(vm.snapshot.post(snapname="aa"))
        self.ok(vm.snapshot.post(snapname="bb"))
        snaps = {s["name"]: s for s in vm.snapshot.get()}
        self.assertEqual(snaps["bb"]["parent"], "aa")
        self.assertEqual(snaps["current"]["parent"], "bb")
        self.ok(vm.snapshot("aa").delete())
        snaps = {s["name"]: s for s in vm.snapshot.get()}
        self.assertEqual(list(snaps), ["bb", "current"])
        self.assertNotIn("parent", snaps["bb"])

    def test_refused_without_snapshot_feature(self):
        """A raw disk on a directory has no snapshots: the task fails with
        PVE's words and the config keeps no section and no lock."""
        self.create(303, name="raw", memory=512, scsi0="vms:1,format=raw", kvm=0)
        before = self.conf_text(303)
        upid = self.vm(303).snapshot.post(snapname="nope")
        self.failed(upid, "snapshot feature is not available")
        self.assertEqual(self.conf_text(303), before)
        self.assertEqual(self.snapnames(303), ["current"])

    def test_half_snapshot_undone(self):
        """Two disks, the second without snapshots: the first disk's
        snapshot is deleted again and the config is as before."""
        self.create(304, name="h", memory=512, scsi0="vms:1,format=qcow2",
                    scsi1="vms:1,format=qcow2", kvm=0)
        vm = self.vm(304)
        conf = vm.config.get()
        # turn the second disk's image into raw behind ctvm's back
        p1 = self.disk_path(304, conf["scsi1"], self.path)
        raw = p1[:-len(".qcow2")] + ".raw"
        subprocess.run(["qemu-img", "convert", "-O", "raw", p1, raw], check=True)
        os.unlink(p1)
        self.assertIsNone(vm.config.put(scsi1="vms:304/" + os.path.basename(raw)))
        before = self.conf_text(304)
        upid = vm.snapshot.post(snapname="half")
        self.failed(upid, "snapshot feature is not available")
        self.assertEqual(self.conf_text(304), before)
        p0 = self.disk_path(304, conf["scsi0"], self.path)
        out = subprocess.run(["qemu-img", "snapshot", "-l", p0], capture_output=True,
                             text=True, check=True).stdout
        self.assertNotIn("half", out)

    def test_refusals(self):
        self.create(305, name="t", memory=512, scsi0="vms:1,format=qcow2", kvm=0)
        vm = self.vm(305)
        r = self.api("POST", "/nodes/%s/qemu/305/snapshot" % self.node,
                     data={"snapname": "1bad"})
        self.assertEqual(r.status, 400)
        self.assertIn("snapname", r.json()["errors"])
        r = self.api("POST", "/nodes/%s/qemu/305/snapshot/missing/rollback" % self.node)
        self.assertEqual((r.status, r.reason), (500, "snapshot 'missing' does not exist"))
        r = self.api("GET", "/nodes/%s/qemu/305/snapshot/missing/config" % self.node)
        self.assertEqual((r.status, r.reason), (500, "snapshot 'missing' does not exist"))
        r = self.api("POST", "/nodes/%s/qemu/399/snapshot" % self.node,
                     data={"snapname": "xx"})
        self.assertEqual(r.status, 500)
        # RAM state of a "running" VM whose QEMU does not answer: the
        # snapshot fails and leaves no section, lock or state volume
        p = self.fake_running(305)
        upid = vm.snapshot.post(snapname="ram", vmstate=1)
        self.assertNotEqual(self.task_status(upid)["exitstatus"], "OK")
        self.assertEqual(self.snapnames(305), ["current"])
        self.assertNotIn("lock:", self.conf_text(305))
        self.assertEqual([f for f in os.listdir(os.path.join(self.path, "images", "305"))
                          if "-state-" in f], [])
        p.kill()
        p.wait()
        # a locked VM
        with open(os.path.join(self.daemon.root, "etc", "qemu-server", "305.conf"), "a") as f:
            f.write("lock: backup\n")
        r = self.api("POST", "/nodes/%s/qemu/305/snapshot" % self.node,
                     data={"snapname": "xx"})
        self.assertEqual((r.status, r.reason), (500, "VM is locked (backup)"))
        self.daemon.root_call("PUT", "/nodes/%s/qemu/305/config" % self.node, delete="lock")
        # a template
        self.assertIsNone(vm.config.put(template=1))
        r = self.api("POST", "/nodes/%s/qemu/305/snapshot" % self.node,
                     data={"snapname": "xx"})
        self.assertEqual(r.status, 500)
        self.assertIn("template", r.reason)

    def test_permissions(self):
        """VM.Audit lists, VM.Snapshot takes and deletes, VM.Snapshot.Rollback
        rolls back."""
        self.create(306, name="p", memory=512, scsi0="vms:1,format=qcow2", kvm=0)
        self.ok(self.vm(306).snapshot.post(snapname="base"))
        pw = secrets.token_urlsafe(12)
        self.admin.access.users.post(userid="snapaud@pve", password=pw)
        self.admin.access.acl.put(path="/vms/306", roles="PVEAuditor", users="snapaud@pve")
        aud = self.daemon.proxmoxer("snapaud@pve", pw).nodes(self.node).qemu(306)
        self.assertEqual([s["name"] for s in aud.snapshot.get()], ["base", "current"])
        self.assert_status(403, aud.snapshot.post, snapname="xx")
        self.assert_status(403, aud.snapshot("base").delete)
        self.assert_status(403, aud.snapshot("base").rollback.post)
        # PVEVMAdmin has VM.Snapshot; VM.Snapshot.Rollback alone rolls back only
        self.admin.access.users.post(userid="snapvm@pve", password=pw)
        self.admin.access.acl.put(path="/vms/306", roles="PVEVMAdmin", users="snapvm@pve")
        usr = self.daemon.proxmoxer("snapvm@pve", pw).nodes(self.node).qemu(306)
        self.ok(usr.snapshot.post(snapname="mine"))
        self.admin.access.roles.post(roleid="SnapRollback", privs="VM.Audit,VM.Snapshot.Rollback")
        self.admin.access.users.post(userid="snaprb@pve", password=pw)
        self.admin.access.acl.put(path="/vms/306", roles="SnapRollback", users="snaprb@pve")
        rb = self.daemon.proxmoxer("snaprb@pve", pw).nodes(self.node).qemu(306)
        self.ok(rb.snapshot("mine").rollback.post())
        self.assert_status(403, rb.snapshot("mine").delete)
        self.assert_status(403, rb.snapshot.post, snapname="other")
        self.ok(usr.snapshot("mine").delete())

if __name__ == "__main__":
    ctvmtest.main()
