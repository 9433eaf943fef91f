#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""Volume snapshots, rollback, templates, linked clones and copies through the API.

One daemon in a temporary root with a dir storage and, when this host can
loop-mount one, a btrfs storage on a 512 MiB image.  A throwaway host account
with Administrator on / allocates volumes, writes guest data into them as root
(qemu-io, or the raw file), and drives every call of api-storage-volume.c:
snapshot, overwrite, rollback, the data is back; list and delete snapshots;
template and linked clone; copy dir -> btrfs and within dir, byte for byte.
Task logs show the commands.  A pve user with PVEVMUser on /vms/100 only gets
403 everywhere (also for names that do not exist: 403 comes first); bad
snapshot names and targets that could leave the storage are 400.
"""

import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
from urllib.parse import quote

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ctvmtest  # noqa: E402

from proxmoxer.core import ResourceException  # noqa: E402


def mount_btrfs(root):
    """A loop-mounted btrfs under root; its mount point, or None when this
    host cannot (no mkfs.btrfs, no loop devices, no btrfs in the kernel)."""
    if not shutil.which("mkfs.btrfs") or not os.path.exists("/dev/loop-control"):
        return None
    img = os.path.join(root, "btrfs.img")
    mnt = os.path.join(root, "btrfs")
    os.makedirs(mnt)
    with open(img, "wb") as f:
        f.truncate(512 << 20)
    if subprocess.run(["mkfs.btrfs", "-q", "-f", "--", img],
                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode:
        return None
    if subprocess.run(["mount", "-o", "loop", "--", img, mnt],
                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode:
        return None
    return mnt


def guest_bytes(path, fmt):
    """What a guest sees in the image at path: its whole content as raw."""
    if fmt == "raw":
        with open(path, "rb") as f:
            return f.read()
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "x.raw")
        subprocess.run(["qemu-img", "convert", "-f", fmt, "-O", "raw", path, out],
                       check=True)
        with open(out, "rb") as f:
            return f.read()


def guest_write(path, fmt, offset, byte, length=65536):
    """Writes length bytes of byte at offset, as a guest would."""
    if fmt == "raw":
        with open(path, "r+b") as f:
            f.seek(offset)
            f.write(bytes([byte]) * length)
        return
    subprocess.run(["qemu-io", "-f", fmt, "-c",
                    "write -P 0x%02x %d %d" % (byte, offset, length), path],
                   check=True, stdout=subprocess.DEVNULL)


class VolumeApi(ctvmtest.AdminDaemonTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.path = os.path.join(cls.daemon.root, "srv", "vols")
        # a storage's path is root@pam's to set
        cls.daemon.root_call("POST", "/storage", storage="vols", type="dir", path=cls.path,
                             content="images,rootdir")
        cls.bpath = None
        mnt = mount_btrfs(cls.daemon.root)
        if mnt:
            cls.addClassCleanup(subprocess.run, ["umount", mnt])
            cls.bpath = os.path.join(mnt, "store")
            cls.daemon.root_call("POST", "/storage", storage="bvols", type="btrfs",
                                 path=cls.bpath, content="images,rootdir")

    # -- helpers ------------------------------------------------------------

    def stor(self, sid="vols", api=None):
        return (api or self.admin).nodes(self.node).storage(sid)

    def wait_task(self, upid, ok=True):
        st = self.task_status(upid)
        if ok:
            self.assertEqual(st["exitstatus"], "OK", self.task_log(upid))
        return st

    def task_log(self, upid):
        lines = self.admin.nodes(self.node).tasks(upid).log.get(limit=500)
        return "\n".join(line["t"] for line in lines)

    def vol_path(self, volid, sid="vols"):
        return self.stor(sid).content(volid).get()["path"]

    def alloc(self, vmid, fmt, sid="vols", size="4M"):
        ext = "raw" if fmt == "raw" else fmt
        vols = [v["volid"] for v in self.stor(sid).content.get(vmid=vmid)]
        name = "vm-%d-disk-%d.%s" % (vmid, len(vols), ext)
        return self.stor(sid).content.post(vmid=vmid, filename=name, size=size,
                                           format=fmt)

    def free(self, volid, sid="vols"):
        self.wait_task(self.stor(sid).content(volid).delete())

    # -- snapshots ----------------------------------------------------------

    def snapshot_cycle(self, sid, fmt, vmid, create_cmd, rollback_cmd):
        vol = self.alloc(vmid, fmt, sid)
        path = self.vol_path(vol, sid)
        snaps = self.stor(sid).snapshots(vol)
        try:
            self.assertEqual(snaps.get(), [])
            guest_write(path, fmt, 0, 0x11)
            before = guest_bytes(path, fmt)

            upid = snaps.post(snapname="first")
            self.assertIn(":imgsnapshot:%s:" % sid, upid)
            self.wait_task(upid)
            self.assertIn(create_cmd, self.task_log(upid))
            listed = snaps.get()
            self.assertEqual([s["name"] for s in listed], ["first"])
            self.assertIsInstance(listed[0]["ctime"], int)
            self.assertLessEqual(abs(listed[0]["ctime"] - time.time()), 60)

            guest_write(path, fmt, 0, 0x22)
            guest_write(path, fmt, 1 << 20, 0x33)
            self.assertNotEqual(guest_bytes(path, fmt), before)
            self.wait_task(snaps.post(snapname="Second_2"))
            self.assertEqual([s["name"] for s in snaps.get()], ["first", "Second_2"])

            upid = self.stor(sid).rollback(vol).post(snapname="first")
            self.assertIn(":imgrollback:%s:" % sid, upid)
            self.wait_task(upid)
            self.assertIn(rollback_cmd, self.task_log(upid))
            self.assertEqual(guest_bytes(self.vol_path(vol, sid), fmt), before)
            # destroy-newer only matters where rollback is to the latest
            # snapshot only (zfspool); here the newer one stays
            self.wait_task(self.stor(sid).rollback(vol).post(snapname="first",
                                                             **{"destroy-newer": 1}))
            self.assertEqual([s["name"] for s in snaps.get()], ["first", "Second_2"])

            # unknown snapshots: 404 before any task
            self.assert_status(404, self.stor(sid).rollback(vol).post, snapname="nope")
            self.assert_status(404, snaps.delete, snapname="nope")
            # names outside PVE's grammar
            for bad in ("1abc", "a", "-x", "a" * 41, "a.b", "a b"):
                self.assert_status(400, snaps.post, snapname=bad)
                self.assert_status(400, self.stor(sid).rollback(vol).post, snapname=bad)

            for name in ("Second_2", "first"):
                upid = snaps.delete(snapname=name)
                self.assertIn(":imgdelsnapshot:%s:" % sid, upid)
                self.wait_task(upid)
            self.assertEqual(snaps.get(), [])
        finally:
            self.free(vol, sid)

    def test_snapshot_dir_qcow2(self):
        self.snapshot_cycle("vols", "qcow2", 100, "qemu-img snapshot -c first",
                            "qemu-img snapshot -a first")

    def test_snapshot_btrfs(self):
        if not self.bpath:
            self.skipTest("no btrfs here")
        self.snapshot_cycle("bvols", "raw", 100, "create snapshot", "rollback")

    def test_snapshot_raw_dir(self):
        vol = self.alloc(100, "raw")
        try:
            # raw has no snapshots: an empty list, and a task that says why
            self.assertEqual(self.stor().snapshots(vol).get(), [])
            st = self.wait_task(self.stor().snapshots(vol).post(snapname="s1"), ok=False)
            self.assertIn("no snapshots", st["exitstatus"])
        finally:
            self.free(vol)
        self.assert_status(404, self.stor().snapshots(vol).get)

    # -- template and linked clone ------------------------------------------

    def template_clone(self, sid, fmt):
        vol = self.alloc(102, fmt, sid)
        path = self.vol_path(vol, sid)
        guest_write(path, fmt, 4096, 0x44)
        data = guest_bytes(path, fmt)
        base = self.stor(sid).template(vol).post()
        self.assertEqual(base, vol.replace("/vm-102-", "/base-102-"))
        self.assert_status(404, self.stor(sid).content(vol).get)
        clone = self.stor(sid).clone(base).post(vmid=103)
        try:
            info = [v for v in self.stor(sid).content.get(vmid=103)]
            self.assertEqual([v["volid"] for v in info], [clone])
            self.assertIn("parent", info[0])
            cpath = self.vol_path(clone, sid)
            self.assertEqual(guest_bytes(cpath, info[0]["format"]), data)
            # a base is a base once (dir answers 500, btrfs 400, as PVE's plugins)
            with self.assertRaises(ResourceException) as cm:
                self.stor(sid).template(base).post()
            self.assertIn(cm.exception.status_code, (400, 500))
            # the base stays while its clone lives
            st = self.wait_task(self.stor(sid).content(base).delete(), ok=False)
            self.assertNotEqual(st["exitstatus"], "OK")
        finally:
            self.free(clone, sid)
            self.free(base, sid)

    def test_template_clone_dir(self):
        self.template_clone("vols", "qcow2")

    def test_template_clone_btrfs(self):
        if not self.bpath:
            self.skipTest("no btrfs here")
        self.template_clone("bvols", "raw")

    # -- copy ---------------------------------------------------------------

    def test_copy(self):
        src = self.alloc(104, "qcow2", size="8M")
        spath = self.vol_path(src)
        guest_write(spath, "qcow2", 0, 0x55)
        guest_write(spath, "qcow2", 5 << 20, 0x66)
        data = guest_bytes(spath, "qcow2")
        made = []
        try:
            # within the storage, by volume name, to raw
            upid = self.stor().content(src).post(target="105/vm-105-disk-0.raw")
            self.assertIn(":imgcopy:vols:", upid)
            self.wait_task(upid)
            made.append(("vols", "vols:105/vm-105-disk-0.raw"))
            self.assertIn("qemu-img convert -n", self.task_log(upid))
            self.assertEqual(guest_bytes(self.vol_path(made[-1][1]), "raw"), data)
            # an existing target: refused, untouched
            e = self.assert_status(500, self.stor().content(src).post,
                                   target="vols:105/vm-105-disk-0.raw")
            self.assertIn("already exists", str(e))
            # other nodes: not yet
            self.assert_status(400, self.stor().content(src).post,
                               target="106/vm-106-disk-0.raw", target_node="othernode")
            self.assert_status(400, self.stor().content(src).post, target=src)

            if self.bpath:
                upid = self.stor().content(src).post(target="bvols:106/vm-106-disk-0.raw")
                self.wait_task(upid)
                made.append(("bvols", "bvols:106/vm-106-disk-0.raw"))
                log = self.task_log(upid)
                self.assertIn("qemu-img convert -n --target-is-zero", log)
                self.assertIn("-f qcow2 -O raw", log)
                bpath = self.vol_path(made[-1][1], "bvols")
                self.assertTrue(bpath.startswith(self.bpath))
                self.assertEqual(guest_bytes(bpath, "raw"), data)
                # and back, as qcow2
                upid = self.stor("bvols").content(made[-1][1]).post(
                    target="vols:107/vm-107-disk-0.qcow2")
                self.wait_task(upid)
                made.append(("vols", "vols:107/vm-107-disk-0.qcow2"))
                self.assertEqual(guest_bytes(self.vol_path(made[-1][1]), "qcow2"), data)
        finally:
            for sid, v in made:
                self.free(v, sid)
            self.free(src)

    def test_copy_subvol(self):
        """A container volume through the API: owners, modes, hard links, holes."""
        if not self.bpath:
            self.skipTest("no btrfs loop mount here")
        src = self.stor().content.post(vmid=120, filename="subvol-120-disk-0.subvol",
                                       size="0", format="subvol")
        root = self.vol_path(src)
        os.makedirs(os.path.join(root, "etc"))
        with open(os.path.join(root, "etc", "hostname"), "w") as f:
            f.write("ct120\n")
        os.chown(os.path.join(root, "etc", "hostname"), 100000, 100005)
        os.chmod(os.path.join(root, "etc", "hostname"), 0o640)
        os.link(os.path.join(root, "etc", "hostname"), os.path.join(root, "etc", "hn"))
        with open(os.path.join(root, "sparse"), "wb") as f:
            f.truncate(64 << 20)
            f.write(b"x")
        made = None
        try:
            upid = self.stor().content(src).post(target="bvols:121/subvol-121-disk-0.subvol")
            self.wait_task(upid)
            made = "bvols:121/subvol-121-disk-0.subvol"
            self.assertIn("rsync", self.task_log(upid))
            dst = self.vol_path(made, "bvols")
            self.assertTrue(dst.startswith(self.bpath))
            st = os.stat(os.path.join(dst, "etc", "hostname"))
            self.assertEqual((st.st_uid, st.st_gid, st.st_mode & 0o7777, st.st_nlink),
                             (100000, 100005, 0o640, 2))
            self.assertEqual(st.st_ino, os.stat(os.path.join(dst, "etc", "hn")).st_ino)
            with open(os.path.join(dst, "etc", "hostname")) as f:
                self.assertEqual(f.read(), "ct120\n")
            sp = os.stat(os.path.join(dst, "sparse"))
            self.assertEqual(sp.st_size, 64 << 20)
            self.assertLess(sp.st_blocks * 512, 1 << 20)  # the hole stayed a hole
        finally:
            if made:
                self.free(made, "bvols")
            self.free(src)

    def test_z_restart_frees_half_copies(self):
        """A copy's target recorded as being filled, whose worker is gone (no
        lock on the record), is freed when ctvmd starts; a record still
        locked by a running copy is left alone."""
        import fcntl
        half = self.alloc(130, "raw")
        busy = self.alloc(131, "raw")
        pending = os.path.join(self.daemon.root, "lib", "pending")
        os.makedirs(pending, exist_ok=True)
        with open(os.path.join(pending, "copy-test1"), "w") as f:
            f.write("vols\n%s\n" % half.split(":", 1)[1])
        held = open(os.path.join(pending, "copy-test2"), "w")
        self.addCleanup(held.close)
        fcntl.flock(held, fcntl.LOCK_EX)
        held.write("vols\n%s\n" % busy.split(":", 1)[1])
        held.flush()
        self.daemon.stop()
        self.daemon.start()
        cls = type(self)
        cls.admin = cls.daemon.proxmoxer(cls.acct.userid, cls.acct.password)
        cls.ticket, cls.csrf = cls.daemon.login(cls.acct.userid, cls.acct.password)
        vols = [v["volid"] for v in self.stor().content.get()]
        self.assertNotIn(half, vols)
        self.assertIn(busy, vols)
        self.assertEqual(sorted(os.listdir(pending)), ["copy-test2"])
        self.assertIn("left half-written by an interrupted copy",
                      open(os.path.join(self.daemon.root, "log", "ctvmd.log")).read())
        held.close()
        os.unlink(os.path.join(pending, "copy-test2"))
        self.free(busy)

    def test_copy_traversal_refused(self):
        src = self.alloc(108, "raw")
        try:
            for t in ("vols:../../etc/x.raw", "../x.raw", "108/../../../x.raw",
                      "vols:/etc/passwd", "/etc/passwd", "vols:108/vm-108-disk-9.raw/../x",
                      "iso/x.iso", "nosuch-:1/vm-1-disk-0.raw", "vols:108/base-108-disk-9.raw",
                      "vols:108/vm-108-disk-9.raw\n"):
                self.assert_status(400, self.stor().content(src).post, target=t)
            # the volume itself, by a path that leaves the storage
            r = self.daemon.http("POST", "/nodes/%s/storage/vols/content/%s" % (
                self.node, quote("vols:../../etc/passwd", safe="")), ticket=self.ticket,
                csrf=self.csrf, data={"target": "109/vm-109-disk-0.raw"})
            self.assertEqual(r.status, 400, r.reason)
            for path in ("snapshots", "rollback", "template", "clone"):
                r = self.daemon.http("POST", "/nodes/%s/storage/vols/%s/%s" % (
                    self.node, path, quote("vols:100/../../x.raw", safe="")),
                    ticket=self.ticket, csrf=self.csrf,
                    data={"snapname": "s1", "vmid": "101"} if path != "template" else {})
                self.assertEqual(r.status, 400, "%s: %s" % (path, r.reason))
            self.assertEqual(os.listdir(os.path.join(self.path, "images")), ["108"])
        finally:
            self.free(src)

    # -- permissions --------------------------------------------------------

    def test_limited_user(self):
        pw = "pw-" + secrets.token_urlsafe(12)
        self.admin.access.users.post(userid="vmuser@pve", password=pw)
        self.admin.access.acl.put(path="/vms/100", roles="PVEVMUser", users="vmuser@pve")
        api = self.daemon.proxmoxer("vmuser@pve", pw)
        vol = self.alloc(100, "qcow2")
        base = None
        try:
            for v in (vol, "vols:100/vm-100-disk-77.qcow2"):  # existing or not: 403
                self.assert_status(403, self.stor(api=api).snapshots(v).get)
                self.assert_status(403, self.stor(api=api).snapshots(v).post, snapname="s1")
                # a name that is no pve-configid: the schema refuses it first,
                # for anyone (nothing about the volume is told)
                self.assert_status(400, self.stor(api=api).snapshots(v).post, snapname="1")
                self.assert_status(403, self.stor(api=api).snapshots(v).delete,
                                   snapname="s1")
                self.assert_status(403, self.stor(api=api).rollback(v).post, snapname="s1")
                self.assert_status(403, self.stor(api=api).template(v).post)
                self.assert_status(403, self.stor(api=api).clone(v).post, vmid=100)
                self.assert_status(403, self.stor(api=api).content(v).post,
                                   target="100/vm-100-disk-9.raw")

            # with space on the storage and VM.Snapshot on the owner: allowed
            self.admin.access.acl.put(path="/storage/vols", roles="PVEDatastoreUser",
                                      users="vmuser@pve")
            self.admin.access.acl.put(path="/vms/100", roles="PVEVMAdmin",
                                      users="vmuser@pve")
            snaps = self.stor(api=api).snapshots(vol)
            self.wait_task(snaps.post(snapname="mine"))
            self.assertEqual([s["name"] for s in snaps.get()], ["mine"])
            self.wait_task(snaps.delete(snapname="mine"))
            base = self.stor(api=api).template(vol).post()
            # a clone for a guest the user may not allocate: 403 by the row
            self.assert_status(403, self.stor(api=api).clone(base).post, vmid=101)
        finally:
            self.admin.access.acl.put(path="/storage/vols", roles="PVEDatastoreUser",
                                      users="vmuser@pve", delete=1)
            self.admin.access.acl.put(path="/vms/100", roles="PVEVMAdmin",
                                      users="vmuser@pve", delete=1)
            self.free(base or vol)


if __name__ == "__main__":
    ctvmtest.main()
