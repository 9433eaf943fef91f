#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""Issue 13's Ansible acceptance: Debian's community.general.proxmox module
(pve-api.md 8.3) drives containers on ctvmd as it drives Proxmox.

The busybox template (tests/fixtures/ct-template) is uploaded as vztmpl
through the API; the module creates a container with hostname, password,
disk, cores, cpus (cpulimit), cpuunits, memory, swap and netif, starts,
restarts, stops and deletes it, unprivileged and privileged.  From the host
(never through ctvmd): the container's init and its sleeper among the
host's processes in the container's pid namespace, its hostname (nsenter),
its uid map, root's password hash written inside, its veth on the bridge,
and the cgroup v1 files (memory.limit_in_bytes, memory.memsw.limit_in_bytes
when swap accounting is on, cpu.cfs_quota_us/cfs_period_us, cpu.shares)
holding the configured limits.

Privileged containers are root@pam's in ctvm (docs/containers.md): the
module, logged in as a pam Administrator, is refused one (403), so the
privileged container is created by root@pam on the unix socket and the
module runs its life cycle.  Skipped without LXC, ansible or the API.
"""

import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ctvmtest  # noqa: E402
from ctfixture import PW, CtDaemonTest, as_int, cgroup_value, ct_hostname, ns_procs  # noqa: E402
from test_vm_ansible import run_ansible_json  # noqa: E402

MiB = 1 << 20


class CtAnsibleTest(CtDaemonTest):

    @classmethod
    def setUpClass(cls):
        if not os.path.exists("/usr/bin/ansible"):
            raise unittest.SkipTest("no ansible")
        super().setUpClass()

    def ansible(self, expect_ok=True, **args):
        args.setdefault("node", self.node)
        args.setdefault("timeout", 120)
        res, p = run_ansible_json(self.daemon, self.acct.userid, self.acct.password,
                                  "proxmox", args)
        if res is None:
            self.fail("ansible proxmox: rc %d\n%s\n%s" % (p.returncode, p.stdout, p.stderr))
        if expect_ok:
            self.assertFalse(res.get("failed"), "proxmox %s: %s" % (args.get("state"),
                                                                   res.get("msg")))
        return res

    def create_args(self, vmid, hostname, unprivileged):
        return dict(vmid=vmid, hostname=hostname, password=PW, ostemplate=self.ostemplate,
                    storage="ct", disk="ct:1", cores=1, cpus=1, cpuunits=512, memory=256,
                    swap=128, unprivileged=unprivileged,
                    netif={"net0": "name=eth0,bridge=%s,ip=10.213.0.%d/24" % (self.bridge,
                                                                            vmid % 200)},
                    state="present")

    def check_config(self, vmid, hostname, unprivileged):
        conf = self.ct(vmid).config.get()
        self.assertEqual(conf["hostname"], hostname)
        self.assertEqual(as_int(conf["memory"]), 256)
        self.assertEqual(as_int(conf["swap"]), 128)
        self.assertEqual(as_int(conf["cores"]), 1)
        self.assertEqual(float(conf["cpulimit"]), 1)
        self.assertEqual(as_int(conf["cpuunits"]), 512)
        self.assertEqual(as_int(conf.get("unprivileged", 0)), 1 if unprivileged else 0)
        self.assertRegex(conf["rootfs"], r"^ct:%d/(vm|subvol)-%d-disk-0(\.raw)?,size=1G$"
                         % (vmid, vmid))
        # the order of the keys: test_ct_proxmoxer.test_net_format
        net = dict(kv.split("=", 1) for kv in conf["net0"].split(","))
        self.assertRegex(net.pop("hwaddr"), r"^BC:24:11:[0-9A-F]{2}(:[0-9A-F]{2}){2}$")
        self.assertEqual(net, {"name": "eth0", "bridge": self.bridge, "type": "veth",
                               "ip": "10.213.0.%d/24" % (vmid % 200)})
        return conf

    def check_running(self, vmid, hostname, unprivileged, conf):
        pid = self.running_pid(vmid)
        self.wait_booted(pid)
        procs = ns_procs(pid)
        cmds = [c for _, c in procs]
        # its init is pid 1 inside: busybox's init, and what its inittab runs
        self.assertIn("init", [c.split()[0].rsplit("/", 1)[-1] for c in cmds], procs)
        self.assertTrue(any(c.startswith("/bin/sleep 86400") for c in cmds), procs)
        with open("/proc/%d/status" % pid) as f:
            nspid = [l.split()[1:] for l in f if l.startswith("NSpid:")][0]
        self.assertEqual(nspid[-1], "1", "the container's init is not its pid 1")
        self.assertEqual(ct_hostname(pid), hostname)
        with open("/proc/%d/root/etc/hostname" % pid) as f:
            self.assertEqual(f.read().strip(), hostname)
        # root's password: a crypt(3) hash written inside, never the clear text
        with open("/proc/%d/root/etc/shadow" % pid) as f:
            shadow = f.read()
        root = [l for l in shadow.splitlines() if l.startswith("root:")][0]
        self.assertRegex(root.split(":")[1], r"^\$(y|6|5|2[aby]?)\$")
        self.assertNotIn(PW, shadow)
        # the uid map: 0 -> 100000 (65536 ids) unprivileged, identity privileged
        with open("/proc/%d/uid_map" % pid) as f:
            umap = f.read().split()
        if unprivileged:
            self.assertEqual(umap, ["0", "100000", "65536"])
            self.assertEqual(os.stat("/proc/%d" % pid).st_uid, 100000)
        else:
            self.assertEqual(umap, ["0", "0", "4294967295"])
            self.assertEqual(os.stat("/proc/%d" % pid).st_uid, 0)
        # its NIC: eth0 with the configured MAC inside, its host end on the bridge
        mac = conf["net0"].split("hwaddr=")[1].split(",")[0].lower()
        out = subprocess.run(["nsenter", "-t", str(pid), "-n", "ip", "-o", "link", "show",
                              "eth0"], capture_output=True, text=True).stdout
        self.assertIn("link/ether " + mac, out)
        self.assertTrue(os.listdir("/sys/class/net/%s/brif" % self.bridge),
                        "nothing on the bridge")
        # the limits, as Proxmox sets them on cgroup v1
        self.assertEqual(cgroup_value(pid, "memory", "memory.limit_in_bytes"),
                         str(256 * MiB))
        memsw = cgroup_value(pid, "memory", "memory.memsw.limit_in_bytes")
        if memsw is not None:
            self.assertEqual(memsw, str((256 + 128) * MiB))
        self.assertEqual(cgroup_value(pid, "cpu", "cpu.cfs_period_us"), "100000")
        self.assertEqual(cgroup_value(pid, "cpu", "cpu.cfs_quota_us"), "100000")
        self.assertEqual(cgroup_value(pid, "cpu", "cpu.shares"), "512")
        return pid

    def lifecycle(self, vmid, hostname, unprivileged):
        conf = self.check_config(vmid, hostname, unprivileged)
        # present again: unchanged
        res = self.ansible(**self.create_args(vmid, hostname, unprivileged))
        self.assertFalse(res["changed"])

        res = self.ansible(vmid=vmid, state="started")
        self.assertTrue(res["changed"])
        pid = self.check_running(vmid, hostname, unprivileged, conf)
        res = self.ansible(vmid=vmid, state="started")
        self.assertFalse(res["changed"])

        # restarted: shutdown (busybox init halts on SIGPWR), then start
        res = self.ansible(vmid=vmid, state="restarted")
        self.assertTrue(res["changed"], res.get("msg"))
        pid2 = self.check_running(vmid, hostname, unprivileged, conf)
        self.assertNotEqual(pid, pid2)
        self.assertFalse(os.path.exists("/proc/%d" % pid) and
                         ns_procs(pid2) == ns_procs(pid))

        # absent while running: the module leaves it alone
        res = self.ansible(vmid=vmid, state="absent")
        self.assertFalse(res["changed"])
        self.assertEqual(self.status(vmid)["status"], "running")

        res = self.ansible(vmid=vmid, state="stopped")
        self.assertTrue(res["changed"])
        self.assertEqual(self.status(vmid)["status"], "stopped")
        self.assertFalse(os.path.exists("/proc/%d" % pid2), "its init still runs")
        res = self.ansible(vmid=vmid, state="stopped")
        self.assertFalse(res["changed"])

        res = self.ansible(vmid=vmid, state="absent")
        self.assertTrue(res["changed"])
        self.assertFalse(os.path.exists(self.conf_path(vmid)))
        images = os.path.join(self.path, "images", str(vmid))
        self.assertEqual(os.listdir(images) if os.path.isdir(images) else [], [])
        res = self.ansible(vmid=vmid, state="absent")
        self.assertFalse(res["changed"])

    def test_unprivileged(self):
        self.addCleanup(self.destroy_quietly, 300)
        res = self.ansible(**self.create_args(300, "ans-unpriv", True))
        self.assertTrue(res["changed"])
        self.lifecycle(300, "ans-unpriv", True)

    def test_privileged(self):
        self.addCleanup(self.destroy_quietly, 301)
        args = self.create_args(301, "ans-priv", False)
        res = self.ansible(expect_ok=False, **args)
        print("\nansible, privileged create as a pam Administrator: %s" % (
            res.get("msg") if res.get("failed") else "done"), file=sys.stderr)
        if res.get("failed"):
            # ctvm: privileged containers are root@pam's; the refusal is a
            # permission error, not a failed task
            self.assertRegex(res.get("msg", ""), r"403|[Pp]ermission|root@pam", res)
            self.assertFalse(os.path.exists(self.conf_path(301)))
            form = {k: v for k, v in args.items()
                    if k not in ("disk", "cpus", "netif", "state", "password")}
            form.update(rootfs="ct:1", cpulimit=1, net0=args["netif"]["net0"], unprivileged=0,
                        password=PW)
            upid = self.daemon.root_call("POST", "/nodes/%s/lxc" % self.node, **form)
            self.assertEqual(self.wait_task(upid, timeout=180), "OK", self.task_log(upid))
        self.lifecycle(301, "ans-priv", False)


if __name__ == "__main__":
    ctvmtest.main()
