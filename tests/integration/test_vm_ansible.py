#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""Issue 12's Ansible acceptance: Debian's community.general modules drive
VMs on ctvmd as they drive Proxmox (pve-api.md 8.4 and section 12).

proxmox_kvm (kvm: false) creates a VM with a scsi0 disk, a net0 NIC on a
bridge this test makes and the tiny test guest as cdrom, updates it, starts
it, stops it (the guest powers off on ACPI), clones it, makes a template of
it (update with template: true, as 6.6.2 does) and deletes them.
proxmox_snap creates, rolls back and removes a snapshot; proxmox_disk adds,
resizes and moves a disk; proxmox_nic adds and removes a NIC.  Each run is
idempotent where the module is (a second run says changed: false).
Skipped without QEMU or the test guest ISO.
"""

import json
import os
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ctvmtest  # noqa: E402
from test_vm_boot import MARKER, guest_iso_or_skip, serial_wait, upload_iso  # noqa: E402


def run_ansible_json(daemon, user, password, module, args):
    """ctvmtest.run_ansible with the module's arguments as JSON, so dicts
    (scsi, net, ide) and values with '=' and ',' pass as they are."""
    args = dict(args, api_host="%s:%d" % (daemon.host, daemon.port), api_user=user,
                api_password=password, validate_certs=False)
    argv = ["ansible", "localhost", "-m", "community.general." + module, "-a",
            json.dumps(args)]
    with tempfile.TemporaryDirectory() as home:
        env = dict(os.environ, HOME=home, LANG="C.UTF-8", LC_ALL="C.UTF-8",
                   ANSIBLE_NOCOWS="1", ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
                   ANSIBLE_STDOUT_CALLBACK="json", ANSIBLE_LOCALHOST_WARNING="False",
                   ANSIBLE_INVENTORY_UNPARSED_WARNING="False",
                   ANSIBLE_PYTHON_INTERPRETER="/usr/bin/python3",
                   ANSIBLE_LOCAL_TEMP=os.path.join(home, "tmp"),
                   ANSIBLE_REMOTE_TEMP=os.path.join(home, "rtmp"))
        p = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=300,
                           stdin=subprocess.DEVNULL)
    try:
        out = json.loads(p.stdout)
        return out["plays"][0]["tasks"][0]["hosts"]["localhost"], p
    except (ValueError, KeyError, IndexError):
        return None, p


class VmAnsibleTest(ctvmtest.AdminDaemonTest):

    @classmethod
    def setUpClass(cls):
        if not os.path.exists("/usr/bin/ansible"):
            raise unittest.SkipTest("no ansible")
        cls.iso = guest_iso_or_skip()
        super().setUpClass()
        cls.bridge = "vmbra%d" % (os.getpid() % 100000)
        subprocess.run(["ip", "link", "add", "name", cls.bridge, "type", "bridge"], check=True)
        cls.addClassCleanup(subprocess.run, ["ip", "link", "del", cls.bridge])
        subprocess.run(["ip", "link", "set", cls.bridge, "up"], check=True)
        cls.path = os.path.join(cls.daemon.root, "srv", "vms")
        cls.daemon.root_call("POST", "/storage", storage="vms", type="dir", path=cls.path,
                             content="images,iso")
        cls.path2 = os.path.join(cls.daemon.root, "srv", "vms2")
        cls.daemon.root_call("POST", "/storage", storage="vms2", type="dir", path=cls.path2,
                             content="images")
        cls.isoname = upload_iso(cls.admin, cls.node, "vms", cls.iso)

    def ansible(self, module, **args):
        if module == "proxmox_kvm":
            args.setdefault("node", self.node)
        res, p = run_ansible_json(self.daemon, self.acct.userid, self.acct.password,
                                           module, args)
        if res is None:
            self.fail("ansible %s: rc %d\n%s\n%s" % (module, p.returncode, p.stdout, p.stderr))
        self.assertFalse(res.get("failed"), "%s: %s" % (module, res.get("msg")))
        return res

    def vm(self, vmid):
        return self.admin.nodes(self.node).qemu(vmid)

    def wait_idle(self, vmid, timeout=120):
        """Modules that do not wait for their task (proxmox_disk resize):
        until no task of vmid runs."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            running = [t for t in self.admin.nodes(self.node).tasks.get(source="active")
                       if t.get("id") == str(vmid)]
            if not running:
                return
            time.sleep(0.2)
        self.fail("tasks of %d still running" % vmid)

    def stop_quietly(self, vmid):
        """A failed test leaves no QEMU (and no tap) behind."""
        r = self.api("POST", "/nodes/%s/qemu/%d/status/stop" % (self.node, vmid),
                     data={"skiplock": "0"})
        if r.status == 200:
            self.task_status(r.json()["data"])
        pidfile = os.path.join(self.daemon.root, "run", "qemu-server", str(vmid), "pid")
        try:
            with open(pidfile) as f:
                pid = int(f.read().strip())
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                if pidfile.encode() in f.read():
                    os.kill(pid, 9)
        except (OSError, ValueError):
            pass
        subprocess.run(["ip", "link", "del", "tap%di0" % vmid], stderr=subprocess.DEVNULL)

    def test_kvm_lifecycle(self):
        kvm = dict(vmid=500, name="ans1", kvm=False, memory=256, cores=1,
                   scsihw="virtio-scsi-pci", scsi={"scsi0": "vms:1,format=qcow2"},
                   ide={"ide2": "vms:iso/%s,media=cdrom" % self.isoname},
                   net={"net0": "virtio,bridge=%s" % self.bridge}, boot="order=ide2;scsi0",
                   serial={"serial0": "socket"},
                   timeout=120)
        res = self.ansible("proxmox_kvm", **kvm)
        self.addCleanup(self.stop_quietly, 500)
        self.assertTrue(res["changed"])
        self.assertEqual(res["vmid"], 500)
        conf = self.vm(500).config.get()
        self.assertRegex(conf["scsi0"], r"^vms:500/vm-500-disk-0\.qcow2")
        self.assertRegex(conf["net0"], r"^virtio=BC:24:11:")
        self.assertEqual(conf["kvm"], 0)
        # present again: unchanged
        res = self.ansible("proxmox_kvm", **kvm)
        self.assertFalse(res["changed"])
        # update
        res = self.ansible("proxmox_kvm", vmid=500, name="ans1", update=True, memory=320,
                           cores=2, description="updated by ansible")
        self.assertTrue(res["changed"])
        conf = self.vm(500).config.get()
        self.assertEqual(conf["memory"] if isinstance(conf["memory"], int)
                         else int(conf["memory"]), 320)
        self.assertEqual(conf["cores"], 2)

        # proxmox_nic: add, again (unchanged), remove
        res = self.ansible("proxmox_nic", vmid=500, interface="net1", model="e1000",
                           bridge=self.bridge, tag=12)
        self.assertTrue(res["changed"])
        self.assertRegex(self.vm(500).config.get()["net1"],
                         r"^e1000=BC:24:11:[0-9A-F:]{8},bridge=%s,tag=12$" % self.bridge)
        res = self.ansible("proxmox_nic", vmid=500, interface="net1", model="e1000",
                           bridge=self.bridge, tag=12)
        self.assertFalse(res["changed"])
        res = self.ansible("proxmox_nic", vmid=500, interface="net1", state="absent")
        self.assertTrue(res["changed"])
        self.assertNotIn("net1", self.vm(500).config.get())

        # proxmox_disk: add, resize, move
        res = self.ansible("proxmox_disk", vmid=500, disk="scsi1", storage="vms", size=1,
                           format="qcow2", state="present")
        self.assertTrue(res["changed"])
        self.assertRegex(self.vm(500).config.get()["scsi1"], r"^vms:500/vm-500-disk-1\.qcow2")
        res = self.ansible("proxmox_disk", vmid=500, disk="scsi1", size="+1G", state="resized")
        self.assertTrue(res["changed"])
        self.wait_idle(500)
        self.assertIn("size=2G", self.vm(500).config.get()["scsi1"])
        res = self.ansible("proxmox_disk", vmid=500, disk="scsi1", target_storage="vms2",
                           format="raw", delete_moved=True, state="moved", timeout=120)
        self.assertTrue(res["changed"])
        self.assertRegex(self.vm(500).config.get()["scsi1"], r"^vms2:500/vm-500-disk-0\.raw")
        res = self.ansible("proxmox_disk", vmid=500, disk="scsi1", state="absent")
        self.assertTrue(res["changed"])
        self.assertNotIn("scsi1", self.vm(500).config.get())

        # proxmox_snap on the stopped VM: create, rollback, remove
        res = self.ansible("proxmox_snap", vmid=500, hostname="ans1", snapname="before",
                           description="ansible snapshot", state="present", timeout=120)
        self.assertTrue(res["changed"])
        self.assertIn("before", [s["name"] for s in self.vm(500).snapshot.get()])
        res = self.ansible("proxmox_snap", vmid=500, hostname="ans1", snapname="before",
                           state="present")
        self.assertFalse(res["changed"])
        self.ansible("proxmox_kvm", vmid=500, name="ans1", update=True, cores=3)
        res = self.ansible("proxmox_snap", vmid=500, hostname="ans1", snapname="before",
                           state="rollback", timeout=120)
        self.assertTrue(res["changed"])
        self.assertEqual(self.vm(500).config.get()["cores"], 2)

        # start, a snapshot of the running VM, stop
        res = self.ansible("proxmox_kvm", vmid=500, state="started", timeout=120)
        self.assertTrue(res["changed"])
        self.assertEqual(self.vm(500).status.current.get()["status"], "running")
        res = self.ansible("proxmox_snap", vmid=500, hostname="ans1", snapname="running",
                           state="present", timeout=120)
        self.assertTrue(res["changed"])
        self.assertEqual(self.vm(500).status.current.get()["qmpstatus"], "running")
        res = self.ansible("proxmox_snap", vmid=500, hostname="ans1", snapname="running",
                           state="absent", timeout=120)
        self.assertTrue(res["changed"])
        # the guest powers off on the ACPI button once it has booted
        self.assertTrue(serial_wait(self.daemon, 500, MARKER), "the guest did not boot")
        res = self.ansible("proxmox_kvm", vmid=500, state="stopped", force=True, timeout=120)
        self.assertTrue(res["changed"])
        self.assertEqual(self.vm(500).status.current.get()["status"], "stopped")
        res = self.ansible("proxmox_snap", vmid=500, hostname="ans1", snapname="before",
                           state="absent", timeout=120)
        self.assertTrue(res["changed"])
        self.assertEqual([s["name"] for s in self.vm(500).snapshot.get()], ["current"])

        # clone (full), then a template of the source and a linked clone of it
        res = self.ansible("proxmox_kvm", vmid=500, clone="ans1", newid=501, name="ans2",
                           full=True, storage="vms", format="qcow2", timeout=120)
        self.assertTrue(res["changed"])
        self.assertRegex(self.vm(501).config.get()["scsi0"], r"^vms:501/vm-501-disk-0\.qcow2")
        res = self.ansible("proxmox_kvm", vmid=500, name="ans1", update=True, template=True)
        self.assertTrue(res["changed"])
        self.assertEqual(self.vm(500).config.get()["template"], 1)
        r = self.api("POST", "/nodes/%s/qemu/500/template" % self.node)
        self.assertEqual((r.status, r.reason),
                         (500, "you can't convert a template to a template"))

        # delete both
        for vmid, name in ((501, "ans2"), (500, "ans1")):
            res = self.ansible("proxmox_kvm", vmid=vmid, name=name, state="absent", timeout=120)
            self.assertTrue(res["changed"])
            self.assertFalse(os.path.exists(os.path.join(
                self.daemon.root, "etc", "qemu-server", "%d.conf" % vmid)))
        self.assertEqual(os.listdir(os.path.join(self.path, "images", "500"))
                         if os.path.isdir(os.path.join(self.path, "images", "500")) else [], [])


if __name__ == "__main__":
    ctvmtest.main()
