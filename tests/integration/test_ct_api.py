#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""The containers' API end to end, the short way (issue 13; the larger
suites are test_ct_proxmoxer.py, test_ct_ansible.py, ...):

 - create (unprivileged, dir storage, a subvol; an ext4 image; the root
   password only as a hash inside, in no log) -> config -> start ->
   status/current, interfaces -> shutdown -> destroy, and the tasks' types (vzcreate,
   vzstart, vzshutdown, vzdestroy); the password never in a task log;
 - startall (onboot) and stopall take containers; snapshots on btrfs;
   a full clone on dir, a template and its linked clone on btrfs, a
   clone of a snapshot on btrfs (refused where the storage cannot copy
   from one);
   move_volume between dir storages;
 - a create from a template that is no tar archive fails and leaves no
   config and no volume behind;
 - the refusals: a running CT is not destroyed without force, a short
   password and a template that is no vztmpl are 400; a rootfs on a
   storage that is not there leaves nothing.
"""

import glob
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ctvmtest  # noqa: E402
from ctfixture import PW, CtDaemonTest  # noqa: E402
from test_volume_api import mount_btrfs  # noqa: E402


class CtApiTest(CtDaemonTest):

    def vols(self, vmid):
        return glob.glob(os.path.join(self.path, "images", str(vmid), "*"))

    def test_lifecycle(self):
        self.create(300, rootfs="ct:0", password=PW, memory=128, swap=0, cores=1,
                    net0="name=eth0,bridge=%s,ip=10.0.3.2/24" % self.bridge)
        conf = self.ct(300).config.get()
        self.assertEqual(conf["unprivileged"], 1)
        self.assertEqual(conf["hostname"], "ct300")
        self.assertEqual(conf["ostype"], "debian")
        self.assertRegex(conf["rootfs"], r"^ct:300/subvol-300-disk-0\.subvol,")
        self.assertRegex(conf["net0"], r"hwaddr=BC:24:11:")
        self.assertIn("digest", conf)
        # unprivileged: the tree belongs to the mapped root
        sub = os.path.join(self.path, "images", "300", "subvol-300-disk-0.subvol")
        self.assertEqual(os.lstat(os.path.join(sub, "etc", "passwd")).st_uid, 100000)
        with open(os.path.join(sub, "etc", "shadow")) as f:
            shadow = f.read()
        self.assertRegex(shadow, r"(?m)^root:\$5\$")
        self.assertNotIn(PW, shadow)
        # nor in any log, task log or config of the daemon
        for d in ("log", "etc"):
            for dirpath, _, files in os.walk(os.path.join(self.daemon.root, d)):
                for name in files:
                    with open(os.path.join(dirpath, name), "rb") as f:
                        self.assertNotIn(PW.encode(), f.read(), os.path.join(dirpath, name))

        st = self.status(300)
        self.assertEqual(st["status"], "stopped")
        self.assertEqual(st["type"], "lxc")
        self.assertEqual(st["maxmem"], 128 << 20)

        self.power(300, "start")
        pid = self.running_pid(300)
        st = self.status(300)
        self.assertEqual(st["status"], "running")
        self.assertEqual(st["pid"], pid)
        # the interfaces seen inside: eth0 with the config's MAC
        itfs = {i["name"]: i for i in self.ct(300).interfaces.get()}
        self.assertIn("eth0", itfs)
        mac = conf["net0"].split("hwaddr=")[1][:17]
        self.assertEqual(itfs["eth0"]["hwaddr"].upper(), mac.upper())
        res = [r for r in self.admin.cluster.resources.get(type="vm") if r["vmid"] == 300]
        self.assertEqual(len(res), 1)
        self.assertEqual(res[0]["type"], "lxc")
        self.assertEqual(res[0]["id"], "lxc/300")
        self.assertEqual(res[0]["status"], "running")

        # running: DELETE without force is refused before any task
        r = self.api("DELETE", "/nodes/%s/lxc/300" % self.node)
        self.assertEqual(r.status, 500)
        self.assertIn("unable to destroy CT 300 - container is running", r.reason)

        self.power(300, "shutdown", timeout=20, forceStop=1)
        self.assertEqual(self.status(300)["status"], "stopped")
        r = self.api("GET", "/nodes/%s/lxc/300/interfaces" % self.node)
        self.assertEqual((r.status, r.reason), (500, "CT 300 not running"))
        upid = self.ct(300).delete(purge=1)
        self.assertIn(":vzdestroy:300:", upid)
        self.assertEqual(self.wait_task(upid, timeout=120), "OK", self.task_log(upid))
        self.assertFalse(os.path.exists(self.conf_path(300)))
        self.assertEqual(self.vols(300), [])
        self.assertEqual([c for c in self.admin.nodes(self.node).lxc.get()
                          if c["vmid"] == 300], [])

    def test_image_rootfs(self):
        # size > 0 on dir: a raw image made ext4, mounted for the start only
        self.create(303, rootfs="ct:0.1")
        self.assertRegex(self.ct(303).config.get()["rootfs"], r"^ct:303/vm-303-disk-0\.raw,")
        # resize (the task type every kind shares)
        upid = self.ct(303).resize.put(disk="rootfs", size="+100M")
        self.assertIn(":resize:303:", upid)
        self.assertEqual(self.wait_task(upid, timeout=60), "OK", self.task_log(upid))
        self.assertRegex(self.ct(303).config.get()["rootfs"], r",size=207258K$")
        img = os.path.join(self.path, "images", "303", "vm-303-disk-0.raw")
        self.assertGreater(os.path.getsize(img), 200 << 20)
        mnt = os.path.join(self.daemon.root, "run", "lxc-mnt", "303")
        self.assertFalse(os.path.exists(mnt))
        self.power(303, "start")
        self.running_pid(303)
        self.assertTrue(os.path.ismount(os.path.join(mnt, "rootfs")))
        # the filesystem grew with the image
        st = os.statvfs(os.path.join(mnt, "rootfs"))
        self.assertGreater(st.f_blocks * st.f_frsize, 150 << 20)
        self.power(303, "stop")
        self.assertFalse(os.path.exists(mnt))
        upid = self.ct(303).delete()
        self.assertEqual(self.wait_task(upid, timeout=120), "OK", self.task_log(upid))
        self.assertEqual(self.vols(303), [])

    def test_template_destroy_frees_base(self):
        # A template's rootfs is a base volume; destroying the template frees
        # it like any volume its config names (PVE's destroy_lxc_container),
        # not only when the scan for unreferenced disks happens to list it
        # (it does not list a ZFS basevol: seen in the lab VM, labvm-ct).
        self.create(309, rootfs="ct:0.1")
        upid = self.ct(309).template.post()
        self.assertEqual(self.wait_task(upid, timeout=60), "OK", self.task_log(upid))
        self.assertRegex(self.ct(309).config.get()["rootfs"], r"^ct:309/base-309-disk-0\.raw,")
        upid = self.ct(309).delete(purge=1, **{"destroy-unreferenced-disks": 0})
        self.assertEqual(self.wait_task(upid, timeout=120), "OK", self.task_log(upid))
        self.assertEqual(self.vols(309), [])

    def test_startall_stopall(self):
        # containers are in the node's bulk start (onboot) and stop
        self.create(304, rootfs="ct:0", onboot=1)
        upid = self.admin.nodes(self.node).startall.post(vms="304")
        self.assertEqual(self.wait_task(upid, timeout=120), "OK", self.task_log(upid))
        self.running_pid(304)
        upid = self.admin.nodes(self.node).stopall.post(vms="304", timeout=20)
        self.assertEqual(self.wait_task(upid, timeout=120), "OK", self.task_log(upid))
        self.assertEqual(self.status(304)["status"], "stopped")

    def btrfs_storage(self, storeid):
        """A btrfs storage storeid (rootdir, images) on a loop mount of its
        own under the daemon's root, removed after the test; its path.
        Skips the test where this host cannot mount btrfs."""
        root = os.path.join(self.daemon.root, "btrfs-" + storeid)
        os.makedirs(root)
        mnt = mount_btrfs(root)
        if not mnt:
            self.skipTest("no btrfs loop mount here")
        self.addCleanup(subprocess.run, ["umount", mnt])
        bpath = os.path.join(mnt, "store")
        self.daemon.root_call("POST", "/storage", storage=storeid, type="btrfs", path=bpath,
                              content="rootdir,images")
        self.addCleanup(self.daemon.root_call, "DELETE", "/storage/" + storeid)
        return bpath

    def test_snapshot_btrfs(self):
        # vzsnapshot, vzrollback, vzdelsnapshot of a subvol on btrfs
        bpath = self.btrfs_storage("bt")
        self.create(305, rootfs="bt:0")
        sub = glob.glob(os.path.join(bpath, "images", "305", "subvol-305-disk-0*"))[0]
        upid = self.ct(305).snapshot.post(snapname="s1", description="first")
        self.assertIn(":vzsnapshot:305:", upid)
        self.assertEqual(self.wait_task(upid, timeout=60), "OK", self.task_log(upid))
        names = [s["name"] for s in self.ct(305).snapshot.get()]
        self.assertEqual(names, ["s1", "current"])
        marker = os.path.join(sub, "etc", "after-s1")
        with open(marker, "w") as f:
            f.write("x")
        upid = self.ct(305).snapshot("s1").rollback.post()
        self.assertIn(":vzrollback:305:", upid)
        self.assertEqual(self.wait_task(upid, timeout=60), "OK", self.task_log(upid))
        self.assertFalse(os.path.exists(marker))
        # of a running container: stopped first (its cleanup then runs
        # detached), rolled back, stopped
        self.power(305, "start")
        self.running_pid(305)
        with open(marker, "w") as f:
            f.write("x")
        upid = self.ct(305).snapshot("s1").rollback.post()
        self.assertEqual(self.wait_task(upid, timeout=60), "OK", self.task_log(upid))
        sub = glob.glob(os.path.join(bpath, "images", "305", "subvol-305-disk-0*"))[0]
        self.assertFalse(os.path.exists(os.path.join(sub, "etc", "after-s1")))
        self.assertEqual(self.status(305)["status"], "stopped")
        upid = self.ct(305).snapshot("s1").delete()
        self.assertIn(":vzdelsnapshot:305:", upid)
        self.assertEqual(self.wait_task(upid, timeout=60), "OK", self.task_log(upid))
        self.assertEqual([s["name"] for s in self.ct(305).snapshot.get()], ["current"])
        # a template, and a linked clone of it
        upid = self.ct(305).template.post()
        self.assertEqual(self.wait_task(upid, timeout=60), "OK", self.task_log(upid))
        conf = self.ct(305).config.get()
        self.assertEqual(conf["template"], 1)
        self.assertRegex(conf["rootfs"], r"^bt:305/basevol-305-disk-0")
        upid = self.ct(305).clone.post(newid=308)
        self.assertIn(":vzclone:305:", upid)
        self.assertEqual(self.wait_task(upid, timeout=60), "OK", self.task_log(upid))
        self.assertRegex(self.ct(308).config.get()["rootfs"], r"^bt:.*subvol-308-disk-0")
        self.destroy_quietly(308)
        self.destroy_quietly(305)

    def test_unreferenced_subvol_btrfs(self):
        # destroy-unreferenced-disks frees a container's subvolume on btrfs
        # that its config does not name (the scan once asked for 'images'
        # only, which a btrfs storage answers without its subvolumes)
        bpath = self.btrfs_storage("bt3")
        self.create(315, rootfs="bt3:0")
        vol = self.admin.nodes(self.node).storage("bt3").content.post(
            vmid=315, filename="subvol-315-disk-1", size="0", format="subvol")
        self.assertTrue(vol.startswith("bt3:315/subvol-315-disk-1"), vol)
        subs = os.path.join(bpath, "images", "315")
        self.assertEqual(len(glob.glob(os.path.join(subs, "subvol-315-disk-*"))), 2)
        upid = self.ct(315).delete(purge=1, **{"destroy-unreferenced-disks": 1})
        self.assertEqual(self.wait_task(upid, timeout=120), "OK", self.task_log(upid))
        self.assertEqual(os.listdir(subs) if os.path.isdir(subs) else [], [])

    def test_clone_template(self):
        # vzclone (full, of a CT) and vztemplate on dir storage
        self.create(306, rootfs="ct:0", net0="name=eth0,bridge=%s" % self.bridge)
        src = self.ct(306).config.get()
        upid = self.ct(306).clone.post(newid=307, hostname="copy")
        self.assertIn(":vzclone:306:", upid)
        self.addCleanup(self.destroy_quietly, 307)
        self.assertEqual(self.wait_task(upid, timeout=120), "OK", self.task_log(upid))
        conf = self.ct(307).config.get()
        self.assertEqual(conf["hostname"], "copy")
        self.assertRegex(conf["rootfs"], r"^ct:307/subvol-307-disk-0")
        self.assertNotEqual(conf["net0"], src["net0"])
        self.assertRegex(conf["net0"], r"hwaddr=BC:24:11:")
        self.assertTrue(glob.glob(os.path.join(self.path, "images", "307", "*", "etc",
                                               "os-release")))
        # a template of a dir subvol: test_ct_gaps.py

    def test_move_volume(self):
        # move_volume of a subvol rootfs to another dir storage
        path2 = os.path.join(self.daemon.root, "srv", "ct2")
        self.daemon.root_call("POST", "/storage", storage="ct2", type="dir", path=path2,
                              content="rootdir,images")
        self.addCleanup(self.daemon.root_call, "DELETE", "/storage/ct2")
        self.create(309, rootfs="ct:0")
        r = self.api("POST", "/nodes/%s/lxc/309/move_volume" % self.node,
                     data={"volume": "rootfs", "storage": "ct"})
        self.assertEqual((r.status, r.reason),
                         (500, "you can't move to the same storage with same format"))
        upid = self.ct(309).move_volume.post(volume="rootfs", storage="ct2", delete=1)
        self.assertIn(":move_volume:309:", upid)
        self.assertEqual(self.wait_task(upid, timeout=120), "OK", self.task_log(upid))
        self.assertRegex(self.ct(309).config.get()["rootfs"], r"^ct2:309/subvol-309-disk-0")
        self.assertEqual(self.vols(309), [])
        self.assertTrue(glob.glob(os.path.join(path2, "images", "309", "*", "etc",
                                               "os-release")))
        self.destroy_quietly(309)
        self.assertEqual(glob.glob(os.path.join(path2, "images", "309", "*")), [])

    def test_bad_template_leaves_nothing(self):
        # a vztmpl that is no tar archive
        bad = os.path.join(self.path, "template", "cache", "broken_1.0_amd64.tar.gz")
        with open(bad, "wb") as f:
            f.write(b"this is not a tar archive\n" * 100)
        self.addCleanup(os.unlink, bad)
        st = self.create(301, expect=None, rootfs="ct:0.1",
                         ostemplate="ct:vztmpl/broken_1.0_amd64.tar.gz")
        self.assertNotEqual(st, "OK")
        self.assertFalse(os.path.exists(self.conf_path(301)))
        self.assertEqual(self.vols(301), [])
        self.assertEqual(glob.glob(os.path.join(self.daemon.root, "run", "lxc-mnt", "301")), [])

    def test_refusals(self):
        lxc = "/nodes/%s/lxc" % self.node
        r = self.api("POST", lxc, data={"vmid": 302, "ostemplate": self.ostemplate,
                                        "storage": "ct", "password": "abc"})
        self.assertEqual(r.status, 400)
        # a storage that is not there: the task fails, nothing stays
        r = self.api("POST", lxc, data={"vmid": 302, "ostemplate": self.ostemplate,
                                        "rootfs": "nosuch:1"})
        if r.status == 200:
            self.assertNotEqual(self.wait_task(r.json()["data"], timeout=60), "OK")
        r = self.api("POST", lxc, data={"vmid": 302, "ostemplate": "ct:iso/x.iso",
                                        "storage": "ct"})
        self.assertEqual(r.status, 400)
        self.assertFalse(os.path.exists(self.conf_path(302)))

    def test_clone_from_snapshot_btrfs(self):
        """vzclone with snapname, rootfs on btrfs: the new subvolume is
        copied from the snapshot's read-only subvolume, so a file written
        since is not in it and a file changed since has its old content,
        owners kept; the config is the snapshot's section without the
        snapshot keys (PVE's clone_vm)."""
        bpath = self.btrfs_storage("bt2")
        self.create(310, rootfs="bt2:0", memory=128)
        sub = glob.glob(os.path.join(bpath, "images", "310", "subvol-310-disk-0*"))[0]
        motd = os.path.join(sub, "etc", "snapclone")
        with open(motd, "w") as f:
            f.write("then\n")
        upid = self.ct(310).snapshot.post(snapname="s1")
        self.assertEqual(self.wait_task(upid, timeout=60), "OK", self.task_log(upid))
        with open(motd, "w") as f:
            f.write("now\n")
        with open(os.path.join(sub, "etc", "after-s1"), "w") as f:
            f.write("x")
        self.assertIsNone(self.ct(310).config.put(memory=256, hostname="later"))

        upid = self.ct(310).clone.post(newid=311, snapname="s1")
        self.assertIn(":vzclone:310:", upid)
        self.addCleanup(self.destroy_quietly, 311)
        self.assertEqual(self.wait_task(upid, timeout=120), "OK", self.task_log(upid))
        conf = self.ct(311).config.get()
        self.assertEqual((conf["memory"], conf["hostname"]), (128, "ct310"))
        self.assertRegex(conf["rootfs"], r"^bt2:311/subvol-311-disk-0\.subvol")
        for k in ("snaptime", "parent", "snapstate", "lock", "template"):
            self.assertNotIn(k, conf)
        with open(self.conf_path(311)) as f:
            self.assertNotIn("[s1]", f.read())
        nsub = os.path.join(bpath, "images", "311", "subvol-311-disk-0")
        with open(os.path.join(nsub, "etc", "snapclone")) as f:
            self.assertEqual(f.read(), "then\n")
        self.assertFalse(os.path.exists(os.path.join(nsub, "etc", "after-s1")))
        self.assertEqual(os.lstat(os.path.join(nsub, "etc", "passwd")).st_uid, 100000)
        # the source and its snapshot are as they were
        with open(motd) as f:
            self.assertEqual(f.read(), "now\n")
        self.assertEqual([s["name"] for s in self.ct(310).snapshot.get()], ["s1", "current"])
        self.assertNotIn("lock", self.ct(310).config.get())

    def test_clone_from_snapshot_refused(self):
        """A snapshot whose volume its storage cannot copy from (a subvol on
        dir has no snapshots, so the section is written here by hand) is
        refused with PVE's words before any task; nothing is made."""
        self.create(312, rootfs="ct:0")
        with open(self.conf_path(312)) as f:
            text = f.read()
        rootfs = self.ct(312).config.get()["rootfs"]
        tmp = self.conf_path(312) + ".tmp"
        with open(tmp, "w") as f:
            f.write(text.rstrip("\n") + "\nparent: s1\n\n[s1]\nhostname: ct312\n"
                    "ostype: debian\nrootfs: %s\nsnaptime: 1700000000\n" % rootfs)
        os.rename(tmp, self.conf_path(312))
        self.assertEqual([s["name"] for s in self.ct(312).snapshot.get()], ["s1", "current"])
        r = self.api("POST", "/nodes/%s/lxc/312/clone" % self.node,
                     data={"newid": "313", "snapname": "s1"})
        self.assertEqual((r.status, r.reason),
                         (500, "Full clone feature is not supported for drive 'rootfs'"))
        self.assertFalse(os.path.exists(self.conf_path(313)))
        self.assertEqual(self.vols(313), [])


if __name__ == "__main__":
    ctvmtest.main()
