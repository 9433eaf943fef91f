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

    def ok(self, upid):
        st = self.task_status(upid)
        lines = self.admin.nodes(self.node).tasks(upid).log.get(limit=500)
        self.assertEqual(st["exitstatus"], "OK", "\n".join(x["t"] for x in lines))

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


if __name__ == "__main__":
    ctvmtest.main()
