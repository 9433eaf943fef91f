#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""A VM's disks through the API: resize (a task in PVE 8+, grow only).

The daemon and helpers of test_vm_snapshot.py (a dir storage, a btrfs one
when the host can loop-mount it).  A stopped VM's qcow2 and raw disks grow
by `+1G` and to an absolute size; the volume and the drive's size= follow.
Refusals with Proxmox's words: shrinking, a missing disk, a cdrom, a bad
size, a stale digest, a locked VM; VM.Config.Disk without
Datastore.AllocateSpace on the disk's storage is 403.
"""

import os
import secrets
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_vm_snapshot import VmTestBase  # noqa: E402

GIB = 1 << 30


class VmDiskTest(VmTestBase):

    def vsize(self, path):
        out = subprocess.run(["qemu-img", "info", "--output=json", path], capture_output=True,
                             text=True, check=True).stdout
        import json
        return json.loads(out)["virtual-size"]

    def resize(self, vmid, **kw):
        upid = self.vm(vmid).resize.put(**kw)
        self.assertIn(":resize:%d:" % vmid, upid)
        return upid

    def check_grow(self, vmid, storage, spath, opts):
        self.create(vmid, name="r", memory=512, scsi0="%s:1%s" % (storage, opts),
                    ide2="none,media=cdrom", kvm=0)
        conf = self.vm(vmid).config.get()
        path = self.disk_path(vmid, conf["scsi0"], spath)
        self.assertEqual(self.vsize(path), GIB)
        self.ok(self.resize(vmid, disk="scsi0", size="+1G"))
        self.assertEqual(self.vsize(path), 2 * GIB)
        self.assertIn("size=2G", self.vm(vmid).config.get()["scsi0"])
        self.ok(self.resize(vmid, disk="scsi0", size="3G"))
        self.assertEqual(self.vsize(path), 3 * GIB)
        self.assertIn("size=3G", self.vm(vmid).config.get()["scsi0"])
        # the same size: nothing to do
        self.ok(self.resize(vmid, disk="scsi0", size="3G"))
        # shrinking, in the task (the size is the volume's, read there)
        self.failed(self.resize(vmid, disk="scsi0", size="2G"),
                    "shrinking disks is not supported")
        self.assertEqual(self.vsize(path), 3 * GIB)

    def test_grow_qcow2_on_dir(self):
        self.check_grow(400, "vms", self.path, ",format=qcow2")

    def test_grow_raw_on_dir(self):
        self.check_grow(401, "vms", self.path, ",format=raw")

    def test_grow_raw_on_btrfs(self):
        if not self.bpath:
            self.skipTest("no btrfs here")
        self.check_grow(402, "bvms", self.bpath, "")

    def test_resize_refusals(self):
        self.create(403, name="x", memory=512, scsi0="vms:1", ide2="none,media=cdrom", kvm=0)
        base = "/nodes/%s/qemu/403/resize" % self.node
        r = self.api("PUT", base, data={"disk": "scsi5", "size": "+1G"})
        self.assertEqual((r.status, r.reason), (500, "disk 'scsi5' does not exist"))
        r = self.api("PUT", base, data={"disk": "ide2", "size": "+1G"})
        self.assertEqual((r.status, r.reason), (500, "you can't resize a cdrom"))
        for bad in ("1X", "-1G", "+", "", "1.G"):
            r = self.api("PUT", base, data={"disk": "scsi0", "size": bad})
            self.assertEqual(r.status, 400, bad)
        r = self.api("PUT", base, data={"disk": "scsi0", "size": "+1G", "digest": "0" * 40})
        self.assertEqual(r.status, 500)
        self.assertIn("detected modified configuration", r.reason)
        r = self.api("PUT", "/nodes/%s/qemu/499/resize" % self.node,
                     data={"disk": "scsi0", "size": "+1G"})
        self.assertEqual(r.status, 500)
        with open(os.path.join(self.daemon.root, "etc", "qemu-server", "403.conf"), "a") as f:
            f.write("lock: backup\n")
        r = self.api("PUT", base, data={"disk": "scsi0", "size": "+1G"})
        self.assertEqual((r.status, r.reason), (500, "VM is locked (backup)"))
        self.daemon.root_call("PUT", "/nodes/%s/qemu/403/config" % self.node, delete="lock")

    def test_resize_permissions(self):
        self.create(404, name="p", memory=512, scsi0="vms:1", kvm=0)
        pw = secrets.token_urlsafe(12)
        self.admin.access.users.post(userid="disku@pve", password=pw)
        self.admin.access.roles.post(roleid="DiskOnly", privs="VM.Audit,VM.Config.Disk")
        self.admin.access.acl.put(path="/vms/404", roles="DiskOnly", users="disku@pve")
        u = self.daemon.proxmoxer("disku@pve", pw).nodes(self.node).qemu(404)
        self.assert_status(403, u.resize.put, disk="scsi0", size="+1G")
        self.admin.access.roles.post(roleid="SpaceOnly", privs="Datastore.AllocateSpace")
        self.admin.access.acl.put(path="/storage/vms", roles="SpaceOnly", users="disku@pve")
        self.ok(u.resize.put(disk="scsi0", size="+1G"))


if __name__ == "__main__":
    unittest.main()
