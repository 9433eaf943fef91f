#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""A VM's disks through the API: resize (a task in PVE 8+, grow only),
template (disks become base volumes), clone (full to any storage and
format, linked from a template).

The daemon and helpers of test_vm_snapshot.py (a dir storage, a btrfs one
when the host can loop-mount it).  A stopped VM's qcow2 and raw disks grow
by `+1G` and to an absolute size; the volume and the drive's size= follow.
Refusals with Proxmox's words: shrinking, a missing disk, a cdrom, a bad
size, a stale digest, a locked VM; VM.Config.Disk without
Datastore.AllocateSpace on the disk's storage is 403.  A template's disks
are base-N-disk-M volumes and it cannot start; a linked clone's disk is a
child of the base (which then cannot be freed); a full clone copies the
data byte for byte (dir qcow2 -> dir raw, dir -> btrfs); the clone has new
MACs, the given name, no snapshots.  Refusals: a running source, a used
new id, a linked clone of a non-template, target on another node, a
missing VM.Allocate on the new id.  A failed clone leaves no config and
no volume.
"""

import os
import secrets
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ctvmtest  # noqa: E402
from test_vm_snapshot import VmTestBase  # noqa: E402
from test_volume_api import guest_bytes, guest_write  # noqa: E402

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
        for bad in ("1X", "-1G", "+", "", "1.G", "129T", "+999999999999T"):
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

    # -- template and clone -------------------------------------------------

    def images(self, vmid, spath=None):
        d = os.path.join(spath or self.path, "images", str(vmid))
        return sorted(os.listdir(d)) if os.path.isdir(d) else []

    def test_template_and_linked_clone(self):
        self.create(410, name="tpl", memory=512, scsi0="vms:1,format=qcow2",
                    net0="virtio,bridge=vmbr0", kvm=0)
        path = self.disk_path(410, self.vm(410).config.get()["scsi0"], self.path)
        guest_write(path, "qcow2", 0, 0x33)
        data = guest_bytes(path, "qcow2")
        upid = self.vm(410).template.post()
        self.assertIn(":qmtemplate:410:", upid)
        self.ok(upid)
        conf = self.vm(410).config.get()
        self.assertEqual(conf["template"], 1)
        self.assertRegex(conf["scsi0"], r"^vms:410/base-410-disk-0\.qcow2,")
        self.assertEqual(self.images(410), ["base-410-disk-0.qcow2"])
        r = self.api("POST", "/nodes/%s/qemu/410/status/start" % self.node)
        self.assertEqual((r.status, r.reason), (500, "you can't start a vm if it's a template"))
        r = self.api("POST", "/nodes/%s/qemu/410/template" % self.node)
        self.assertEqual((r.status, r.reason), (500, "you can't convert a template to a template"))

        # linked clone (the default for a template)
        upid = self.vm(410).clone.post(newid=411, name="linked")
        self.assertIn(":qmclone:410:", upid)
        self.ok(upid)
        self.addCleanup(self.destroy_quietly, 411)
        c = self.vm(411).config.get()
        self.assertEqual(c["name"], "linked")
        self.assertNotIn("template", c)
        self.assertRegex(c["scsi0"], r"^vms:410/base-410-disk-0\.qcow2/411/vm-411-disk-0\.qcow2,")
        self.assertNotEqual(c["net0"], conf["net0"])
        self.assertRegex(c["net0"], r"^virtio=BC:24:11:")
        cpath = os.path.join(self.path, "images", "411", "vm-411-disk-0.qcow2")
        self.assertEqual(guest_bytes(cpath, "qcow2"), data)
        # storage/format only for full clones
        r = self.api("POST", "/nodes/%s/qemu/410/clone" % self.node,
                     data={"newid": "412", "full": "0", "storage": "vms"})
        self.assertEqual(r.status, 400)

        # full clone of the template into raw
        self.ok(self.vm(410).clone.post(newid=413, full=1, format="raw"))
        self.addCleanup(self.destroy_quietly, 413)
        c = self.vm(413).config.get()
        self.assertEqual(c["name"], "Copy-of-VM-tpl")
        self.assertRegex(c["scsi0"], r"^vms:413/vm-413-disk-0\.raw,")
        self.assertEqual(guest_bytes(os.path.join(self.path, "images", "413",
                                                  "vm-413-disk-0.raw"), "raw"), data)

    def test_full_clone(self):
        self.create(420, name="src", memory=512, scsi0="vms:1,format=qcow2", kvm=0)
        self.ok(self.vm(420).snapshot.post(snapname="snap1"))
        path = self.disk_path(420, self.vm(420).config.get()["scsi0"], self.path)
        guest_write(path, "qcow2", 4096, 0x44)
        data = guest_bytes(path, "qcow2")
        upid = self.vm(420).clone.post(newid=421, name="copy", description="a copy")
        self.ok(upid)
        self.addCleanup(self.destroy_quietly, 421)
        c = self.vm(421).config.get()
        self.assertEqual((c["name"], c["description"]), ("copy", "a copy"))
        self.assertRegex(c["scsi0"], r"^vms:421/vm-421-disk-0\.qcow2,")
        self.assertNotIn("parent", c)
        self.assertNotIn("[snap1]", self.conf_text(421))
        self.assertEqual(guest_bytes(os.path.join(self.path, "images", "421",
                                                  "vm-421-disk-0.qcow2"), "qcow2"), data)
        self.assertNotIn("lock", self.vm(420).config.get())
        if self.bpath:
            self.ok(self.vm(420).clone.post(newid=422, storage="bvms"))
            self.addCleanup(self.destroy_quietly, 422)
            c = self.vm(422).config.get()
            self.assertRegex(c["scsi0"], r"^bvms:422/vm-422-disk-0\.raw,")
            self.assertEqual(guest_bytes(self.disk_path(422, c["scsi0"], self.bpath), "raw"),
                             data)

    def test_clone_from_snapshot(self):
        """snapname: the snapshot's config and its disks as they were then (a
        qcow2 on dir: qemu-img reads the internal snapshot); a snapshot that
        does not exist or a disk the storage cannot copy from a snapshot is
        refused with PVE's words, before any task."""
        self.create(450, name="src", memory=512, scsi0="vms:1,format=qcow2", kvm=0)
        path = self.disk_path(450, self.vm(450).config.get()["scsi0"], self.path)
        guest_write(path, "qcow2", 4096, 0x44)
        then = guest_bytes(path, "qcow2")
        self.ok(self.vm(450).snapshot.post(snapname="snap1"))
        guest_write(path, "qcow2", 4096, 0x55)
        self.assertNotEqual(guest_bytes(path, "qcow2"), then)
        self.vm(450).config.put(memory=1024)
        self.ok(self.vm(450).clone.post(newid=451, snapname="snap1", format="raw"))
        self.addCleanup(self.destroy_quietly, 451)
        c = self.vm(451).config.get()
        self.assertEqual((str(c["memory"]), c["name"]), ("512", "Copy-of-VM-src"))
        self.assertRegex(c["scsi0"], r"^vms:451/vm-451-disk-0\.raw,")
        for k in ("snaptime", "parent", "vmstate"):
            self.assertNotIn(k, c)
        self.assertEqual(guest_bytes(os.path.join(self.path, "images", "451",
                                                  "vm-451-disk-0.raw"), "raw"), then)
        self.assertNotIn("lock", self.vm(450).config.get())

        base = "/nodes/%s/qemu/450/clone" % self.node
        r = self.api("POST", base, data={"newid": "452", "snapname": "nosuch"})
        self.assertEqual((r.status, r.reason), (500, "snapshot 'nosuch' does not exist"))
        self.assertFalse(os.path.exists(os.path.join(self.daemon.root, "etc", "qemu-server",
                                                     "452.conf")))
        self.assertEqual(self.images(452), [])

    def test_clone_refusals(self):
        self.create(430, name="r", memory=512, scsi0="vms:1", kvm=0)
        self.create(431, name="taken", memory=512, kvm=0)
        base = "/nodes/%s/qemu/430/clone" % self.node
        r = self.api("POST", base, data={"newid": "431"})
        self.assertEqual((r.status, r.reason), (500, "VM 431 already exists on node '%s'"
                                                % self.node))
        r = self.api("POST", base, data={"newid": "432", "full": "0"})
        self.assertEqual(r.status, 500)
        self.assertIn("linked clone feature is only available for templates", r.reason)
        r = self.api("POST", base, data={"newid": "432", "target": "othernode"})
        self.assertEqual(r.status, 400)
        self.assertIn("target", r.json()["errors"])
        # a running VM is mirrored live (test_vm_boot.py), not a snapshot of it
        p = self.fake_running(430)
        r = self.api("POST", base, data={"newid": "432", "snapname": "s1"})
        self.assertEqual(r.status, 500)
        self.assertIn("is running", r.reason)
        p.kill()
        p.wait()
        # swtpm holds a running VM's TPM state: not mirrored (PVE's words)
        self.create(434, name="tpm", memory=512, tpmstate0="vms:1,version=v2.0", kvm=0)
        p = self.fake_running(434)
        self.failed(self.vm(434).clone.post(newid=435),
                    "cannot move TPM state while VM is running")
        p.kill()
        p.wait()
        self.assertEqual(self.images(435), [])
        self.assertFalse(os.path.exists(os.path.join(self.daemon.root, "etc", "qemu-server",
                                                     "435.conf")))
        # a storage that does not exist: the task fails, nothing stays
        upid = self.vm(430).clone.post(newid=433, storage="nosuch")
        st = self.task_status(upid)
        self.assertNotEqual(st["exitstatus"], "OK")
        self.assertFalse(os.path.exists(os.path.join(self.daemon.root, "etc", "qemu-server",
                                                     "433.conf")))
        self.assertEqual(self.images(433), [])
        self.assertNotIn("lock", self.vm(430).config.get())

    def test_clone_permissions(self):
        self.create(440, name="p", memory=512, scsi0="vms:1", kvm=0)
        pw = secrets.token_urlsafe(12)
        self.admin.access.users.post(userid="cloner@pve", password=pw)
        self.admin.access.acl.put(path="/vms/440", roles="PVETemplateUser", users="cloner@pve")
        u = self.daemon.proxmoxer("cloner@pve", pw).nodes(self.node).qemu(440)
        self.assert_status(403, u.clone.post, newid=441)
        self.admin.access.acl.put(path="/vms/441", roles="PVEVMAdmin", users="cloner@pve")
        self.assert_status(403, u.clone.post, newid=441)  # no space on vms
        self.admin.access.acl.put(path="/storage/vms", roles="PVEDatastoreUser",
                                  users="cloner@pve")
        self.ok(u.clone.post(newid=441))
        self.addCleanup(self.destroy_quietly, 441)
        self.assert_status(403, u.template.post)

    # -- move_disk and unlink -----------------------------------------------

    def test_move_disk(self):
        self.create(450, name="m", memory=512, scsi0="vms:1,format=qcow2", kvm=0)
        vm = self.vm(450)
        path = self.disk_path(450, vm.config.get()["scsi0"], self.path)
        guest_write(path, "qcow2", 0, 0x55)
        data = guest_bytes(path, "qcow2")
        base = "/nodes/%s/qemu/450/move_disk" % self.node
        r = self.api("POST", base, data={"disk": "scsi0", "storage": "vms", "format": "qcow2"})
        self.assertEqual((r.status, r.reason),
                         (500, "you can't move to the same storage with same format"))
        r = self.api("POST", base, data={"disk": "scsi3", "storage": "vms"})
        self.assertEqual((r.status, r.reason), (500, "disk 'scsi3' does not exist"))
        # to raw on the same storage: the source stays as unused0
        upid = vm.move_disk.post(disk="scsi0", storage="vms", format="raw")
        self.assertIn(":qmmove:450:", upid)
        self.ok(upid)
        conf = vm.config.get()
        self.assertRegex(conf["scsi0"], r"^vms:450/vm-450-disk-1\.raw,")
        self.assertEqual(conf["unused0"], "vms:450/vm-450-disk-0.qcow2")
        self.assertEqual(guest_bytes(os.path.join(self.path, "images", "450",
                                                  "vm-450-disk-1.raw"), "raw"), data)
        # the alias, with delete: the source goes
        self.ok(self.admin.nodes(self.node).qemu(450)("move-disk").post(
            disk="scsi0", storage="vms", format="qcow2", delete=1))
        conf = vm.config.get()
        self.assertRegex(conf["scsi0"], r"^vms:450/vm-450-disk-2\.qcow2,")
        self.assertNotIn("vm-450-disk-1.raw", self.images(450))
        if self.bpath:
            self.ok(vm.move_disk.post(disk="scsi0", storage="bvms", delete=1))
            conf = vm.config.get()
            self.assertRegex(conf["scsi0"], r"^bvms:450/vm-450-disk-0\.raw,")
            self.assertEqual(guest_bytes(self.disk_path(450, conf["scsi0"], self.bpath),
                                         "raw"), data)
        # with a snapshot the source cannot be deleted
        self.ok(vm.snapshot.post(snapname="keep"))
        r = self.api("POST", base, data={"disk": "scsi0", "storage": "vms", "format": "raw",
                                         "delete": "1"})
        self.assertEqual((r.status, r.reason),
                         (500, "you can't move a disk with snapshots and delete the source"))

    def test_foreign_volume_never_freed(self):
        """A volume of another VM that a config names is detached, never
        freed, by unlink force=1 or move_disk delete=1."""
        self.create(470, name="owner", memory=512, scsi0="vms:1,format=qcow2", kvm=0)
        self.create(471, name="borrower", memory=512, kvm=0)
        vol = self.vm(470).config.get()["scsi0"].split(",")[0]
        self.assertIsNone(self.vm(471).config.put(scsi1=vol, scsi2=vol))
        self.assertIsNone(self.vm(471).unlink.put(idlist="scsi1", force=1))
        self.assertIn("vm-470-disk-0.qcow2", self.images(470))
        self.assertEqual(self.vm(471).config.get()["unused0"], vol)
        self.ok(self.vm(471).move_disk.post(disk="scsi2", storage="vms", format="raw",
                                            delete=1))
        self.assertIn("vm-470-disk-0.qcow2", self.images(470))
        self.assertRegex(self.vm(471).config.get()["scsi2"], r"^vms:471/vm-471-disk-0\.raw")
        self.assertIsNone(self.vm(471).unlink.put(idlist="unused0", force=1))
        self.assertIn("vm-470-disk-0.qcow2", self.images(470))
        self.assertNotIn("unused0", self.vm(471).config.get())

    def test_delete_force(self):
        """PUT config delete=<disk> force=1 (PVE's vmconfig_delete_or_detach_drive
        with force: try_deallocate_drive): a volume the VM owns is freed
        instead of kept as unusedN, refused while a snapshot uses it; a
        foreign one only leaves the config.  While the VM runs the delete is
        pending as '!key' (pending: delete 2) and the next start frees it."""
        self.create(480, name="f", memory=64, scsi0="vms:1,format=qcow2",
                    scsi1="vms:1,format=qcow2", scsi2="vms:1,format=qcow2", kvm=0)
        self.create(481, name="other", memory=64, scsi0="vms:1,format=qcow2", kvm=0)
        vm = self.vm(480)
        self.assertEqual(len(self.images(480)), 3)
        self.assertIsNone(vm.config.put(delete="scsi1", force=1))
        conf = vm.config.get()
        self.assertNotIn("scsi1", conf)
        self.assertNotIn("unused0", conf)
        self.assertNotIn("vm-480-disk-1.qcow2", self.images(480))
        # without force: kept as unused0
        self.assertIsNone(vm.config.put(delete="scsi2"))
        self.assertRegex(vm.config.get()["unused0"], r"^vms:480/vm-480-disk-2\.qcow2")
        self.assertIn("vm-480-disk-2.qcow2", self.images(480))
        # a foreign volume only leaves the config
        other = self.vm(481).config.get()["scsi0"].split(",")[0]
        self.assertIsNone(vm.config.put(scsi3=other))
        self.assertIsNone(vm.config.put(delete="scsi3", force=1))
        self.assertNotIn("scsi3", vm.config.get())
        self.assertEqual(self.images(481), ["vm-481-disk-0.qcow2"])
        # a snapshot uses it: refused, nothing changes
        self.ok(vm.snapshot.post(snapname="s1"))
        text = self.conf_text(480)
        r = self.api("PUT", "/nodes/%s/qemu/480/config" % self.node,
                     data={"delete": "scsi0", "force": "1"})
        self.assertEqual((r.status, r.reason),
                         (500, "unable to delete 'vms:480/vm-480-disk-0.qcow2' - volume is "
                          "still in use (snapshot?)"))
        self.assertEqual(self.conf_text(480), text)
        self.assertIn("vm-480-disk-0.qcow2", self.images(480))
        self.ok(vm.snapshot("s1").delete())

        # freeing asks Datastore.AllocateSpace on the storage, as PVE's
        # try_deallocate_drive; a plain delete does not
        self.create(482, name="p", memory=64, scsi0="vms:1", scsi1="vms:1", kvm=0)
        pw = secrets.token_urlsafe(12)
        self.admin.access.users.post(userid="forceu@pve", password=pw)
        self.admin.access.roles.post(roleid="ForceDisk", privs="VM.Audit,VM.Config.Disk")
        self.admin.access.acl.put(path="/vms/482", roles="ForceDisk", users="forceu@pve")
        u = self.daemon.proxmoxer("forceu@pve", pw).nodes(self.node).qemu(482)
        self.assert_status(403, u.config.put, delete="scsi1", force=1)
        self.assertIn("scsi1", self.vm(482).config.get())
        self.assertIsNone(u.config.put(delete="scsi1"))
        self.assertIn("unused0", self.vm(482).config.get())

        # running, without disk hot-plugging: pending as '!scsi0', applied
        # (freed) by the next start
        if not os.access("/usr/bin/qemu-system-x86_64", os.X_OK):
            return
        vm.config.put(hotplug="network")
        self.ok(vm.status.start.post())
        try:
            self.assertIsNone(vm.config.put(delete="scsi0", force=1))
            self.assertIn("delete: !scsi0", self.conf_text(480))
            pend = {p["key"]: p for p in vm.pending.get()}
            self.assertEqual(pend["scsi0"]["delete"], 2)
            self.assertIn("vm-480-disk-0.qcow2", self.images(480))
        finally:
            self.ok(vm.status.stop.post())
        self.ok(vm.status.start.post())
        self.ok(vm.status.stop.post())
        conf = vm.config.get()
        self.assertNotIn("scsi0", conf)
        self.assertEqual(sorted(k for k in conf if k.startswith("unused")), ["unused0"])
        self.assertNotIn("vm-480-disk-0.qcow2", self.images(480))
        self.assertNotIn("[PENDING]", self.conf_text(480))

    def test_unlink(self):
        self.create(460, name="u", memory=512, scsi0="vms:1", scsi1="vms:1", scsi2="vms:1",
                    kvm=0)
        vm = self.vm(460)
        self.assertEqual(len(self.images(460)), 3)
        self.assertIsNone(vm.unlink.put(idlist="scsi1"))
        conf = vm.config.get()
        self.assertNotIn("scsi1", conf)
        self.assertRegex(conf["unused0"], r"^vms:460/vm-460-disk-1\.")
        self.assertEqual(len(self.images(460)), 3)
        self.assertIsNone(vm.unlink.put(idlist="scsi2,unused0", force=1))
        conf = vm.config.get()
        self.assertNotIn("scsi2", conf)
        self.assertNotIn("unused0", conf)
        self.assertEqual(len(self.images(460)), 1)
        p = self.fake_running(460)
        r = self.api("PUT", "/nodes/%s/qemu/460/unlink" % self.node, data={"idlist": "scsi0"})
        self.assertEqual(r.status, 500)
        p.kill()
        p.wait()

    def test_clone_from_snapshot_btrfs(self):
        """snapname with a raw disk on btrfs: the snapshot is a read-only
        subvolume, which the copy reads (PVE's BTRFSPlugin 'copy' with a
        snapname), to btrfs or to another storage; the clone has the bytes
        of the snapshot, not those written since, and the snapshot's config
        without its snapshot keys."""
        if not self.bpath:
            self.skipTest("no btrfs here")
        self.create(455, name="b", memory=512, scsi0="bvms:1", kvm=0)
        path = self.disk_path(455, self.vm(455).config.get()["scsi0"], self.bpath)
        guest_write(path, "raw", 4096, 0x44)
        self.ok(self.vm(455).snapshot.post(snapname="s1"))
        guest_write(path, "raw", 4096, 0x55)
        guest_write(path, "raw", 1 << 20, 0x66)
        self.assertIsNone(self.vm(455).config.put(memory=1024))

        def region(p, off):
            with open(p, "rb") as f:
                f.seek(off)
                return f.read(65536)

        self.ok(self.vm(455).clone.post(newid=456, snapname="s1"))
        self.addCleanup(self.destroy_quietly, 456)
        c = self.vm(456).config.get()
        self.assertEqual((str(c["memory"]), c["name"]), ("512", "Copy-of-VM-b"))
        self.assertRegex(c["scsi0"], r"^bvms:456/vm-456-disk-0\.raw,")
        for k in ("snaptime", "parent", "vmstate", "lock"):
            self.assertNotIn(k, c)
        self.assertNotIn("[s1]", self.conf_text(456))
        p = self.disk_path(456, c["scsi0"], self.bpath)
        self.assertEqual(region(p, 4096), b"\x44" * 65536)
        self.assertEqual(region(p, 1 << 20), b"\0" * 65536)
        self.assertEqual(os.path.getsize(p), GIB)
        # to a dir storage, as qcow2
        self.ok(self.vm(455).clone.post(newid=457, snapname="s1", storage="vms",
                                        format="qcow2"))
        self.addCleanup(self.destroy_quietly, 457)
        c = self.vm(457).config.get()
        self.assertRegex(c["scsi0"], r"^vms:457/vm-457-disk-0\.qcow2,")
        data = guest_bytes(self.disk_path(457, c["scsi0"], self.path), "qcow2")
        self.assertEqual(data[4096:4096 + 65536], b"\x44" * 65536)
        self.assertEqual(data[1 << 20:(1 << 20) + 65536], b"\0" * 65536)
        # the source is as it was, its snapshot kept
        self.assertEqual(region(path, 4096), b"\x55" * 65536)
        self.assertEqual(self.snapnames(455), ["s1", "current"])
        self.assertNotIn("lock", self.vm(455).config.get())

    def test_clone_from_snapshot_refused(self):
        """A snapshot whose disk its storage cannot copy from (a raw image
        on dir has no snapshots, so the section is written here by hand) is
        refused with PVE's words before any task; nothing is made."""
        self.create(458, name="r", memory=512, scsi0="vms:1,format=raw", kvm=0)
        disk = self.vm(458).config.get()["scsi0"]
        cpath = os.path.join(self.daemon.root, "etc", "qemu-server", "458.conf")
        text = self.conf_text(458)
        with open(cpath + ".tmp", "w") as f:
            f.write(text.rstrip("\n") + "\nparent: s1\n\n[s1]\nmemory: 512\nname: r\n"
                    "scsi0: %s\nsnaptime: 1700000000\n" % disk)
        os.rename(cpath + ".tmp", cpath)
        self.assertEqual(self.snapnames(458), ["s1", "current"])
        r = self.api("POST", "/nodes/%s/qemu/458/clone" % self.node,
                     data={"newid": "459", "snapname": "s1"})
        self.assertEqual((r.status, r.reason),
                         (500, "Full clone feature is not supported for drive 'scsi0'"))
        self.assertFalse(os.path.exists(os.path.join(self.daemon.root, "etc", "qemu-server",
                                                     "459.conf")))
        self.assertEqual(self.images(459), [])


if __name__ == "__main__":
    ctvmtest.main()
