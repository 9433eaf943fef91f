#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""VMs through the API (pve-api.md 7.1), as proxmoxer and Ansible drive them.

One daemon in a temporary root with a dir storage (images and iso).  A
throwaway host account with Administrator on / lists (empty, never 501),
creates VMs with a scsi0 disk allocated on the storage, a NIC without a MAC
(one is generated with Proxmox's prefix) and an ISO as cdrom, reads the
config back, changes it (digest conflict refused, bad values 400 with
`errors`, delete, revert), destroys it (no volume left; protected refused)
and sees VMs in /cluster/resources and /cluster/nextid.  A failed create
leaves no config and no volume.  A pve-realm user with PVEVMUser on one VM
reads it and nothing else, and can never set args or hookscript, not even
as Administrator on /.  No QEMU runs here: the VMs stay stopped.
"""

import os
import secrets
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ctvmtest  # noqa: E402

from proxmoxer.core import ResourceException  # noqa: E402


class VmApiTest(ctvmtest.AdminDaemonTest):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.path = os.path.join(cls.daemon.root, "srv", "vms")
        cls.daemon.root_call("POST", "/storage", storage="vms", type="dir", path=cls.path,
                             content="images,iso")
        os.makedirs(os.path.join(cls.path, "template", "iso"), exist_ok=True)
        with open(os.path.join(cls.path, "template", "iso", "boot.iso"), "wb") as f:
            f.write(b"\0" * 4096)

    # -- helpers ------------------------------------------------------------

    def qemu(self, api=None):
        return (api or self.admin).nodes(self.node).qemu

    def task_log(self, upid):
        lines = self.admin.nodes(self.node).tasks(upid).log.get(limit=500)
        return "\n".join(line["t"] for line in lines)

    def ok(self, upid):
        st = self.task_status(upid)
        self.assertEqual(st["exitstatus"], "OK", self.task_log(upid))
        return st

    def images(self, vmid):
        d = os.path.join(self.path, "images", str(vmid))
        return sorted(os.listdir(d)) if os.path.isdir(d) else []

    def conf_path(self, vmid):
        return os.path.join(self.daemon.root, "etc", "qemu-server", "%d.conf" % vmid)

    def create(self, vmid, **kw):
        upid = self.qemu().post(vmid=vmid, **kw)
        self.assertIn(":qmcreate:%d:" % vmid, upid)
        self.ok(upid)

    def destroy(self, vmid, **kw):
        self.ok(self.qemu()(vmid).delete(**kw))

    # -- tests --------------------------------------------------------------

    def test_01_list_empty(self):
        self.assertEqual(self.qemu().get(), [])

    def test_create_config_destroy(self):
        self.create(200, name="web1", memory=1024, cores=2, sockets=1, scsihw="virtio-scsi-pci",
                    scsi0="vms:1", net0="virtio,bridge=vmbr0", ide2="vms:iso/boot.iso,media=cdrom",
                    ostype="l26", kvm=0)
        conf = self.qemu()(200).config.get()
        self.assertEqual(conf["name"], "web1")
        self.assertEqual(conf["memory"], "1024" if isinstance(conf["memory"], str) else 1024)
        self.assertEqual(conf["cores"], 2)
        self.assertEqual(conf["kvm"], 0)
        self.assertRegex(conf["net0"], r"^virtio=BC:24:11:[0-9A-F]{2}:[0-9A-F]{2}:[0-9A-F]{2},"
                                       r"bridge=vmbr0$")
        self.assertRegex(conf["scsi0"], r"^vms:200/vm-200-disk-0\.(raw|qcow2),.*size=1G")
        self.assertIn("media=cdrom", conf["ide2"])
        self.assertRegex(conf["digest"], r"^[0-9a-f]{40}$")
        self.assertNotIn("lock", conf)
        self.assertEqual(len(self.images(200)), 1)

        # the list and the status
        vms = {v["vmid"]: v for v in self.qemu().get()}
        self.assertIn(200, vms)
        v = vms[200]
        self.assertEqual(v["name"], "web1")
        self.assertEqual(v["status"], "stopped")
        self.assertEqual(v["cpus"], 2)
        self.assertEqual(v["maxmem"], 1024 << 20)
        self.assertEqual(v["maxdisk"], 1 << 30)
        for k in ("mem", "disk", "uptime", "netin", "netout", "diskread", "diskwrite"):
            self.assertIsInstance(v[k], int, k)
        st = self.qemu()(200).status.current.get()
        self.assertEqual(st["status"], "stopped")
        self.assertEqual(st["qmpstatus"], "stopped")
        self.assertEqual(st["vmid"], 200)
        self.assertEqual(st["ha"], {"managed": 0})

        # resources and nextid
        res = [r for r in self.admin.cluster.resources.get(type="vm") if r["vmid"] == 200]
        self.assertEqual(len(res), 1)
        self.assertEqual(res[0]["id"], "qemu/200")
        self.assertEqual(res[0]["type"], "qemu")
        self.assertEqual(res[0]["template"], 0)
        self.assertEqual(res[0]["node"], self.node)
        self.assertEqual(res[0]["maxcpu"], 2)
        r = self.daemon.http("GET", "/cluster/nextid", ticket=self.ticket,
                             params={"vmid": "200"})
        self.assertEqual(r.status, 400)
        self.assertEqual(r.json()["errors"], {"vmid": "VM 200 already exists"})

        # the same VMID again
        r = self.api("POST", "/nodes/%s/qemu" % self.node, data={"vmid": "200"})
        self.assertEqual(r.status, 500)
        self.assertEqual(r.reason, "unable to create VM 200 - VM 200 already exists on node '%s'"
                         % self.node)

        # destroy: the disk goes with it
        self.destroy(200, purge=1)
        self.assertFalse(os.path.exists(self.conf_path(200)))
        self.assertEqual(self.images(200), [])
        self.assert_status(500, self.qemu()(200).config.get)

    def test_diridx(self):
        """GET /nodes/{node}/qemu/{vmid} and .../lxc/{vmid}: PVE's vmdiridx,
        in its order, less what ctvm has no method for."""
        self.create(209, name="idx", memory=512, kvm=0)
        names = [e["subdir"] for e in self.qemu()(209).get()]
        self.assertEqual(names, ["config", "pending", "status", "unlink", "vncproxy",
                                 "termproxy", "resize", "rrd", "rrddata", "monitor", "snapshot",
                                 "sendkey"])
        self.destroy(209)
        ct = os.path.join(self.daemon.root, "etc", "lxc", "309.conf")
        os.makedirs(os.path.dirname(ct), exist_ok=True)
        with open(ct, "w") as f:
            f.write("arch: amd64\nhostname: ct309\nmemory: 256\n")
        try:
            names = [e["subdir"] for e in self.admin.nodes(self.node).lxc(309).get()]
            self.assertEqual(names, ["config", "pending", "status", "vncproxy", "termproxy",
                                     "vncwebsocket", "clone", "rrddata", "snapshot", "resize",
                                     "interfaces"])
        finally:
            os.unlink(ct)

    def test_container_shares_the_namespace(self):
        """A container's config (lxc/<vmid>.conf) takes its VMID from the VMs
        too, and is in /cluster/resources as lxc/<vmid>, not in the VM list."""
        ct = os.path.join(self.daemon.root, "etc", "lxc", "300.conf")
        os.makedirs(os.path.dirname(ct), exist_ok=True)
        with open(ct, "w") as f:
            f.write("arch: amd64\ncores: 1\nhostname: ct300\nmemory: 256\n"
                    "rootfs: vms:300/vm-300-disk-0.raw,size=2G\nunprivileged: 1\n"
                    "lxc.apparmor.profile: unconfined\n")
        try:
            res = [r for r in self.admin.cluster.resources.get() if r.get("vmid") == 300]
            self.assertEqual(len(res), 1, res)
            self.assertEqual(res[0]["id"], "lxc/300")
            self.assertEqual(res[0]["type"], "lxc")
            self.assertEqual(res[0]["name"], "ct300")
            self.assertEqual(res[0]["maxmem"], 256 << 20)
            self.assertEqual(res[0]["maxdisk"], 2 << 30)
            self.assertEqual(res[0]["status"], "stopped")
            self.assertNotIn(300, [v["vmid"] for v in self.qemu().get()])
            r = self.daemon.http("GET", "/cluster/nextid", ticket=self.ticket,
                                 params={"vmid": "300"})
            self.assertEqual(r.status, 400)
            self.assertEqual(r.json()["errors"], {"vmid": "VM 300 already exists"})
            self.assertNotEqual(self.admin.cluster.nextid.get(), "300")
            r = self.api("POST", "/nodes/%s/qemu" % self.node, data={"vmid": "300"})
            self.assertEqual(r.status, 500)
            self.assertEqual(r.reason, "unable to create VM 300 - CT 300 already exists on "
                             "node '%s'" % self.node)
            self.assert_status(500, self.qemu()(300).config.get)
        finally:
            os.unlink(ct)

    def test_config_update(self):
        self.create(201, name="a", memory=512)
        vm = self.qemu()(201)
        digest = vm.config.get()["digest"]
        self.assertIsNone(vm.config.put(name="b", cores=4, digest=digest))
        conf = vm.config.get()
        self.assertEqual(conf["name"], "b")
        self.assertEqual(conf["cores"], 4)
        # the old digest is refused
        e = self.assert_status(400, vm.config.put, name="c", digest=digest)
        self.assertIn("detected modified configuration", str(e))
        # bad values: 400 with errors
        r = self.api("PUT", "/nodes/%s/qemu/201/config" % self.node, data={"cores": "0"})
        self.assertEqual(r.status, 400)
        self.assertIn("cores", r.json()["errors"])
        r = self.api("PUT", "/nodes/%s/qemu/201/config" % self.node, data={"ostype": "dos"})
        self.assertEqual(r.status, 400)
        self.assertIn("ostype", r.json()["errors"])
        r = self.api("PUT", "/nodes/%s/qemu/201/config" % self.node,
                     data={"net0": "virtio,bridge=vmbr0,tag=99999"})
        self.assertEqual(r.status, 400)
        self.assertIn("net0", r.json()["errors"])
        r = self.api("PUT", "/nodes/%s/qemu/201/config" % self.node, data={"bogus": "1"})
        self.assertEqual(r.status, 400)
        # delete
        self.assertIsNone(vm.config.put(delete="cores"))
        self.assertNotIn("cores", vm.config.get())
        r = self.api("PUT", "/nodes/%s/qemu/201/config" % self.node,
                     data={"name": "x", "delete": "name"})
        self.assertEqual(r.status, 400)
        # pending: nothing pending on a stopped VM
        pend = {p["key"]: p for p in vm.pending.get()}
        self.assertEqual(pend["name"]["value"], "b")
        self.assertNotIn("pending", pend["name"])
        # POST config is a task with the same result
        upid = vm.config.post(description="hello")
        self.assertIn(":qmconfig:201:", upid)
        self.ok(upid)
        self.assertEqual(vm.config.get()["description"], "hello")
        # the lock: key refuses changes until root removes it
        with open(self.conf_path(201), "a") as f:
            f.write("lock: backup\n")
        e = self.assert_status(500, vm.config.put, name="z")
        self.assertIn("VM is locked (backup)", str(e))
        self.daemon.root_call("PUT", "/nodes/%s/qemu/201/config" % self.node, delete="lock")
        self.assertIsNone(vm.config.put(name="z"))
        self.destroy(201)

    def test_pending_revert(self):
        # pending changes are kept as the file holds them: [PENDING]
        self.create(202, name="p", memory=512)
        with open(self.conf_path(202), "a") as f:
            f.write("\n[PENDING]\nmemory: 2048\ndelete: name\n")
        vm = self.qemu()(202)
        pend = {p["key"]: p for p in vm.pending.get()}
        self.assertEqual(pend["memory"]["value"], "512" if isinstance(
            pend["memory"]["value"], str) else 512)
        self.assertIn("pending", pend["memory"])
        self.assertEqual(pend["name"]["delete"], 1)
        self.assertNotIn("name", vm.config.get())
        self.assertEqual(vm.config.get(current=1)["name"], "p")
        self.assertIsNone(vm.config.put(revert="memory,name"))
        pend = {p["key"]: p for p in vm.pending.get()}
        self.assertNotIn("pending", pend["memory"])
        self.assertNotIn("delete", pend["name"])
        self.destroy(202)

    def test_destroy_protected(self):
        self.create(203, name="keep", protection=1, scsi0="vms:1")
        e = self.assert_status(500, self.qemu()(203).delete)
        self.assertEqual(e.status_message if hasattr(e, "status_message") else str(e),
                         e.status_message if hasattr(e, "status_message") else str(e))
        self.assertIn("can't remove VM 203 - protection mode enabled", str(e))
        self.assertTrue(os.path.exists(self.conf_path(203)))
        self.assertEqual(len(self.images(203)), 1)
        self.assertIsNone(self.qemu()(203).config.put(protection=0))
        self.destroy(203)
        self.assertEqual(self.images(203), [])

    def test_import_and_cdrom(self):
        """import-from copies an existing image into the new disk; cdrom=
        is the ISO on ide2."""
        self.create(207, scsi0="vms:1")
        src = self.qemu()(207).config.get()["scsi0"].split(",")[0]
        with open(os.path.join(self.path, "images", "207", src.split("/")[-1]), "r+b") as f:
            f.write(b"imported!")
        self.create(208, scsi0="vms:0,import-from=%s" % src, cdrom="vms:iso/boot.iso")
        conf = self.qemu()(208).config.get()
        self.assertRegex(conf["scsi0"], r"^vms:208/vm-208-disk-0\.raw,size=1G$")
        self.assertRegex(conf["ide2"], r"^vms:iso/boot\.iso,media=cdrom")
        with open(os.path.join(self.path, "images", "208", "vm-208-disk-0.raw"), "rb") as f:
            self.assertEqual(f.read(9), b"imported!")
        # PUT allocates a new disk in the call; a deleted disk becomes unused0
        self.assertIsNone(self.qemu()(208).config.put(virtio1="vms:1"))
        conf = self.qemu()(208).config.get()
        self.assertRegex(conf["virtio1"], r"^vms:208/vm-208-disk-1\.raw,size=1G$")
        self.assertIsNone(self.qemu()(208).config.put(delete="virtio1"))
        conf = self.qemu()(208).config.get()
        self.assertNotIn("virtio1", conf)
        self.assertEqual(conf["unused0"], "vms:208/vm-208-disk-1.raw")
        self.assertEqual(len(self.images(208)), 2)
        # import-from only into a new disk
        r = self.api("PUT", "/nodes/%s/qemu/208/config" % self.node,
                     data={"scsi2": "%s,import-from=%s" % (src, src)})
        self.assertEqual(r.status, 400)
        self.destroy(208)
        self.destroy(207)
        self.assertEqual(self.images(207) + self.images(208), [])

    def test_failed_create_leaves_nothing(self):
        # the second disk cannot be allocated: the first is freed again
        upid = self.qemu().post(vmid=204, scsi0="vms:1", scsi1="nosuch:1")
        st = self.task_status(upid)
        self.assertNotEqual(st["exitstatus"], "OK")
        self.assertFalse(os.path.exists(self.conf_path(204)))
        self.assertEqual(self.images(204), [])

    def test_vmuser(self):
        pw = secrets.token_urlsafe(12)
        self.create(205, name="mine")
        self.create(206, name="other")
        self.admin.access.users.post(userid="vmu@pve", password=pw)
        self.admin.access.acl.put(path="/vms/205", roles="PVEVMUser", users="vmu@pve")
        api = self.daemon.proxmoxer("vmu@pve", pw)
        self.assertEqual([v["vmid"] for v in self.qemu(api).get()], [205])
        self.assertEqual(self.qemu(api)(205).config.get()["name"], "mine")
        self.qemu(api)(205).status.current.get()
        self.assert_status(403, self.qemu(api)(206).config.get)
        self.assert_status(403, self.qemu(api)(206).status.current.get)
        # it may start and stop its VM (a real QEMU, TCG, no disk), not the other
        self.assert_status(403, self.qemu(api)(206).status.start.post)
        if os.access("/usr/bin/qemu-system-x86_64", os.X_OK):
            self.assertIsNone(self.qemu()(205).config.put(kvm=0, memory=64))
            self.ok(self.qemu(api)(205).status.start.post())
            self.assertEqual(self.qemu(api)(205).status.current.get()["status"], "running")
            self.ok(self.qemu(api)(205).status.stop.post())
            self.assertEqual(self.qemu(api)(205).status.current.get()["status"], "stopped")
        self.assertEqual([r["vmid"] for r in api.cluster.resources.get(type="vm")], [205])
        # PVEVMUser has no VM.Config.* and no VM.Allocate
        self.assert_status(403, self.qemu(api)(205).config.put, name="x")
        self.assert_status(403, self.qemu(api)(205).delete)
        self.assert_status(403, self.qemu(api).post, vmid=219)
        # args and hookscript are root@pam's whatever the role
        self.admin.access.acl.put(path="/", roles="Administrator", users="vmu@pve")
        try:
            for key, value in (("args", "-no-reboot"), ("hookscript", "vms:snippets/x.pl")):
                e = self.assert_status(403, self.qemu(api)(205).config.put, **{key: value})
                self.assertIn("only root can set '%s' config" % key, str(e))
                self.assert_status(403, self.qemu(api).post, vmid=219, **{key: value})
            self.assertFalse(os.path.exists(self.conf_path(219)))
            self.assertNotIn("args", self.qemu()(205).config.get())
            # root@pam may
            self.daemon.root_call("PUT", "/nodes/%s/qemu/205/config" % self.node,
                                  args="-no-reboot")
            self.assertEqual(self.qemu()(205).config.get()["args"], "-no-reboot")
            # and nobody else may take it away
            self.assert_status(403, self.qemu(api)(205).config.put, delete="args")
        finally:
            self.admin.access.acl.put(path="/", roles="Administrator", users="vmu@pve",
                                      delete=1)
        self.destroy(205)
        self.destroy(206)

    def fake_running(self, vmid):
        """A process that passes qemu-run's identity check for vmid (pidfile,
        alive, qmp.sock of its run directory on its command line): the VM
        counts as running without QEMU.  Returns the process."""
        d = os.path.join(self.daemon.root, "run", "qemu-server", str(vmid))
        os.makedirs(d, mode=0o700, exist_ok=True)
        p = subprocess.Popen(["/usr/bin/python3", "-c", "import time; time.sleep(120)",
                              os.path.join(d, "qmp.sock")])
        self.addCleanup(p.wait)
        self.addCleanup(p.kill)
        # Popen returns once the exec began, a moment before the kernel
        # shows the new command line
        qmp = os.path.join(d, "qmp.sock").encode()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            with open("/proc/%d/cmdline" % p.pid, "rb") as f:
                if qmp in f.read():
                    break
            time.sleep(0.01)
        with open(os.path.join(d, "pid"), "w") as f:
            f.write("%d\n" % p.pid)
        return p

    def test_running_rules(self):
        """While a VM runs: changes are pending (but its name at once), a
        start, a destroy and a template are refused with PVE's words."""
        self.create(210, name="r", memory=512, cores=1)
        vm = self.qemu()(210)
        p = self.fake_running(210)
        st = vm.status.current.get()
        self.assertEqual(st["status"], "running")
        self.assertEqual(st["pid"], p.pid)
        self.assertIsNone(vm.config.put(memory=1024, cores=2, name="r2", delete="ostype"))
        self.assertIsNone(vm.config.put(delete="cores"))
        pend = {e["key"]: e for e in vm.pending.get()}
        self.assertEqual(pend["memory"]["pending"], "1024" if isinstance(
            pend["memory"]["pending"], str) else 1024)
        self.assertEqual(pend["cores"]["delete"], 1)
        self.assertNotIn("pending", pend["name"])
        self.assertEqual(pend["name"]["value"], "r2")
        cur = vm.config.get(current=1)
        self.assertEqual(cur["memory"], "512" if isinstance(cur["memory"], str) else 512)
        self.assertEqual(cur["cores"], 1)
        new = vm.config.get()
        self.assertNotIn("cores", new)
        with open(self.conf_path(210)) as f:
            text = f.read()
        self.assertIn("[PENDING]", text)
        r = self.api("DELETE", "/nodes/%s/qemu/210" % self.node)
        self.assertEqual((r.status, r.reason), (500, "VM 210 is running - destroy failed"))
        r = self.api("POST", "/nodes/%s/qemu/210/status/start" % self.node)
        self.assertEqual((r.status, r.reason), (500, "VM 210 already running"))
        r = self.api("POST", "/nodes/%s/qemu/210/status/reboot" % self.node)
        self.assertEqual(r.status, 200)  # a task: it fails without QMP, the check passed
        self.task_status(r.json()["data"])
        # a reboot whose shutdown failed applied nothing: still pending
        pend = {e["key"]: e for e in vm.pending.get()}
        self.assertIn("pending", pend["memory"])
        # the lock: key is reported in lists and refuses what it should
        with open(self.conf_path(210), "r+") as f:
            text = f.read().replace("name: r2\n", "lock: backup\nname: r2\n", 1)
            f.seek(0)
            f.write(text)
            f.truncate()
        self.assertEqual([v.get("lock") for v in self.qemu().get() if v["vmid"] == 210],
                         ["backup"])
        r = self.api("POST", "/nodes/%s/qemu/210/status/reset" % self.node)
        self.assertEqual((r.status, r.reason), (500, "VM is locked (backup)"))
        p.kill()
        p.wait()
        self.assertEqual(vm.status.current.get()["status"], "stopped")
        self.daemon.root_call("PUT", "/nodes/%s/qemu/210/config" % self.node, delete="lock")
        self.destroy(210)

    def test_network(self):
        nets = self.admin.nodes(self.node).network.get()
        self.assertIsInstance(nets, list)
        for n in nets:
            self.assertIn(n["type"], ("bridge", "eth", "bond", "vlan"))
            self.assertEqual(n["exists"], 1)
        self.assertNotIn("lo", [n["iface"] for n in nets])
        self.assertEqual([n for n in nets if n["type"] == "bridge"],
                         self.admin.nodes(self.node).network.get(type="any_bridge"))


if __name__ == "__main__":
    ctvmtest.main()
