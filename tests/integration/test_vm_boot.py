#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""A real guest boots through the API (issue 12's acceptance).

The tiny test guest (tests/fixtures/guest-iso: Debian's kernel and a busybox
initramfs that prints CTVM-GUEST-BOOTED on ttyS0 and powers off on the ACPI
power button) is uploaded through the API as iso content; a VM with it as
cdrom, a disk on dir storage, a NIC on a bridge this test creates and its
serial port on a socket is created (kvm: 0, TCG) and started; the marker
comes on serial0's socket; status/current says running with a pid; destroy
is refused while it runs (Proxmox's message); status/shutdown ends OK and
the VM is stopped with no QEMU left; destroy leaves no volume.  The same on
btrfs when the host can loop-mount one.  A running VM is cloned live
(drive-mirror) and the clone boots; a failed mirror leaves nothing of the
clone.  Skipped without QEMU or when the
ISO cannot be built.
"""

import os
import signal
import socket
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ctvmtest  # noqa: E402

from test_volume_api import guest_bytes, guest_write, mount_btrfs  # noqa: E402

QEMU = "/usr/bin/qemu-system-x86_64"
MARKER = b"CTVM-GUEST-BOOTED"


def build_iso():
    src = os.environ.get("CTVM_SOURCE_ROOT") or os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..")
    script = os.path.join(src, "tests", "fixtures", "guest-iso", "build-guest-iso.sh")
    r = subprocess.run([script], capture_output=True, text=True, timeout=900)
    if r.returncode:
        return None
    path = r.stdout.strip().splitlines()[-1] if r.stdout.strip() else ""
    return path if os.path.isfile(path) else None


def guest_iso_or_skip():
    """The test guest ISO's path for a setUpClass; skips the class without
    QEMU or when the ISO cannot be built."""
    if not os.access(QEMU, os.X_OK):
        raise unittest.SkipTest("no %s" % QEMU)
    iso = build_iso()
    if not iso:
        raise unittest.SkipTest("the test guest ISO cannot be built here")
    return iso


def upload_iso(admin, node, storage, iso):
    """Uploads iso through the API as storage's iso content and waits (up
    to 120 s) for its task to end OK; returns the name it has there."""
    with open(iso, "rb") as f:
        upid = admin.nodes(node).storage(storage).upload.post(content="iso", filename=f)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        st = admin.nodes(node).tasks(upid).status.get()
        if st["status"] == "stopped":
            break
        time.sleep(0.2)
    assert st["exitstatus"] == "OK", st
    return os.path.basename(iso)


def serial_socket(daemon, vmid):
    """A connection to VM vmid's serial0 socket, for read_until()."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(os.path.join(daemon.root, "run", "qemu-server", str(vmid), "serial0.sock"))
    except OSError:
        s.close()
        raise
    s.settimeout(1)
    return s


def read_until(s, marker, timeout=180):
    """What a serial socket says until marker is among it, it ends or
    timeout seconds have passed (the socket's 1 s timeout lets the
    deadline be kept)."""
    seen, deadline = b"", time.monotonic() + timeout
    while time.monotonic() < deadline and marker not in seen:
        try:
            b = s.recv(4096)
        except socket.timeout:
            continue
        if not b:
            break
        seen += b
    return seen


def serial_wait(daemon, vmid, marker, timeout=180):
    """Whether marker comes on VM vmid's serial0 within timeout seconds."""
    with serial_socket(daemon, vmid) as s:
        return marker in read_until(s, marker, timeout)


class VmBootTest(ctvmtest.AdminDaemonTest):

    @classmethod
    def setUpClass(cls):
        cls.iso = guest_iso_or_skip()
        super().setUpClass()
        cls.bridge = "vmbrb%d" % (os.getpid() % 100000)
        subprocess.run(["ip", "link", "add", "name", cls.bridge, "type", "bridge"], check=True)
        cls.addClassCleanup(subprocess.run, ["ip", "link", "del", cls.bridge])
        subprocess.run(["ip", "link", "set", cls.bridge, "up"], check=True)
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
        cls.isoname = upload_iso(cls.admin, cls.node, "vms", cls.iso)

    def boot_and_shutdown(self, vmid, storage):
        vm = self.admin.nodes(self.node).qemu(vmid)
        self.ok(self.admin.nodes(self.node).qemu.post(
            vmid=vmid, name="boot%d" % vmid, kvm=0, memory=256, cores=1,
            ide2="vms:iso/%s,media=cdrom" % self.isoname, scsi0="%s:1" % storage,
            scsihw="virtio-scsi-pci", serial0="socket", boot="order=ide2;scsi0",
            net0="virtio,bridge=%s" % self.bridge))
        tap = "tap%di0" % vmid
        self.ok(vm.status.start.post())
        st = vm.status.current.get()
        self.assertEqual(st["status"], "running")
        self.assertIsInstance(st["pid"], int)
        # its NIC's tap is on the bridge; GET network shows the bridge, its
        # configured ports without the guests' taps (as PVE's bridge_ports)
        with open("/sys/class/net/%s/master/uevent" % tap) as f:
            self.assertIn("INTERFACE=%s" % self.bridge, f.read())
        br = [n for n in self.admin.nodes(self.node).network.get(type="any_bridge")
              if n["iface"] == self.bridge]
        self.assertEqual(len(br), 1)
        self.assertNotIn(tap, br[0]["bridge_ports"].split())
        self.assertNotIn(tap, [n["iface"] for n in self.admin.nodes(self.node).network.get()])
        self.assertTrue(serial_wait(self.daemon, vmid, MARKER), "no marker on the serial console")
        # status/current as proxmoxer and Ansible read it: the JSON types
        st = vm.status.current.get()
        self.assertEqual(st["qmpstatus"], "running")
        for k in ("vmid", "pid", "uptime", "mem", "maxmem", "maxdisk", "cpus", "netin",
                  "netout", "diskread", "diskwrite"):
            self.assertIsInstance(st[k], int, k)
        self.assertIsInstance(st["cpu"], (int, float))
        self.assertEqual(st["maxmem"], 256 << 20)
        self.assertEqual(st["name"], "boot%d" % vmid)
        vms = {v["vmid"]: v for v in self.admin.nodes(self.node).qemu.get()}
        self.assertEqual(vms[vmid]["status"], "running")
        res = [r for r in self.admin.cluster.resources.get(type="vm") if r["vmid"] == vmid]
        self.assertEqual(res[0]["status"], "running")
        # a running VM is not destroyed
        r = self.api("DELETE", "/nodes/%s/qemu/%d" % (self.node, vmid))
        self.assertEqual(r.status, 500)
        self.assertEqual(r.reason, "VM %d is running - destroy failed" % vmid)
        r = self.api("POST", "/nodes/%s/qemu/%d/status/start" % (self.node, vmid))
        self.assertEqual(r.reason, "VM %d already running" % vmid)
        pid = st["pid"]
        self.ok(vm.status.shutdown.post(timeout=60), timeout=120)
        self.assertEqual(vm.status.current.get()["status"], "stopped")
        self.assertFalse(os.path.exists("/sys/class/net/%s" % tap), "tap left behind")
        self.assertFalse(os.path.exists("/proc/%d" % pid) and
                         open("/proc/%d/stat" % pid).read().split()[2] != "Z")
        self.ok(vm.delete())
        self.assertFalse(os.path.exists(os.path.join(self.daemon.root, "etc", "qemu-server",
                                                     "%d.conf" % vmid)))

    def test_boot_dir(self):
        self.boot_and_shutdown(300, "vms")
        self.assertEqual(os.listdir(os.path.join(self.path, "images", "300"))
                         if os.path.isdir(os.path.join(self.path, "images", "300")) else [], [])

    def test_startall_stopall(self):
        """onboot guests start in startup order, the others stay stopped;
        stopall stops them in reverse order."""
        q = self.admin.nodes(self.node).qemu
        specs = {310: "order=2", 311: "order=1,up=1", 312: None, 313: "order=3"}
        for vmid, startup in specs.items():
            kw = {"kvm": 0, "memory": 64, "onboot": 0 if vmid == 313 else 1}
            if startup:
                kw["startup"] = startup
            self.ok(q.post(vmid=vmid, **kw))
        try:
            upid = self.admin.nodes(self.node).startall.post()
            self.ok(upid)
            started = [line.split()[-1] for line in self.task_log(upid).splitlines()
                       if line.startswith("Starting VM")]
            self.assertEqual(started, ["311", "310", "312"])
            for vmid in (310, 311, 312):
                self.assertEqual(q(vmid).status.current.get()["status"], "running")
            self.assertEqual(q(313).status.current.get()["status"], "stopped")
            upid = self.admin.nodes(self.node).stopall.post(timeout=1)
            self.ok(upid, timeout=120)
            stopped = [line.split()[2] for line in self.task_log(upid).splitlines()
                       if line.startswith("Stopping VM")]
            self.assertEqual(stopped, ["312", "310", "311"])
            for vmid in specs:
                self.assertEqual(q(vmid).status.current.get()["status"], "stopped")
        finally:
            for vmid in specs:
                self.task_status(q(vmid).status.stop.post(), 60)
            for vmid in specs:
                self.task_status(q(vmid).delete(), 60)

    def test_boot_btrfs(self):
        if not self.bpath:
            self.skipTest("no btrfs here")
        self.boot_and_shutdown(301, "bvms")

    def test_clone_running(self):
        """A running VM is cloned live (drive-mirror, then cancelled once
        ready, as PVE): the clone has the source's disk data and its config,
        and boots; the source keeps running, unlocked.  A mirror that fails
        (a target storage with no room) frees the target volume, leaves no
        config and the source running."""
        q = self.admin.nodes(self.node).qemu
        self.ok(q.post(vmid=310, name="live", kvm=0, memory=256, cores=1,
                       ide2="vms:iso/%s,media=cdrom" % self.isoname,
                       scsi0="vms:1,format=qcow2", scsihw="virtio-scsi-pci",
                       serial0="socket", boot="order=ide2;scsi0"))
        self.addCleanup(self.destroy_quietly, 310)
        src = os.path.join(self.path, "images", "310", "vm-310-disk-0.qcow2")
        guest_write(src, "qcow2", 1 << 20, 0x5A, length=4 << 20)
        data = guest_bytes(src, "qcow2")
        self.ok(q(310).status.start.post())
        self.addCleanup(self.stop_quietly, 310)
        self.assertTrue(serial_wait(self.daemon, 310, MARKER), "no marker on the serial console")
        pid = q(310).status.current.get()["pid"]

        upid = q(310).clone.post(newid=311, name="livecopy", format="raw")
        self.ok(upid)
        self.addCleanup(self.destroy_quietly, 311)
        self.assertIn("drive mirror", self.task_log(upid))
        st = q(310).status.current.get()
        self.assertEqual((st["status"], st["pid"], st["qmpstatus"]), ("running", pid, "running"))
        self.assertNotIn("lock", q(310).config.get())
        c = q(311).config.get()
        self.assertEqual(c["name"], "livecopy")
        self.assertRegex(c["scsi0"], r"^vms:311/vm-311-disk-0\.raw,")
        self.assertEqual(guest_bytes(os.path.join(self.path, "images", "311",
                                                  "vm-311-disk-0.raw"), "raw"), data)
        self.ok(q(311).status.start.post())
        self.assertTrue(serial_wait(self.daemon, 311, MARKER), "the clone does not boot")
        self.ok(q(311).status.stop.post())

        # no room on the target: the mirror fails, nothing of the clone stays
        tiny = os.path.join(self.daemon.root, "tiny")
        os.makedirs(tiny)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", tiny], check=True)
        self.addCleanup(subprocess.run, ["umount", tiny])
        self.daemon.root_call("POST", "/storage", storage="tiny", type="dir", path=tiny,
                              content="images")
        upid = q(310).clone.post(newid=312, storage="tiny")
        st = self.task_status(upid, 300)
        self.assertNotEqual(st["exitstatus"], "OK")
        self.assertIn("drive mirror", self.task_log(upid))
        self.assertFalse(os.path.exists(os.path.join(self.daemon.root, "etc", "qemu-server",
                                                     "312.conf")))
        self.assertEqual(os.listdir(os.path.join(tiny, "images", "312"))
                         if os.path.isdir(os.path.join(tiny, "images", "312")) else [], [])
        st = q(310).status.current.get()
        self.assertEqual((st["status"], st["pid"], st["qmpstatus"]), ("running", pid, "running"))
        self.assertNotIn("lock", q(310).config.get())
        self.ok(q(310).status.stop.post())

    def stop_quietly(self, vmid):
        r = self.api("POST", "/nodes/%s/qemu/%d/status/stop" % (self.node, vmid))
        if r.status == 200:
            self.task_status(r.json()["data"], 120)

    def destroy_quietly(self, vmid):
        r = self.api("DELETE", "/nodes/%s/qemu/%d" % (self.node, vmid))
        if r.status == 200:
            self.task_status(r.json()["data"], 120)

    def test_z_restart(self):
        """SIGKILL ctvmd while a VM runs: the VM runs on, and the restarted
        daemon finds it (pidfile + QMP) and shuts it down."""
        vmid = 320
        q = self.admin.nodes(self.node).qemu
        self.ok(q.post(vmid=vmid, kvm=0, memory=256, serial0="socket", boot="order=ide2",
                       ide2="vms:iso/%s,media=cdrom" % self.isoname))
        self.ok(q(vmid).status.start.post())
        self.assertTrue(serial_wait(self.daemon, vmid, MARKER), "no marker on the serial console")
        pid = q(vmid).status.current.get()["pid"]
        self.daemon.signal(signal.SIGKILL)
        self.daemon.proc.wait()
        time.sleep(0.5)
        self.assertTrue(os.path.exists("/proc/%d" % pid), "the VM died with ctvmd")
        self.daemon.start()
        type(self).admin = self.daemon.proxmoxer(self.acct.userid, self.acct.password)
        q = self.admin.nodes(self.node).qemu
        st = q(vmid).status.current.get()
        self.assertEqual((st["status"], st["pid"]), ("running", pid))
        self.assertEqual(st["qmpstatus"], "running")
        self.ok(q(vmid).status.shutdown.post(timeout=60), timeout=120)
        self.assertEqual(q(vmid).status.current.get()["status"], "stopped")
        self.ok(q(vmid).delete())


if __name__ == "__main__":
    ctvmtest.main()
