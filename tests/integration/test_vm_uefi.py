#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""UEFI and TPM guests (issue 12: bios ovmf with an efidisk, tpmstate0).

efidisk0 given as `<storage>:1,efitype=4m` is a copy of Debian's OVMF vars
template (OVMF_VARS_4M.fd; OVMF_VARS_4M.ms.fd with pre-enrolled-keys=1) of
the template's size whatever size was asked, on dir (raw and qcow2) and on
btrfs when the host can loop-mount one, at create and through a config
change; tpmstate0 is a 4 MiB volume.  The test guest ISO (its GRUB EFI
path) boots under OVMF (TCG): the marker comes on serial0 and an ACPI
shutdown ends the VM.  A VM with a TPM runs swtpm on its run directory's
swtpm.sock (QEMU's `info tpm` shows the emulator); stop, a failed start and
a VM that powers off leave no swtpm behind, and a ctvmd killed and started
again leaves a running VM's swtpm alone.  Skipped without QEMU, OVMF or
swtpm.
"""

import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ctvmtest  # noqa: E402

from test_vm_boot import MARKER, guest_iso_or_skip, serial_wait, upload_iso  # noqa: E402
from test_volume_api import mount_btrfs  # noqa: E402

VARS_4M = "/usr/share/OVMF/OVMF_VARS_4M.fd"
VARS_4M_MS = "/usr/share/OVMF/OVMF_VARS_4M.ms.fd"
# OVMF under TCG on these machines: ~20 s to GRUB, ~50 s to the marker when
# idle, ~100 s under a load of 16 on 2 cores
BOOT_TIMEOUT = 300


def read(path):
    with open(path, "rb") as f:
        return f.read()


def image_bytes(path, fmt):
    """The guest-visible content of an image file."""
    if fmt == "raw":
        return read(path)
    out = path + ".check.raw"
    subprocess.run(["qemu-img", "convert", "-f", fmt, "-O", "raw", path, out], check=True,
                   timeout=60)
    try:
        return read(out)
    finally:
        os.unlink(out)


def swtpm_pids(sock):
    """The swtpm processes whose command line names sock."""
    pids = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % p, "rb") as f:
                args = f.read().split(b"\0")
            with open("/proc/%s/stat" % p) as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z" and os.path.basename(args[0]) == b"swtpm" and \
                any(sock.encode() in a for a in args):
            pids.append(int(p))
    return pids


class VmUefiTest(ctvmtest.KillRestartMixin, ctvmtest.AdminDaemonTest):

    @classmethod
    def setUpClass(cls):
        for f in (VARS_4M, VARS_4M_MS, "/usr/bin/swtpm", "/usr/bin/swtpm_setup"):
            if not os.path.exists(f):
                raise unittest.SkipTest("no %s (tools/setup-deps installs it)" % f)
        cls.iso = guest_iso_or_skip()
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
        cls.isoname = upload_iso(cls.admin, cls.node, "vms", cls.iso)

    def qemu(self):
        return self.admin.nodes(self.node).qemu

    def stop_if_running(self, vmid):
        """A failed test's VM is stopped: its QEMU (and swtpm) must not
        outlive the test's daemon.  Nothing when it is gone already."""
        try:
            vm = self.qemu()(vmid)
            if vm.status.current.get()["status"] == "running":
                self.task_status(vm.status.stop.post(), 120)
        except Exception:
            pass

    def rundir(self, vmid):
        return os.path.join(self.daemon.root, "run", "qemu-server", str(vmid))

    def sock(self, vmid):
        return os.path.join(self.rundir(vmid), "swtpm.sock")

    def volume_file(self, volid):
        return self.daemon.root_call(
            "GET", "/nodes/%s/storage/%s/content/%s" % (self.node, volid.split(":")[0], volid)
        )["path"]

    def assert_efidisk(self, vmid, key, fmt, template):
        conf = self.qemu()(vmid).config.get()
        parts = conf[key].split(",")
        self.assertIn("efitype=4m", parts)
        self.assertIn("size=528K", parts)
        path = self.volume_file(parts[0])
        self.assertTrue(path.endswith("." + fmt), path)
        self.assertEqual(image_bytes(path, fmt), read(template))

    def test_efidisk_allocation(self):
        """efidisk0 is the vars template, of its size (not the 1 GiB asked),
        in the format asked; tpmstate0 is 4 MiB."""
        cases = [("vms", "raw"), ("vms", "qcow2")]
        if self.bpath:
            cases.append(("bvms", "raw"))
        vmid = 8100
        for store, fmt in cases:
            with self.subTest(store=store, fmt=fmt):
                fmtopt = ",format=qcow2" if fmt == "qcow2" else ""
                self.ok(self.qemu().post(
                    vmid=vmid, kvm=0, bios="ovmf",
                    efidisk0="%s:1,efitype=4m%s" % (store, fmtopt),
                    tpmstate0="%s:1,version=v2.0" % store))
                self.assert_efidisk(vmid, "efidisk0", fmt, VARS_4M)
                tpm = self.qemu()(vmid).config.get()["tpmstate0"].split(",")
                self.assertIn("size=4M", tpm)
                self.assertIn("version=v2.0", tpm)
                self.assertEqual(os.path.getsize(self.volume_file(tpm[0])), 4 << 20)
                # a config change allocates it the same way, here with the
                # Microsoft keys enrolled
                self.ok(self.qemu()(vmid).config.post(
                    efidisk0="%s:1,efitype=4m,pre-enrolled-keys=1%s" % (store, fmtopt)))
                self.assert_efidisk(vmid, "efidisk0", fmt, VARS_4M_MS)
                self.ok(self.qemu()(vmid).delete())
                vmid += 1

    def test_boot_ovmf(self):
        """The test guest boots under OVMF from its EFI El Torito entry."""
        vmid = 8110
        vm = self.qemu()(vmid)
        self.ok(self.qemu().post(
            vmid=vmid, kvm=0, memory=512, cores=1, bios="ovmf",
            efidisk0="vms:1,efitype=4m", ide2="vms:iso/%s,media=cdrom" % self.isoname,
            serial0="socket", boot="order=ide2"))
        self.addCleanup(self.stop_if_running, vmid)
        t0 = time.monotonic()
        self.ok(vm.status.start.post())
        booted = serial_wait(self.daemon, vmid, MARKER, BOOT_TIMEOUT)
        print("\nOVMF (TCG): start to marker %.1f s" % (time.monotonic() - t0))
        self.assertTrue(booted, "no marker on the serial console")
        self.ok(vm.status.shutdown.post(timeout=60), timeout=120)
        self.assertEqual(vm.status.current.get()["status"], "stopped")
        self.ok(vm.delete())

    def test_tpm(self):
        """swtpm runs with the VM and goes with it; QEMU has the TPM."""
        vmid = 8120
        vm = self.qemu()(vmid)
        base = "/nodes/%s/qemu/%d" % (self.node, vmid)
        self.ok(self.qemu().post(vmid=vmid, kvm=0, memory=64,
                                 tpmstate0="vms:1,version=v2.0"))
        self.addCleanup(self.stop_if_running, vmid)
        sock = self.sock(vmid)
        self.ok(vm.status.start.post())
        pids = swtpm_pids(sock)
        self.assertEqual(len(pids), 1, "swtpm of VM %d" % vmid)
        st = os.stat(sock)
        self.assertEqual(st.st_mode & 0o777, 0o600)
        out = self.daemon.root_call("POST", base + "/monitor", command="info tpm")
        self.assertIn("tpm-tis", out)
        self.assertIn("emulator", out)
        # the state was made by swtpm_setup (an EK, certificates): no
        # longer zeros
        tpm = vm.config.get()["tpmstate0"].split(",")[0]
        self.assertNotEqual(read(self.volume_file(tpm)).strip(b"\0"), b"")

        # a killed ctvmd leaves the running VM's swtpm alone
        self.kill9_and_restart()
        vm = self.qemu()(vmid)
        self.assertEqual(vm.status.current.get()["status"], "running")
        self.assertEqual(swtpm_pids(sock), pids)

        self.ok(vm.status.stop.post())
        self.assertEqual(swtpm_pids(sock), [], "swtpm left behind after stop")
        self.assertFalse(os.path.exists(self.rundir(vmid)))

        # a second start reuses the state (swtpm_setup --not-overwrite)
        state = read(self.volume_file(tpm))
        self.ok(vm.status.start.post())
        self.assertEqual(len(swtpm_pids(sock)), 1)
        self.ok(vm.status.stop.post())
        self.assertEqual(swtpm_pids(sock), [])
        self.assertEqual(read(self.volume_file(tpm))[:64], state[:64])

        # a start that fails after swtpm started (QEMU refuses its command
        # line) leaves no swtpm either
        self.daemon.root_call("PUT", base + "/config", args="-no-such-option")
        st = self.task_status(vm.status.start.post())
        self.assertNotEqual(st["exitstatus"], "OK")
        self.assertEqual(swtpm_pids(sock), [], "swtpm left behind after a failed start")
        self.assertFalse(os.path.exists(self.rundir(vmid)))
        self.ok(vm.delete())


if __name__ == "__main__":
    ctvmtest.main()
