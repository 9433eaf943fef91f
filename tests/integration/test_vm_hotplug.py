#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""Changes a running VM takes at once (Proxmox's hotplug, default
`network,disk,usb`).

A VM without a disk (QEMU under TCG, no guest OS needed) with net0 on a
bridge this test creates is started.  Through PUT .../config: net0's
link_down is applied at once (QMP set_link); a new net1 on the bridge is
hot-plugged (its tap joined to the bridge, the NIC on QEMU's PCI bus) and
its tap goes when the VM stops; a NIC on a bridge that does not exist fails
to hot-plug and stays pending with the VM running untouched; other keys stay
pending; with `hotplug` not naming network a new NIC stays pending.  The
monitor (root@pam only) and sendkey reach the running VM.  Skipped without
QEMU.

VmHotplugGuestTest boots the test guest ISO (its Linux lets PCI devices
go on device_del) in one VM for the class: scsi and virtio disks plugged
and unplugged (the volume becomes unusedN), a disk that cannot open stays
pending with the VM running, the cdrom's medium ejected and put back, a
NIC moved to another bridge, re-tagged and rate-limited on its tap, a new
model re-plugged, a NIC unplugged with its tap.
"""

import json
import os
import socket
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ctvmtest  # noqa: E402

QEMU = "/usr/bin/qemu-system-x86_64"


def qmp(path, command, timeout=10):
    """One QMP command on the VM's socket; its return value."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(path)
        f = s.makefile("rwb")

        def call(cmd):
            f.write(json.dumps({"execute": cmd}).encode() + b"\n")
            f.flush()
            while True:
                msg = json.loads(f.readline())
                if "return" in msg or "error" in msg:
                    return msg
        json.loads(f.readline())  # greeting
        call("qmp_capabilities")
        return call(command)


class VmHotplugTest(ctvmtest.AdminDaemonTest):
    """VM ids 7400.. : taps are named after them host-wide."""

    @classmethod
    def setUpClass(cls):
        if not os.access(QEMU, os.X_OK):
            raise unittest.SkipTest("no %s" % QEMU)
        super().setUpClass()
        cls.bridge = "vmbrh%d" % (os.getpid() % 100000)
        subprocess.run(["ip", "link", "add", "name", cls.bridge, "type", "bridge"], check=True)
        cls.addClassCleanup(subprocess.run, ["ip", "link", "del", cls.bridge])
        subprocess.run(["ip", "link", "set", cls.bridge, "up"], check=True)

    def qemu(self):
        return self.admin.nodes(self.node).qemu

    def pending(self, vmid):
        return {p["key"]: p for p in self.qemu()(vmid).pending.get() if "pending" in p}

    def start_vm(self, vmid, **kw):
        self.ok(self.qemu().post(vmid=vmid, kvm=0, memory=64,
                                 net0="virtio,bridge=%s" % self.bridge, **kw))
        self.addCleanup(self.stop_quietly, vmid)
        self.ok(self.qemu()(vmid).status.start.post())
        self.assertEqual(self.qemu()(vmid).status.current.get()["status"], "running")

    def stop_quietly(self, vmid):
        try:
            self.task_status(self.qemu()(vmid).status.stop.post())
        except Exception:
            pass  # gone already

    def qmp_sock(self, vmid):
        return os.path.join(self.daemon.root, "run", "qemu-server", str(vmid), "qmp.sock")

    def pci_ids(self, vmid):
        ret = qmp(self.qmp_sock(vmid), "query-pci")["return"]
        return [d.get("qdev_id") for bus in ret for d in bus["devices"]]

    def tap_master(self, tap):
        link = "/sys/class/net/%s/master" % tap
        return os.path.basename(os.readlink(link)) if os.path.exists(link) else None

    def test_nic_hotplug(self):
        vmid = 7400
        self.start_vm(vmid)
        vm = self.qemu()(vmid)
        pid = vm.status.current.get()["pid"]
        net0 = vm.config.get()["net0"]

        # link_down: set_link at once
        vm.config.put(net0=net0 + ",link_down=1")
        self.assertEqual(vm.config.get(current=1)["net0"], net0 + ",link_down=1")
        self.assertNotIn("net0", self.pending(vmid))
        vm.config.put(net0=net0)
        self.assertEqual(vm.config.get(current=1)["net0"], net0)

        # a new NIC: tap on the bridge, device on the PCI bus
        vm.config.put(net1="virtio,bridge=%s" % self.bridge)
        self.assertIn("net1", vm.config.get(current=1))
        self.assertNotIn("net1", self.pending(vmid))
        tap = "tap%di1" % vmid
        self.assertEqual(self.tap_master(tap), self.bridge)
        self.assertIn("net1", self.pci_ids(vmid))

        # a NIC that cannot be plugged stays pending and PVE's answer says
        # so (update_vm_api raises vmconfig_hotplug_pending's errors once
        # the config is written); the VM runs on untouched
        path = "/nodes/%s/qemu/%d/config" % (self.node, vmid)
        r = self.api("PUT", path, data={"net2": "virtio,bridge=nosuch0"})
        self.assertEqual((r.status, r.reason), (400, "Parameter verification failed."))
        self.assertEqual(list(r.json()["errors"]), ["net2"])
        self.assertTrue(r.json()["errors"]["net2"].startswith("hotplug problem - "),
                        r.json()["errors"])
        self.assertIn("net2", self.pending(vmid))
        # POST: the task fails with PVE's flattened exception, the change
        # pending and named in the log
        upid = vm.config.post(net3="virtio,bridge=nosuch0")
        st = self.task_status(upid)
        self.assertTrue(st["exitstatus"].startswith(
            "400 Parameter verification failed. net3: hotplug problem - "), st)
        log = [x["t"] for x in self.admin.nodes(self.node).tasks(upid).log.get(limit=500)]
        self.assertTrue(any(line.startswith("WARN: net3: hotplug problem - ") for line in log),
                        log)
        self.assertIn("net3", self.pending(vmid))
        self.assertNotIn("net3", vm.config.get(current=1))
        self.assertFalse(os.path.exists("/sys/class/net/tap%di3" % vmid))
        self.assertNotIn("net2", vm.config.get(current=1))
        self.assertFalse(os.path.exists("/sys/class/net/tap%di2" % vmid))
        self.assertNotIn("net2", self.pci_ids(vmid))
        st = vm.status.current.get()
        self.assertEqual((st["status"], st["pid"]), ("running", pid))

        # what QEMU cannot take while it runs stays pending, as before
        vm.config.put(memory=128)
        self.assertIn("memory", self.pending(vmid))

        # the hot-plugged tap goes with the VM
        self.ok(vm.status.stop.post())
        self.assertFalse(os.path.exists("/sys/class/net/" + tap))
        vm.config.put(delete="net2,net3")
        self.ok(vm.delete())

    def test_hotplug_option(self):
        vmid = 7401
        self.start_vm(vmid, hotplug="disk,usb")
        vm = self.qemu()(vmid)
        vm.config.put(net1="virtio,bridge=%s" % self.bridge)
        self.assertIn("net1", self.pending(vmid))
        self.assertFalse(os.path.exists("/sys/class/net/tap%di1" % vmid))
        self.assertNotIn("net1", self.pci_ids(vmid))
        self.ok(vm.status.stop.post())
        self.ok(vm.delete())

    def test_monitor_and_sendkey(self):
        vmid = 7402
        self.start_vm(vmid)
        vm = self.qemu()(vmid)
        base = "/nodes/%s/qemu/%d" % (self.node, vmid)
        # the monitor is root@pam's alone, even for an Administrator on /
        e = self.assert_status(403, vm.monitor.post, command="info status")
        self.assertIn("user != root@pam", str(e))
        out = self.daemon.root_call("POST", base + "/monitor", command="info status")
        self.assertIn("running", out)
        # sendkey: VM.Console, QEMU's key names
        self.assertIsNone(vm.sendkey.put(key="ctrl-alt-delete"))
        self.assert_status(400, vm.sendkey.put, key="a b")
        self.assert_status(400, vm.sendkey.put, key="ret\ninfo status")
        self.assert_status(500, vm.sendkey.put, key="nosuchkey")
        self.ok(vm.status.stop.post())
        r = self.daemon.root_http("POST", base + "/monitor", data={"command": "info status"})
        self.assertEqual((r.status, r.reason), (500, "VM %d not running" % vmid))
        self.ok(vm.delete())

    def test_start_applies_rate(self):
        """A NIC's rate= limits its tap from the start (htb root qdisc)."""
        vmid = 7403
        self.ok(self.qemu().post(vmid=vmid, kvm=0, memory=64,
                                 net0="virtio,bridge=%s" % self.bridge,
                                 net1="virtio,bridge=%s,rate=10" % self.bridge))
        self.addCleanup(self.stop_quietly, vmid)
        st = self.task_status(self.qemu()(vmid).status.start.post())
        # a kernel without tc policing limits one direction only, and warns
        self.assertIn(st["exitstatus"], ("OK", "WARNINGS: 1"))
        out = subprocess.run(["tc", "qdisc", "show", "dev", "tap%di1" % vmid],
                             capture_output=True, text=True, check=True).stdout
        self.assertIn("htb", out)
        out = subprocess.run(["tc", "qdisc", "show", "dev", "tap%di0" % vmid],
                             capture_output=True, text=True, check=True).stdout
        self.assertNotIn("htb", out)
        self.ok(self.qemu()(vmid).status.stop.post())
        self.ok(self.qemu()(vmid).delete())


class VmHotplugGuestTest(ctvmtest.AdminDaemonTest):
    """One booted guest, VM 7410, for the whole class."""

    vmid = 7410

    @classmethod
    def setUpClass(cls):
        from test_vm_boot import MARKER, guest_iso_or_skip, serial_wait, upload_iso
        cls.iso = guest_iso_or_skip()
        super().setUpClass()
        pid = os.getpid() % 10000
        cls.br_a, cls.br_b = "vmbra%d" % pid, "vmbrv%d" % pid
        for br in (cls.br_a, cls.br_b):
            subprocess.run(["ip", "link", "add", "name", br, "type", "bridge"], check=True)
            cls.addClassCleanup(subprocess.run, ["ip", "link", "del", br])
            subprocess.run(["ip", "link", "set", br, "up"], check=True)
        # a kernel without CONFIG_BRIDGE_VLAN_FILTERING has no VLAN-aware bridge
        cls.vlan_aware = subprocess.run(
            ["ip", "link", "set", cls.br_b, "type", "bridge", "vlan_filtering", "1"],
            stderr=subprocess.DEVNULL).returncode == 0
        cls.path = os.path.join(cls.daemon.root, "srv", "vms")
        cls.daemon.root_call("POST", "/storage", storage="vms", type="dir", path=cls.path,
                             content="images,iso")
        isoname = upload_iso(cls.admin, cls.node, "vms", cls.iso)
        cls.cdrom = "vms:iso/%s,media=cdrom" % isoname
        qemu = cls.admin.nodes(cls.node).qemu
        cls.wait_ok(qemu.post(vmid=cls.vmid, kvm=0, memory=256, cores=1, ide2=cls.cdrom,
                              scsihw="virtio-scsi-pci", serial0="socket", boot="order=ide2",
                              net0="virtio,bridge=%s" % cls.br_a))
        cls.addClassCleanup(cls.destroy)
        cls.wait_ok(qemu(cls.vmid).status.start.post())
        cls.vm = qemu(cls.vmid)
        # PCI devices leave only once the guest's kernel lets them
        if not serial_wait(cls.daemon, cls.vmid, MARKER):
            raise AssertionError("the guest did not boot")

    @classmethod
    def wait_ok(cls, upid, timeout=300):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            st = cls.admin.nodes(cls.node).tasks(upid).status.get()
            if st["status"] == "stopped":
                break
            time.sleep(0.1)
        if st.get("exitstatus") != "OK":
            lines = cls.admin.nodes(cls.node).tasks(upid).log.get(limit=500)
            raise AssertionError("%s\n%s" % (st, "\n".join(x["t"] for x in lines)))

    @classmethod
    def destroy(cls):
        try:
            cls.wait_ok(cls.vm.status.stop.post())
            cls.wait_ok(cls.vm.delete(purge=1))
        except Exception:
            pass

    def setUp(self):
        st = self.vm.status.current.get()
        self.assertEqual(st["status"], "running")
        self.pid = st["pid"]

    def tearDown(self):
        st = self.vm.status.current.get()
        self.assertEqual((st["status"], st["pid"]), ("running", self.pid))

    def qmp(self, command, **args):
        path = os.path.join(self.daemon.root, "run", "qemu-server", str(self.vmid), "qmp.sock")
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(10)
            s.connect(path)
            f = s.makefile("rwb")
            json.loads(f.readline())
            for cmd, a in (("qmp_capabilities", {}), (command, args)):
                f.write(json.dumps({"execute": cmd, "arguments": a}).encode() + b"\n")
                f.flush()
                while True:
                    msg = json.loads(f.readline())
                    if "return" in msg or "error" in msg:
                        break
            return msg["return"]

    def put(self, **data):
        """PUT config, which must succeed (the errors in the message)."""
        path = "/nodes/%s/qemu/%d/config" % (self.node, self.vmid)
        r = self.api("PUT", path, data=data)
        self.assertEqual(r.status, 200, (r.reason, r.json()))

    def pending(self):
        return {p["key"]: p for p in self.vm.pending.get() if "pending" in p}

    def blocks(self):
        """qdev id -> inserted node name (None: empty) of QEMU's drives."""
        def qdev_id(b):
            # "<id>", or "/machine/peripheral/<id>/virtio-backend"
            parts = b.get("qdev", "").split("/")
            if parts[:3] == ["", "machine", "peripheral"]:
                return parts[3]
            return b.get("qdev") or b["device"]
        return {qdev_id(b): (b.get("inserted") or {}).get("node-name")
                for b in self.qmp("query-block")}

    def pci(self):
        """qdev id -> (vendor, device) on QEMU's PCI bus."""
        return {d.get("qdev_id"): (d["id"]["vendor"], d["id"]["device"])
                for bus in self.qmp("query-pci") for d in bus["devices"]}

    def test_disks(self):
        # a new scsi disk: the controller and the disk, at once
        self.put(scsi1="vms:1")
        conf = self.vm.config.get(current=1)
        self.assertIn("scsi1", conf)
        self.assertNotIn("scsi1", self.pending())
        self.assertEqual(self.blocks().get("scsi1"), "drive-scsi1")
        self.assertIn("scsihw0", self.pci())
        vol1 = conf["scsi1"].split(",")[0]
        # a virtio disk: a PCI device of its own
        self.put(virtio1="vms:1,iothread=1")
        vol2 = self.vm.config.get(current=1)["virtio1"].split(",")[0]
        self.assertIn("virtio1", self.pci())
        self.assertEqual(self.blocks().get("virtio1"), "drive-virtio1")

        # unplugged: gone from QEMU, the volume kept as unused
        self.put(delete="scsi1")
        conf = self.vm.config.get(current=1)
        self.assertNotIn("scsi1", conf)
        self.assertEqual(conf.get("unused0"), vol1)
        self.assertNotIn("scsi1", self.blocks())
        self.put(delete="virtio1")
        conf = self.vm.config.get(current=1)
        self.assertNotIn("virtio1", conf)
        self.assertEqual(conf.get("unused1"), vol2)
        self.assertNotIn("virtio1", self.pci())
        self.assertNotIn("virtio1", self.blocks())
        self.assertEqual(self.pending(), {})

        # sata waits for the next start
        self.put(sata1=vol1)
        self.assertIn("sata1", self.pending())
        self.assertNotIn("sata1", self.blocks())
        self.put(revert="sata1")

    def test_disk_failing(self):
        # a volume that cannot open: pending, the error PVE gives, nothing
        # left in QEMU
        path = "/nodes/%s/qemu/%d/config" % (self.node, self.vmid)
        missing = "vms:%d/vm-%d-disk-9.raw" % (self.vmid, self.vmid)
        before = self.blocks()
        objects = {o["name"] for o in self.qmp("qom-list", path="/objects")}
        r = self.api("PUT", path, data={"scsi4": missing})
        self.assertEqual(r.status, 400, r.reason)
        self.assertTrue(r.json()["errors"]["scsi4"].startswith("hotplug problem - "),
                        r.json())
        self.assertIn("scsi4", self.pending())
        self.assertNotIn("scsi4", self.vm.config.get(current=1))
        self.assertEqual(self.blocks(), before)
        self.assertEqual({o["name"] for o in self.qmp("qom-list", path="/objects")}
                         - objects, set())
        self.put(revert="scsi4")

    def test_cdrom(self):
        self.put(ide2="none,media=cdrom")
        self.assertEqual(self.vm.config.get(current=1)["ide2"], "none,media=cdrom")
        self.assertIsNone(self.blocks()["ide2"])
        self.put(ide2=self.cdrom)
        self.assertEqual(self.blocks()["ide2"], "drive-ide2")
        self.assertNotIn("ide2", self.pending())

    def test_nic(self):
        tap = "tap%di0" % self.vmid
        net0 = self.vm.config.get()["net0"]
        mac = net0.split(",")[0].split("=")[1]

        def put(**kw):
            value = "virtio=%s,bridge=%s" % (mac, kw.pop("bridge"))
            value += "".join(",%s=%s" % kv for kv in kw.items())
            self.put(net0=value)
            self.assertEqual(self.vm.config.get(current=1)["net0"], value)
            self.assertNotIn("net0", self.pending())

        def link():
            out = subprocess.run(["ip", "-j", "link", "show", "dev", tap], check=True,
                                 capture_output=True, text=True).stdout
            return json.loads(out)[0]

        # another bridge, then a tag on the VLAN-aware one: on the tap
        put(bridge=self.br_b)
        self.assertEqual(link().get("master"), self.br_b)
        if self.vlan_aware:
            put(bridge=self.br_b, tag=5)
            out = subprocess.run(["bridge", "-j", "vlan", "show", "dev", tap], check=True,
                                 capture_output=True, text=True).stdout
            vlans = [v for d in json.loads(out) for v in d["vlans"]]
            self.assertEqual([(v["vlan"], "PVID" in v.get("flags", [])) for v in vlans],
                             [(5, True)])
        else:
            # a tag the bridge cannot carry: pending, the tap where it was
            path = "/nodes/%s/qemu/%d/config" % (self.node, self.vmid)
            r = self.api("PUT", path, data={
                "net0": "virtio=%s,bridge=%s,tag=5" % (mac, self.br_b)})
            self.assertEqual(r.status, 400, r.reason)
            self.assertIn("not VLAN aware", r.json()["errors"]["net0"])
            self.assertIn("net0", self.pending())
            self.assertEqual(link().get("master"), self.br_b)
            self.put(revert="net0")
        # a rate: htb on the tap; none again: gone
        put(bridge=self.br_a, rate=10)
        self.assertEqual(link().get("master"), self.br_a)

        def qdiscs():
            return subprocess.run(["tc", "qdisc", "show", "dev", tap], check=True,
                                  capture_output=True, text=True).stdout
        self.assertIn("htb", qdiscs())
        put(bridge=self.br_a)
        self.assertNotIn("htb", qdiscs())

        # another model: a new device (e1000 is 8086:100e)
        self.put(net0="e1000=%s,bridge=%s" % (mac, self.br_a))
        self.assertNotIn("net0", self.pending())
        self.assertEqual(self.pci().get("net0"), (0x8086, 0x100e))
        self.assertEqual(link().get("master"), self.br_a)

        # a second NIC plugged and unplugged: its tap goes
        self.put(net1="virtio,bridge=%s" % self.br_a)
        self.assertIn("net1", self.pci())
        self.put(delete="net1")
        self.assertNotIn("net1", self.vm.config.get(current=1))
        self.assertNotIn("net1", self.pci())
        self.assertFalse(os.path.exists("/sys/class/net/tap%di1" % self.vmid))
        self.assertEqual(self.pending(), {})


if __name__ == "__main__":
    ctvmtest.main()
