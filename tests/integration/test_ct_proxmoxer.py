#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""Issue 13's proxmoxer acceptance: containers through the API as
pve-api.md 7.2 describes it.

 - status/current (stopped and running), the list and /cluster/resources:
   the fields and their JSON types;
 - a config change with a stale digest is refused;
 - DELETE of a running container without force: 500 "unable to destroy
   CT <id> - container is running"; with force it goes;
 - a pve-realm user with PVEVMUser on one container sees and operates that
   one only, and is refused raw lxc.* keys, bind mounts of host paths and
   privileged containers whatever role it holds (Administrator on the
   container, then on /); root@pam (the unix socket) may;
 - containers on dir (an ext4 image, and a subvol directory with size 0) and
   on btrfs (a subvolume), from .tar.gz, .tar.zst and .tar.xz;
 - the hostile template (tests/fixtures/ct-template/build-hostile.py),
   unprivileged and privileged: nothing lands outside the rootfs when it is
   unpacked nor when the container starts (its /etc/hostname is a symlink out),
   no hardlink to the host's /etc/shadow, no device node when unprivileged.
Skipped without LXC or the container API.
"""

import glob
import os
import secrets
import shutil
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ctvmtest  # noqa: E402
from ctfixture import (ESCAPE_TARGET, HOSTILE, PW, TEMPLATE, CtDaemonTest,  # noqa: E402
                       as_int, cgroup_value, ns_procs)
from proxmoxer.core import ResourceException  # noqa: E402
from test_volume_api import mount_btrfs  # noqa: E402

HOSTILE_SETUP = HOSTILE.replace("hostile", "hostilesetup")
ZST = TEMPLATE.replace(".tar.gz", ".tar.zst")
XZ = TEMPLATE.replace(".tar.gz", ".tar.xz")
NUM = (int, float)


class CtProxmoxerTest(CtDaemonTest):

    upload = (TEMPLATE, ZST, XZ, HOSTILE, HOSTILE_SETUP)

    # -- status and its types --------------------------------------------

    def check_types(self, st, running):
        self.assertIsInstance(st["vmid"], int)
        self.assertEqual(st["status"], "running" if running else "stopped")
        self.assertEqual(st["type"], "lxc")
        self.assertIsInstance(st["name"], str)
        for k in ("maxmem", "maxswap", "maxdisk", "mem", "swap", "disk", "uptime", "netin",
                  "netout", "diskread", "diskwrite"):
            self.assertIn(k, st)
            self.assertIsInstance(st[k], int, "%s: %r" % (k, st[k]))
            self.assertNotIsInstance(st[k], bool, k)
        for k in ("cpus", "cpu"):
            self.assertIsInstance(st[k], NUM, "%s: %r" % (k, st[k]))
        self.assertIsInstance(st["ha"], dict)
        self.assertEqual(st["ha"].get("managed"), 0)
        if running:
            self.assertIsInstance(st["pid"], int)
            self.assertGreater(st["mem"], 0)
        else:
            self.assertNotIn("pid", st)
            self.assertEqual(st["uptime"], 0)

    def test_status_types(self):
        self.create(200, memory=192, swap=64, cores=1, rootfs="ct:1",
                    net0="name=eth0,bridge=%s" % self.bridge)
        st = self.status(200)
        self.check_types(st, False)
        self.assertEqual(st["name"], "ct200")
        self.assertEqual(st["maxmem"], 192 << 20)
        self.assertEqual(st["maxswap"], 64 << 20)
        self.assertEqual(st["maxdisk"], 1 << 30)
        self.assertEqual(st["cpus"], 1)
        # the list and the cluster view
        lst = [c for c in self.admin.nodes(self.node).lxc.get() if c["vmid"] == 200]
        self.assertEqual(len(lst), 1, lst)
        self.assertEqual(lst[0]["status"], "stopped")
        self.assertEqual(lst[0]["type"], "lxc")
        self.assertEqual(lst[0]["maxmem"], 192 << 20)
        res = [r for r in self.admin.cluster.resources.get(type="vm") if r["vmid"] == 200]
        self.assertEqual(len(res), 1, res)
        self.assertEqual((res[0]["id"], res[0]["type"], res[0]["name"]),
                         ("lxc/200", "lxc", "ct200"))
        # index of the status directory
        names = sorted(d["subdir"] for d in self.ct(200).status.get())
        for s in ("current", "start", "stop", "shutdown", "reboot", "suspend", "resume"):
            self.assertIn(s, names)

        self.power(200, "start")
        pid = self.running_pid(200)
        self.wait_booted(pid)
        deadline = time.monotonic() + 5
        while self.status(200)["uptime"] == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        st = self.status(200)
        self.check_types(st, True)
        self.assertGreater(st["uptime"], 0)
        self.assertEqual(st["pid"], pid)
        self.assertLessEqual(st["mem"], 192 << 20)
        res = [r for r in self.admin.cluster.resources.get(type="vm") if r["vmid"] == 200]
        self.assertEqual(res[0]["status"], "running")
        self.assertIsInstance(res[0]["uptime"], int)

        # suspend and resume: the freezer
        self.power(200, "suspend")
        self.assertEqual(cgroup_value(pid, "freezer", "freezer.state"), "FROZEN")
        self.power(200, "resume")
        self.assertEqual(cgroup_value(pid, "freezer", "freezer.state"), "THAWED")
        self.assertEqual(self.status(200)["status"], "running")

        # destroy while running: refused without force, with PVE's message
        r = self.api("DELETE", "/nodes/%s/lxc/200" % self.node)
        self.assertEqual((r.status, r.reason),
                         (500, "unable to destroy CT 200 - container is running"))
        self.assertTrue(os.path.exists(self.conf_path(200)))
        self.assertEqual(self.status(200)["status"], "running")
        upid = self.ct(200).delete(force=1, purge=1)
        self.assertEqual(self.wait_task(upid, timeout=120), "OK", self.task_log(upid))
        self.assertFalse(os.path.exists(self.conf_path(200)))
        self.assertFalse(os.path.exists("/proc/%d" % pid), "its init survived force destroy")
        self.assertEqual(glob.glob(os.path.join(self.path, "images", "200", "*")), [])

    def test_net_format(self):
        """netN as Proxmox writes it: the required key (name) first, then the
        others sorted; a MAC with Proxmox's prefix; type=veth."""
        self.create(202, rootfs="ct:0.1",
                    net0="bridge=%s,name=eth0,ip=dhcp,tag=12,firewall=1" % self.bridge)
        self.assertRegex(self.ct(202).config.get()["net0"],
                         r"^name=eth0,bridge=%s,firewall=1,hwaddr=BC:24:11:[0-9A-F:]{8},"
                         r"ip=dhcp,tag=12,type=veth$" % self.bridge)

    def test_digest_conflict(self):
        self.create(201, rootfs="ct:0.1")
        ct = self.ct(201)
        conf = ct.config.get()
        self.assertRegex(conf["digest"], r"^[0-9a-f]{40}$")
        self.assertIsNone(ct.config.put(hostname="renamed", memory=300, digest=conf["digest"]))
        now = ct.config.get()
        self.assertEqual((now["hostname"], as_int(now["memory"])), ("renamed", 300))
        self.assertNotEqual(now["digest"], conf["digest"])
        e = self.assert_status(400, ct.config.put, hostname="stale", digest=conf["digest"])
        self.assertIn("detected modified configuration", str(e))
        self.assertEqual(ct.config.get()["hostname"], "renamed")
        # bad values: 400 naming the key
        r = self.api("PUT", "/nodes/%s/lxc/201/config" % self.node, data={"cores": "0"})
        self.assertEqual(r.status, 400)
        self.assertIn("cores", r.json()["errors"])

    # -- a pve user's share ----------------------------------------------

    def test_pve_user(self):
        pw = secrets.token_urlsafe(12)
        self.create(210, rootfs="ct:0.1")
        self.create(211, rootfs="ct:0.1")
        self.admin.access.users.post(userid="ctu@pve", password=pw)
        self.admin.access.acl.put(path="/vms/210", roles="PVEVMUser", users="ctu@pve")
        api = self.daemon.proxmoxer("ctu@pve", pw)
        self.assertEqual([c["vmid"] for c in api.nodes(self.node).lxc.get()], [210])
        self.assertEqual([r["vmid"] for r in api.cluster.resources.get(type="vm")], [210])
        self.assertEqual(self.ct(210, api).config.get()["hostname"], "ct210")
        self.ct(210, api).status.current.get()
        self.assert_status(403, self.ct(211, api).config.get)
        self.assert_status(403, self.ct(211, api).status.current.get)
        self.assert_status(403, self.ct(211, api).status.start.post)
        # it may start and stop its own
        self.power(210, "start", api=api)
        self.assertEqual(self.ct(210, api).status.current.get()["status"], "running")
        self.power(210, "stop", api=api)
        self.assertEqual(self.ct(210, api).status.current.get()["status"], "stopped")
        # PVEVMUser: no VM.Config.*, no VM.Allocate
        self.assert_status(403, self.ct(210, api).config.put, hostname="x")
        self.assert_status(403, self.ct(210, api).delete)
        self.assert_status(403, api.nodes(self.node).lxc.post, vmid=219,
                           ostemplate=self.ostemplate, storage="ct")

        # root@pam's keys, whatever the role: Administrator on the CT, then on /
        root_only = (("lxc.cgroup.pids.max", "64"), ("mp0", "/srv,mp=/srv"),
                     ("mp1", "/dev/sda,mp=/mnt/disk"))
        for path in ("/vms/210", "/"):
            if path == "/":
                # an ACL on /vms/210 would override the one on / (PVE's rule)
                self.admin.access.acl.put(path="/vms/210", roles="PVEVMUser", users="ctu@pve",
                                          delete=1)
            self.admin.access.acl.put(path=path, roles="Administrator", users="ctu@pve")
            try:
                self.assertIsNone(self.ct(210, api).config.put(description="admin on " + path))
                for key, value in root_only:
                    # Proxmox has no lxc.* keys in its API at all (400); ctvm
                    # lets root@pam set them (403 to anyone else)
                    codes = (400, 403) if key.startswith("lxc.") else (403,)
                    for fn, kw in ((self.ct(210, api).config.put, {}),
                                   (api.nodes(self.node).lxc.post,
                                    dict(vmid=219, ostemplate=self.ostemplate, storage="ct",
                                         rootfs="ct:0.1"))):
                        with self.assertRaises(ResourceException) as cm:
                            fn(**dict(kw, **{key: value}))
                        self.assertIn(cm.exception.status_code, codes,
                                      "%s: %s" % (key, cm.exception))
                self.assert_status(403, api.nodes(self.node).lxc.post, vmid=219,
                                   ostemplate=self.ostemplate, storage="ct", rootfs="ct:0.1",
                                   unprivileged=0)
                self.assertFalse(os.path.exists(self.conf_path(219)))
                # a container that is unprivileged stays so
                with self.assertRaises(ResourceException) as cm:
                    self.ct(210, api).config.put(unprivileged=0)
                self.assertIn(cm.exception.status_code, (400, 403, 500), str(cm.exception))
                conf = self.ct(210).config.get()
                self.assertEqual(as_int(conf["unprivileged"]), 1)
                for key, _ in root_only:
                    self.assertNotIn(key, conf)
            finally:
                self.admin.access.acl.put(path=path, roles="Administrator", users="ctu@pve",
                                          delete=1)
        # root@pam may bind-mount a host path
        self.daemon.root_call("PUT", "/nodes/%s/lxc/210/config" % self.node,
                              mp0="/srv,mp=/srv")
        self.assertEqual(self.ct(210).config.get()["mp0"], "/srv,mp=/srv")

    # -- storages and archive formats ------------------------------------

    def run_and_check(self, vmid):
        self.power(vmid, "start")
        pid = self.running_pid(vmid)
        self.wait_booted(pid)
        with open("/proc/%d/root/etc/debian_version" % pid) as f:
            self.assertEqual(f.read().strip(), "12.0")
        with open("/proc/%d/root/etc/hostname" % pid) as f:
            self.assertEqual(f.read().strip(), "ct%d" % vmid)
        self.power(vmid, "stop")
        self.assertFalse(os.path.exists("/proc/%d" % pid))

    def vol_path(self, prop):
        """The host path of the volume of a rootfs/mpN value (the API's)."""
        volid = prop.split(",")[0]
        return self.admin.nodes(self.node).storage(volid.split(":")[0]).content(
            volid).get()["path"]

    def destroy(self, vmid):
        upid = self.ct(vmid).delete(purge=1)
        self.assertEqual(self.wait_task(upid, timeout=120), "OK", self.task_log(upid))
        self.assertFalse(os.path.exists(self.conf_path(vmid)))

    def test_dir_storage(self):
        # an ext4 image (size > 0) from .tar.gz
        self.create(220, rootfs="ct:1")
        self.assertRegex(self.ct(220).config.get()["rootfs"],
                         r"^ct:220/vm-220-disk-0\.raw,size=1G$")
        self.assertTrue(os.path.isfile(os.path.join(self.path, "images", "220",
                                                    "vm-220-disk-0.raw")))
        self.run_and_check(220)
        self.destroy(220)
        self.assertEqual(glob.glob(os.path.join(self.path, "images", "220", "*")), [])
        # a subvol directory (size 0) from .tar.zst
        self.create(221, rootfs="ct:0", ostemplate="ct:vztmpl/" + ZST)
        # Proxmox's dir plugin names it subvol-<vmid>-disk-N.subvol
        self.assertRegex(self.ct(221).config.get()["rootfs"],
                         r"^ct:221/subvol-221-disk-0\.subvol(,size=0T?)?$")
        sub = self.vol_path(self.ct(221).config.get()["rootfs"])
        self.assertEqual(sub, os.path.join(self.path, "images", "221",
                                           "subvol-221-disk-0.subvol"))
        self.assertTrue(os.path.isfile(os.path.join(sub, "etc", "debian_version")))
        # unprivileged by default: the tree belongs to the shifted root
        self.assertEqual(os.lstat(os.path.join(sub, "etc", "passwd")).st_uid, 100000)
        self.assertEqual(os.lstat(os.path.join(sub, "usr", "bin", "busybox")).st_gid, 100000)
        self.run_and_check(221)
        self.destroy(221)
        self.assertFalse(os.path.exists(sub))

    def test_btrfs_storage(self):
        mnt = mount_btrfs(self.daemon.root)
        if not mnt:
            self.skipTest("no btrfs loop mount here")
        self.addCleanup(subprocess.run, ["umount", mnt])
        # a size on btrfs is a qgroup limit, as Proxmox's btrfs plugin does
        subprocess.run(["btrfs", "quota", "enable", mnt], check=True)
        bpath = os.path.join(mnt, "store")
        self.daemon.root_call("POST", "/storage", storage="bt", type="btrfs", path=bpath,
                              content="rootdir,images")
        self.create(230, rootfs="bt:1", ostemplate="ct:vztmpl/" + XZ)
        rootfs = self.ct(230).config.get()["rootfs"]
        self.assertRegex(rootfs, r"^bt:230/subvol-230-disk-0(\.subvol)?,size=1G$")
        sub = self.vol_path(rootfs)
        self.assertTrue(sub.startswith(os.path.join(bpath, "images", "230") + "/"), sub)
        p = subprocess.run(["btrfs", "subvolume", "show", sub], capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(os.path.isfile(os.path.join(sub, "etc", "debian_version")))
        self.run_and_check(230)
        self.destroy(230)
        self.assertFalse(os.path.exists(sub))

    # -- the hostile template --------------------------------------------

    def escapes(self, rootfs):
        """Everything named ctvm-escape* (or in ESCAPE_TARGET) outside rootfs."""
        found = [os.path.join(ESCAPE_TARGET, n) for n in os.listdir(ESCAPE_TARGET)]
        for top in (self.daemon.root,):
            for d, dirs, files in os.walk(top):
                # the rootfs itself, and whatever is mounted under the root
                # (a running container's tree may be)
                if (rootfs and os.path.realpath(d) == os.path.realpath(rootfs)) or \
                        (d != top and os.path.ismount(d)):
                    dirs[:] = []
                    continue
                found += [os.path.join(d, n) for n in dirs + files if n.startswith("ctvm-escape")]
        for d in ("/", "/tmp", "/var/tmp", "/run", "/var/lib", "/srv"):
            found += [os.path.join(d, n) for n in os.listdir(d)
                      if n.startswith("ctvm-escape") and os.path.join(d, n) != ESCAPE_TARGET]
        return found

    def hostile(self, vmid, privileged, template):
        """Creates vmid from template; returns the rootfs path, or None when
        the create failed (then nothing is left).  Nothing escapes either way."""
        shutil.rmtree(ESCAPE_TARGET, ignore_errors=True)
        for stale in glob.glob("/tmp/ctvm-escape-*"):
            if os.path.isfile(stale):
                os.unlink(stale)
        os.makedirs(ESCAPE_TARGET)
        self.addCleanup(shutil.rmtree, ESCAPE_TARGET, True)
        form = dict(vmid=vmid, ostemplate="ct:vztmpl/" + template, storage="ct", rootfs="ct:0",
                    hostname="ct%d" % vmid, password=PW)
        self.addCleanup(self.destroy_quietly, vmid)
        if privileged:
            upid = self.daemon.root_call("POST", "/nodes/%s/lxc" % self.node, unprivileged=0,
                                         **form)
        else:
            upid = self.admin.nodes(self.node).lxc.post(**form)
        st = self.wait_task(upid, timeout=180)
        print("\n%s, %s: vzcreate %r" % (template, "privileged" if privileged else
                                          "unprivileged", st), file=sys.stderr)
        rootfs = (glob.glob(os.path.join(self.path, "images", str(vmid), "subvol-*")) or
                  [None])[0]
        self.assertEqual(self.escapes(rootfs), [], self.task_log(upid))
        if st != "OK":
            # refusing the whole archive is allowed: then nothing is left
            self.assertFalse(os.path.exists(self.conf_path(vmid)))
            self.assertEqual(glob.glob(os.path.join(self.path, "images", str(vmid), "*")), [])
            return None
        shadow = os.stat("/etc/shadow")
        for d, dirs, files in os.walk(rootfs):
            for n in dirs + files:
                p = os.path.join(d, n)
                s = os.lstat(p)
                self.assertFalse((s.st_dev, s.st_ino) == (shadow.st_dev, shadow.st_ino),
                                 "%s is the host's /etc/shadow" % p)
                if not privileged:
                    self.assertFalse(os.path.stat.S_ISCHR(s.st_mode) or
                                     os.path.stat.S_ISBLK(s.st_mode), "device node %s" % p)
                    self.assertGreaterEqual(s.st_uid, 100000, p)
        # links stay links inside (never followed while unpacking)
        for n in ("evil-abs", "evil-rel"):
            p = os.path.join(rootfs, n)
            self.assertTrue(not os.path.lexists(p) or os.path.islink(p), p)
        return rootfs

    def hostile_setup(self, vmid, privileged):
        """The archive GNU tar takes: it is created, and it starts without
        the setup's writes of /etc/hostname and /etc/hosts (symlinks out)
        leaving the rootfs."""
        rootfs = self.hostile(vmid, privileged, HOSTILE_SETUP)
        self.assertIsNotNone(rootfs, "the create of a template GNU tar unpacks failed")
        self.power(vmid, "start")
        pid = self.running_pid(vmid)
        self.wait_booted(pid)
        self.assertEqual(self.escapes(rootfs), [])
        self.assertEqual(os.listdir(ESCAPE_TARGET), [])
        # written inside: through the link resolved in the rootfs (Proxmox
        # writes inside the container), or over the link
        inside = [os.path.join(rootfs, "etc", "hostname"),
                  os.path.join(rootfs, "tmp", "ctvm-escape-target", "hostname")]
        written = [p for p in inside if os.path.isfile(p) and not os.path.islink(p)]
        self.assertTrue(written, "the hostname was not written inside")
        with open(written[0]) as f:
            self.assertEqual(f.read().strip(), "ct%d" % vmid)
        self.power(vmid, "stop")
        self.destroy(vmid)
        self.assertEqual(self.escapes(None), [])

    def test_hostile_unprivileged(self):
        if self.hostile(240, False, HOSTILE):
            self.destroy(240)
        self.hostile_setup(242, privileged=False)

    def test_hostile_privileged(self):
        if self.hostile(241, True, HOSTILE):
            self.destroy(241)
        self.hostile_setup(243, privileged=True)


if __name__ == "__main__":
    ctvmtest.main()
