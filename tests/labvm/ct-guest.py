#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""tests/labvm/ct-guest.py: containers on lvmthin and zfspool, inside the lab VM.

Run by /init of the lab VM as /ctvm/ct (labvm.sh ct, the meson test labvm-ct): starts ctvmd
(--no-privsep) in a temporary root, makes an LVM thin pool on the blank disk and a zpool
mounted at /ctz on the first partition (CTVM_LAB_DISKS="/dev/vdc /dev/vda1 /dev/vdb1"), adds
them as storages beside a dir storage holding the busybox template (tests/fixtures/ct-template,
copied into the initramfs), and for each pool, through the API on ctvmd's unix socket as
root@pam (as bench/storage-api-guest does: no PAM in here):

  create    privileged, rootfs <storage>:1: the volume (an ext4 LV of 1 GiB, a dataset with
            refquota 1 GiB), the template's files in it, the config's rootfs line
  start     liblxc: the init runs, its / is the LV / the dataset; stop: nothing left mounted
  snapshot  the snapshot volume exists; deleted again
  clone     full, from the container (a thin LV stays thin: qemu-img --target-is-zero)
  resize    +1G: the LV and its ext4 grown / the refquota raised; the config's size
  linked    the container made a template, then cloned linked (lvmthin and zfs both allow
            it): a thin snapshot of base-*, a zfs clone of basevol-*@__base__
  unpriv    an unprivileged container: the files' owners shifted by 100000; started, stopped
  destroy   everything, with purge: no volume left (lvs, zfs list)

Prints one line per step ("ct <storage> <step>: ok" or "FAIL: why") and exits 1 when one
failed; a failed step ends that storage's sequence (the other storage still runs).
"""

import glob
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.parse

CTVMD = "/ctvm/ctvmd"
TEMPLATE = "debian-12-busybox_12.0-1_amd64.tar.gz"
GIB = 1 << 30
VG, THINPOOL, ZPOOL, ZMNT = "ctvg", "data", "ctz", "/ctz"


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=300)
        self._path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(300)
        self.sock.connect(self._path)


class ApiError(Exception):
    pass


class Api:
    def __init__(self, sock):
        self.sock = sock
        self.node = self.call("GET", "/nodes", base="")[0]["node"]

    def call(self, method, path, /, base=None, **data):
        target = "/api2/json" + (("/nodes/" + self.node) if base is None else base) + path
        body = urllib.parse.urlencode(data) if data else None
        if body and method in ("GET", "DELETE"):
            target, body = target + "?" + body, None
        headers = {"Content-Type": "application/x-www-form-urlencoded"} if body else {}
        conn = UnixHTTPConnection(self.sock)
        try:
            conn.request(method, target, body=body, headers=headers)
            r = conn.getresponse()
            text = r.read()
        finally:
            conn.close()
        if r.status != 200:
            raise ApiError("%s %s: %d %s %s" % (method, path, r.status, r.reason,
                                                text.decode(errors="replace")[:500]))
        return json.loads(text)["data"]

    def task(self, method, path, /, **data):
        """Calls path and waits for the task it starts (up to 10 minutes under TCG);
        raises with the task's log when it does not end OK."""
        upid = self.call(method, path, **data)
        if not (isinstance(upid, str) and upid.startswith("UPID:")):
            return upid
        deadline = time.monotonic() + 600
        while True:
            st = self.call("GET", "/tasks/%s/status" % upid)
            if st["status"] == "stopped":
                break
            if time.monotonic() > deadline:
                raise ApiError("%s %s: task %s still running after 600 s" % (method, path, upid))
            time.sleep(0.1)
        if st.get("exitstatus") != "OK":
            log = self.call("GET", "/tasks/%s/log" % upid, limit="200")
            raise ApiError("%s %s: task %s: %s\n%s" % (
                method, path, upid, st.get("exitstatus"),
                "\n".join("  task: " + l.get("t", "") for l in log)))
        return upid


def run(*argv, check=True):
    r = subprocess.run(list(argv), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=300)
    if check and r.returncode:
        raise RuntimeError("%s: exit %d: %s" % (" ".join(argv), r.returncode, r.stderr.strip()))
    return r.stdout


def expect(cond, what):
    if not cond:
        raise AssertionError(what)


# -- the host's view of the volumes --------------------------------------

def lvs():
    """{lv name: (size in bytes, attr, pool, origin, data percent)} of the container VG."""
    out = json.loads(run("lvs", "--reportformat", "json", "--units", "b", "--nosuffix", "-o",
                         "lv_name,lv_size,lv_attr,pool_lv,origin,data_percent", VG))
    return {lv["lv_name"]: (int(lv["lv_size"]), lv["lv_attr"], lv["pool_lv"], lv["origin"],
                            float(lv["data_percent"] or 0)) for lv in out["report"][0]["lv"]}


def zlist():
    """{dataset or snapshot: (type, refquota, origin, mountpoint)} below the pool."""
    out = {}
    for line in run("zfs", "list", "-Hp", "-r", "-t", "all", "-o",
                    "name,type,refquota,origin,mountpoint", ZPOOL).splitlines():
        name, typ, rq, origin, mnt = line.split("\t")
        out[name] = (typ, int(rq) if rq.isdigit() else 0, origin, mnt)
    return out


def dev_of(path):
    st = os.stat(path)
    return "%d:%d" % (os.major(st.st_rdev), os.minor(st.st_rdev))


def mountinfo(pid="self"):
    """[(major:minor, mount point, fstype, source)]"""
    out = []
    with open("/proc/%s/mountinfo" % pid) as f:
        for line in f:
            a, b = line.split(" - ", 1)
            a, b = a.split(), b.split()
            out.append((a[2], a[4], b[0], b[1]))
    return out


class Backend:
    """What differs between the two pools: the volume's names and how to look at them."""

    def __init__(self, sid, kind):
        self.sid, self.kind = sid, kind
        self.lvm = kind == "lvmthin"

    def volname(self, vmid, base=False):
        if self.lvm:
            return "%s-%d-disk-0" % ("base" if base else "vm", vmid)
        return "%s-%d-disk-0" % ("basevol" if base else "subvol", vmid)

    def size_of(self, name):
        if self.lvm:
            got = lvs()
            expect(name in got, "no LV %s/%s: %s" % (VG, name, sorted(got)))
            expect(got[name][2] == THINPOOL, "LV %s is not in the thin pool: %s"
                   % (name, got[name]))
            return got[name][0]
        got = zlist()
        ds = "%s/%s" % (ZPOOL, name)
        expect(ds in got and got[ds][0] == "filesystem", "no dataset %s: %s" % (ds, sorted(got)))
        return got[ds][1]

    def leftovers(self):
        if self.lvm:
            return sorted(n for n in lvs() if n != THINPOOL)
        return sorted(n for n in zlist() if n != ZPOOL)

    def snapshot_exists(self, vmid, snap):
        if self.lvm:
            got = lvs()
            name = "snap_%s_%s" % (self.volname(vmid), snap)
            return name in got and got[name][3] == self.volname(vmid)
        return "%s/%s@%s" % (ZPOOL, self.volname(vmid), snap) in zlist()

    def look(self, name, fn):
        """fn(directory) on the volume's files: the LV's ext4 mounted read-only on a scratch
        directory, the dataset's mountpoint as it is."""
        if not self.lvm:
            mnt = zlist()["%s/%s" % (ZPOOL, name)][3]
            expect(mnt.startswith(ZMNT + "/"), "dataset %s mounted at %s" % (name, mnt))
            return fn(mnt)
        d = tempfile.mkdtemp(prefix="ct-look-")
        lv = "/dev/%s/%s" % (VG, name)
        # a base-* LV is read-only and not activated by default (-ky): activate it
        run("lvchange", "-ay", "-K", "%s/%s" % (VG, name))
        run("mount", "-t", "ext4", "-o", "ro,noload", lv, d)
        try:
            return fn(d)
        finally:
            run("umount", d)
            os.rmdir(d)

    def on_volume(self, mi, name):
        """Whether the mountinfo entry mi is the volume name."""
        if self.lvm:
            return mi[0] == dev_of("/dev/%s/%s" % (VG, name))
        return mi[2] == "zfs" and mi[3] == "%s/%s" % (ZPOOL, name)


def check_files(d, owner):
    for f in ("etc/os-release", "sbin/init", "bin/busybox", "etc/inittab"):
        p = os.path.join(d, f)
        expect(os.path.lexists(p), "no /%s in the rootfs" % f)
    with open(os.path.join(d, "etc/os-release")) as f:
        expect("debian" in f.read(), "os-release is not Debian's")
    st = os.lstat(os.path.join(d, "etc/os-release"))
    expect(st.st_uid == owner and st.st_gid == owner,
           "/etc/os-release owned by %d:%d, not %d" % (st.st_uid, st.st_gid, owner))
    with open(os.path.join(d, "etc/hostname")) as f:
        return f.read().strip()


class Run:
    def __init__(self, api, root):
        self.api = api
        self.root = root
        self.failed = []
        self.lxc_error = None

    def step(self, be, name, fn):
        t0 = time.monotonic()
        try:
            fn()
        except Exception as e:  # noqa: BLE001 - reported, the sequence ends
            msg = str(e) if isinstance(e, (ApiError, AssertionError, RuntimeError)) else \
                traceback.format_exc()
            print("ct %s %s: FAIL (%.1fs): %s" % (be.sid, name, time.monotonic() - t0, msg),
                  flush=True)
            self.failed.append("%s %s" % (be.sid, name))
            raise
        print("ct %s %s: ok (%.1fs)" % (be.sid, name, time.monotonic() - t0), flush=True)

    def ct(self, vmid, path=""):
        return "/lxc/%d%s" % (vmid, path)

    def conf(self, vmid):
        return self.api.call("GET", self.ct(vmid, "/config"))

    def rootfs_size_is(self, be, vmid, name, gib):
        rootfs = self.conf(vmid)["rootfs"]
        want = "%s:%s,size=%dG" % (be.sid, name, gib)
        expect(rootfs == want, "rootfs = %r, not %r" % (rootfs, want))

    def create(self, be, vmid, unpriv):
        self.api.task("POST", "/lxc", vmid=str(vmid), hostname="ct%d" % vmid,
                      ostemplate="tmpl:vztmpl/" + TEMPLATE, storage=be.sid,
                      rootfs="%s:1" % be.sid, unprivileged=str(unpriv), password="ct-lab-pw")
        name = be.volname(vmid)
        size = be.size_of(name)
        expect(size == GIB, "%s is %d bytes, not 1 GiB" % (name, size))
        host = be.look(name, lambda d: check_files(d, 100000 if unpriv else 0))
        expect(host == "ct%d" % vmid, "/etc/hostname = %r" % host)
        c = self.conf(vmid)
        self.rootfs_size_is(be, vmid, name, 1)
        expect(str(c.get("unprivileged", 0)) == str(unpriv), "unprivileged = %r" %
               c.get("unprivileged"))
        expect(c.get("hostname") == "ct%d" % vmid, "hostname = %r" % c.get("hostname"))

    def start_stop(self, be, vmid, name):
        if self.lxc_error:
            raise RuntimeError("not tried: liblxc failed before: " + self.lxc_error)
        try:
            self.api.task("POST", self.ct(vmid, "/status/start"))
        except ApiError as e:
            self.lxc_error = str(e).splitlines()[0]
            # liblxc's own log (lxc.log.file, in ctvmd's run directory)
            for f in glob.glob(os.path.join(self.root, "run", "**", "lxc.log"),
                               recursive=True):
                with open(f, errors="replace") as fh:
                    print("    %s:\n%s" % (f, fh.read()[-3000:]), flush=True)
            raise
        st = self.api.call("GET", self.ct(vmid, "/status/current"))
        expect(st["status"] == "running", "status %r after start" % st["status"])
        pid = int(st["pid"])
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            cmd = f.read().split(b"\0")[0].decode()
        expect(cmd in ("/sbin/init", "init"), "the container's pid 1 runs %r" % cmd)
        root = [m for m in mountinfo(pid) if m[1] == "/"]
        expect(root and be.on_volume(root[-1], name),
               "the container's / is %r, not %s" % (root[-1:], name))
        print("    init pid %d, / = %s %s %s" % (pid, root[-1][0], root[-1][2], root[-1][3]),
              flush=True)
        self.api.task("POST", self.ct(vmid, "/status/stop"))
        st = self.api.call("GET", self.ct(vmid, "/status/current"))
        expect(st["status"] == "stopped", "status %r after stop" % st["status"])
        expect(not os.path.exists("/proc/%d" % pid) or
               not os.path.exists("/proc/%d/ns/pid" % pid), "pid %d still there" % pid)
        # the image's mounts by ctvmd are gone (a dataset keeps its own at its mountpoint)
        left = [m for m in mountinfo() if be.on_volume(m, name) and
                not (not be.lvm and m[1].startswith(ZMNT + "/"))]
        expect(not left, "still mounted after stop: %r" % left)

    def sequence(self, be, base):
        s = lambda name, fn: self.step(be, name, fn)  # noqa: E731
        name = be.volname(base)
        s("create privileged", lambda: self.create(be, base, 0))
        s("start privileged", lambda: self.start_stop(be, base, name))

        def snapshot():
            self.api.task("POST", self.ct(base, "/snapshot"), snapname="s1")
            expect(be.snapshot_exists(base, "s1"), "no snapshot s1 of %s" % name)
            snaps = [x["name"] for x in self.api.call("GET", self.ct(base, "/snapshot"))]
            expect("s1" in snaps, "snapshot list %r" % snaps)
            self.api.task("DELETE", self.ct(base, "/snapshot/s1"))
            expect(not be.snapshot_exists(base, "s1"), "snapshot s1 of %s left" % name)
        s("snapshot", snapshot)

        def full_clone():
            self.api.task("POST", self.ct(base, "/clone"), newid=str(base + 1), full="1",
                          hostname="ct%d" % (base + 1))
            n = be.volname(base + 1)
            expect(be.size_of(n) == GIB, "full clone %s: size %d" % (n, be.size_of(n)))
            be.look(n, lambda d: check_files(d, 0))
            self.rootfs_size_is(be, base + 1, n, 1)
            if be.lvm:
                # a copy of a mostly empty ext4 stays thin (qemu-img --target-is-zero)
                src, dst = lvs()[name][4], lvs()[n][4]
                print("    %s %.1f%% provisioned, its full clone %s %.1f%%" % (name, src, n, dst),
                      flush=True)
                expect(dst < 50, "the full clone %s is %.1f%% provisioned" % (n, dst))
            self.api.task("DELETE", self.ct(base + 1), purge="1")
            expect(n not in be.leftovers() and "%s/%s" % (ZPOOL, n) not in be.leftovers(),
                   "%s left after destroy: %r" % (n, be.leftovers()))
        s("clone full", full_clone)

        def resize():
            self.api.task("PUT", self.ct(base, "/resize"), disk="rootfs", size="+1G")
            size = be.size_of(name)
            expect(size == 2 * GIB, "%s is %d bytes after +1G, not 2 GiB" % (name, size))
            self.rootfs_size_is(be, base, name, 2)
            if be.lvm:
                def fs_size(d):
                    v = os.statvfs(d)
                    return v.f_blocks * v.f_frsize
                got = be.look(name, fs_size)
                expect(got > 1.5 * GIB, "the ext4 on %s has %d bytes: not grown" % (name, got))
        s("resize +1G", resize)

        def linked_clone():
            self.api.task("POST", self.ct(base, "/template"))
            bname = be.volname(base, base=True)
            expect(self.conf(base).get("template") in (1, "1"), "not a template")
            self.rootfs_size_is(be, base, bname, 2)
            expect(be.size_of(bname) == 2 * GIB, "template volume %s" % bname)
            self.api.task("POST", self.ct(base, "/clone"), newid=str(base + 2), full="0",
                          hostname="ct%d" % (base + 2))
            n = be.volname(base + 2)
            expect(be.size_of(n) == 2 * GIB, "linked clone %s" % n)
            if be.lvm:
                origin = lvs()[n][3]
                expect(origin == bname, "linked clone %s has origin %r" % (n, origin))
            else:
                origin = zlist()["%s/%s" % (ZPOOL, n)][2]
                want = "%s/%s@__base__" % (ZPOOL, bname)
                expect(origin == want, "linked clone %s has origin %r" % (n, origin))
            be.look(n, lambda d: check_files(d, 0))
            c = self.conf(base + 2)["rootfs"]
            expect(c.startswith("%s:%s," % (be.sid, n)) or c.startswith("%s:%s/%s," % (
                be.sid, bname, n)), "linked clone's rootfs %r" % c)
        s("template + clone linked", linked_clone)

        def destroy():
            self.api.task("DELETE", self.ct(base + 2), purge="1")
            self.api.task("DELETE", self.ct(base), purge="1")
            left = be.leftovers()
            expect(not left, "left after destroy: %r" % left)
        s("destroy", destroy)

        up = base + 3
        s("create unprivileged", lambda: self.create(be, up, 1))
        s("start unprivileged", lambda: self.start_stop(be, up, be.volname(up)))

        def destroy_up():
            self.api.task("DELETE", self.ct(up), purge="1")
            left = be.leftovers()
            expect(not left, "left after destroy: %r" % left)
        s("destroy unprivileged", destroy_up)


def main():
    disks = os.environ.get("CTVM_LAB_DISKS", "").split()
    if len(disks) != 3:
        print("CTVM_LAB_DISKS is not set: this runs in the lab VM only")
        return 77
    root = tempfile.mkdtemp(prefix="ctvm-ct-")
    # as / is: an unprivileged container's root (uid 100000) must reach its rootfs mount
    # below <root>/run, and mkdtemp made <root> 0700
    os.chmod(root, 0o755)
    logpath = os.path.join(root, "ctvmd.log")
    log = open(logpath, "wb")
    d = subprocess.Popen([CTVMD, "--root", root, "--listen", "127.0.0.1:8006", "--no-privsep",
                          "--log-level", "info"], stdin=subprocess.DEVNULL, stdout=log,
                         stderr=log)
    r = None
    try:
        sock = os.path.join(root, "run", "api.sock")
        deadline = time.monotonic() + 60
        while True:
            assert d.poll() is None, "ctvmd exited with status %d" % d.returncode
            try:
                api = Api(sock)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                assert time.monotonic() < deadline, "ctvmd did not answer in 60 s"
                time.sleep(0.1)
        r = Run(api, root)
        # the pools by hand, as an admin makes them for PVE
        run("pvcreate", "-q", "-y", disks[0])
        run("vgcreate", "-q", VG, disks[0])
        run("lvcreate", "-q", "-y", "--type", "thin-pool", "-L", "3G", "-n", THINPOOL, VG)
        run("zpool", "create", "-f", "-o", "ashift=12", "-m", ZMNT, ZPOOL, disks[1])
        tmpl = os.path.join(root, "srv", "tmpl")
        api.call("POST", "/storage", base="", storage="tmpl", type="dir", path=tmpl,
                 content="vztmpl")
        os.makedirs(os.path.join(tmpl, "template", "cache"), exist_ok=True)
        shutil.copy("/ctvm/" + TEMPLATE, os.path.join(tmpl, "template", "cache", TEMPLATE))
        api.call("POST", "/storage", base="", storage="thin", type="lvmthin", vgname=VG,
                 thinpool=THINPOOL, content="rootdir,images")
        api.call("POST", "/storage", base="", storage="zfs", type="zfspool", pool=ZPOOL,
                 content="rootdir,images")
        for be, base in ((Backend("zfs", "zfspool"), 300), (Backend("thin", "lvmthin"), 200)):
            try:
                r.sequence(be, base)
            except Exception:  # noqa: BLE001 - printed by step(); the next pool runs
                pass
    finally:
        d.terminate()
        try:
            d.wait(30)
        except subprocess.TimeoutExpired:
            d.kill()
        log.close()
        if r is None or r.failed:
            with open(logpath, errors="replace") as f:
                sys.stdout.write("ctvmd's log (end):\n" + f.read()[-6000:])
    if r is None:
        return 1
    if r.lxc_error:
        print("ct: liblxc could not start a container here: " + r.lxc_error)
    if r.failed:
        print("ct: %d step(s) failed: %s" % (len(r.failed), ", ".join(r.failed)))
        return 1
    print("ct: all steps passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
