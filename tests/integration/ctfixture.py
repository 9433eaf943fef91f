# SPDX-License-Identifier: AGPL-3.0-or-later
"""What the container tests (test_ct_*.py) share: the template fixtures,
a daemon with a bridge and a dir storage holding the uploaded template, and
the host's view of a running container (its init, pid namespace, hostname,
cgroup v1 files), read from /proc and /sys without asking ctvmd.

    templates()          the directory of tests/fixtures/ct-template's build
    CtDaemonTest         AdminDaemonTest + bridge + storage "ct" + template
    init_pid / ns_procs / ct_hostname / cgroup_value    the host's view
"""

import os
import shutil
import subprocess
import time
import unittest

import ctvmtest

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))
BUILDER = os.path.join(SRC, "tests", "fixtures", "ct-template", "build-ct-template.sh")
TEMPLATE = "debian-12-busybox_12.0-1_amd64.tar.gz"
HOSTILE = "debian-12-hostile_12.0-1_amd64.tar.gz"
ESCAPE_TARGET = "/tmp/ctvm-escape-target"   # build-hostile.py's TARGET
PW = "ctvm-ct-pw-1"

_templates = None


def templates():
    """The directory of the built templates (built once per machine)."""
    global _templates
    if _templates is None:
        p = subprocess.run([BUILDER], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, timeout=300, stdin=subprocess.DEVNULL)
        if p.returncode != 0:
            raise unittest.SkipTest("the container template cannot be built here: %s"
                                    % p.stderr.strip()[-300:])
        _templates = p.stdout.strip()
    return _templates


def require_lxc():
    if not shutil.which("lxc-start") or not os.path.isdir("/sys/fs/cgroup"):
        raise unittest.SkipTest("no LXC on this host (install lxc)")


def as_int(v):
    return v if isinstance(v, int) else int(v)


# -- the host's view of a running container -------------------------------

def ns_of(pid, ns):
    try:
        return os.readlink("/proc/%d/ns/%s" % (pid, ns))
    except OSError:
        return None


def ns_procs(pid):
    """[(pid, cmdline)] of every host process in the pid namespace of pid
    (which is the container's init)."""
    want = ns_of(pid, "pid")
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        p = int(d)
        if ns_of(p, "pid") != want:
            continue
        try:
            with open("/proc/%d/cmdline" % p, "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        out.append((p, cmd))
    return out


def ct_hostname(pid):
    """The UTS hostname of the container whose init is pid (nsenter)."""
    p = subprocess.run(["nsenter", "-t", str(pid), "-u", "hostname"], capture_output=True,
                       text=True, timeout=10)
    return p.stdout.strip() if p.returncode == 0 else None


def cgroup_dir(pid, controller):
    """The cgroup v1 directory of pid for controller (memory, cpu, ...)."""
    with open("/proc/%d/cgroup" % pid) as f:
        for line in f:
            _, ctrls, path = line.rstrip("\n").split(":", 2)
            if controller in ctrls.split(","):
                for mnt in ("/sys/fs/cgroup/" + controller, "/sys/fs/cgroup/" + ctrls):
                    if os.path.isdir(mnt):
                        return mnt + path
    return None


def cgroup_value(pid, controller, name):
    """The content of a cgroup v1 file of the container whose init is pid,
    or None when the file does not exist (memsw without swap accounting).
    Proxmox's layout puts the init in lxc/<vmid>/ns and the limits on
    lxc/<vmid> (lxc.cgroup.dir.container.inner = ns): the parent then."""
    d = cgroup_dir(pid, controller)
    if d is None:
        return None
    if os.path.basename(d) == "ns":
        d = os.path.dirname(d)
    try:
        with open(os.path.join(d, name)) as f:
            return f.read().strip()
    except FileNotFoundError:
        return None


class CtDaemonTest(ctvmtest.AdminDaemonTest):
    """One daemon per class with a bridge, a dir storage "ct" (vztmpl,
    rootdir, images) and the busybox template uploaded to it as vztmpl
    (cls.ostemplate).  Skips the class without LXC or without the container
    API (a 404/501 on /nodes/{node}/lxc, said in the skip reason)."""

    upload = (TEMPLATE,)

    @classmethod
    def setUpClass(cls):
        require_lxc()
        cls.tdir = templates()
        super().setUpClass()
        r = cls.daemon.http("GET", "/nodes/%s/lxc" % cls.node, ticket=cls.ticket)
        if r.status in (404, 501):
            raise unittest.SkipTest("no container API in this ctvmd: GET /nodes/%s/lxc: %d %s"
                                    % (cls.node, r.status, r.reason))
        cls.bridge = "ctbr%d" % (os.getpid() % 100000)
        subprocess.run(["ip", "link", "add", "name", cls.bridge, "type", "bridge"], check=True)
        cls.addClassCleanup(subprocess.run, ["ip", "link", "del", cls.bridge])
        subprocess.run(["ip", "link", "set", cls.bridge, "up"], check=True)
        cls.path = os.path.join(cls.daemon.root, "srv", "ct")
        cls.daemon.root_call("POST", "/storage", storage="ct", type="dir", path=cls.path,
                             content="vztmpl,rootdir,images")
        for name in cls.upload:
            cls.upload_template("ct", name)
        cls.ostemplate = "ct:vztmpl/" + TEMPLATE

    @classmethod
    def upload_template(cls, storage, name):
        with open(os.path.join(cls.tdir, name), "rb") as f:
            upid = cls.admin.nodes(cls.node).storage(storage).upload.post(
                content="vztmpl", filename=f)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            st = cls.admin.nodes(cls.node).tasks(upid).status.get()
            if st["status"] == "stopped":
                break
            time.sleep(0.1)
        assert st.get("exitstatus") == "OK", st
        return "%s:vztmpl/%s" % (storage, name)

    # -- helpers ---------------------------------------------------------

    def ct(self, vmid, api=None):
        return (api or self.admin).nodes(self.node).lxc(vmid)

    def conf_path(self, vmid):
        return os.path.join(self.daemon.root, "etc", "lxc", "%d.conf" % vmid)

    def create(self, vmid, expect="OK", **kw):
        """POST /nodes/{node}/lxc as the admin and wait for vzcreate; asserts
        its exitstatus (expect=None: returns it)."""
        kw.setdefault("ostemplate", self.ostemplate)
        kw.setdefault("storage", "ct")
        kw.setdefault("hostname", "ct%d" % vmid)
        upid = self.admin.nodes(self.node).lxc.post(vmid=vmid, **kw)
        self.assertIn(":vzcreate:%d:" % vmid, upid)
        self.addCleanup(self.destroy_quietly, vmid)
        st = self.wait_task(upid, timeout=180)
        if expect is not None:
            self.assertEqual(st, expect, self.task_log(upid))
        return st

    def task_log(self, upid):
        try:
            lines = self.admin.nodes(self.node).tasks(upid).log.get(limit=200)
            return "\n".join(l.get("t", "") for l in lines)
        except Exception as e:  # noqa: BLE001 - only a diagnostic
            return "(no log: %s)" % e

    def power(self, vmid, action, expect="OK", api=None, **kw):
        upid = self.ct(vmid, api).status(action).post(**kw)
        self.assertRegex(upid, r":vz%s:%d:" % (action, vmid))
        st = self.wait_task(upid, timeout=120)
        if expect is not None:
            self.assertEqual(st, expect, self.task_log(upid))
        return st

    def status(self, vmid):
        return self.ct(vmid).status.current.get()

    def running_pid(self, vmid, timeout=30):
        """The container's init pid on the host, from status/current,
        checked against /proc: it is in a pid namespace of its own."""
        deadline = time.monotonic() + timeout
        while True:
            st = self.status(vmid)
            if st["status"] == "running" and st.get("pid"):
                pid = as_int(st["pid"])
                self.assertNotEqual(ns_of(pid, "pid"), ns_of(os.getpid(), "pid"),
                                    "pid %d is not in a namespace of its own" % pid)
                return pid
            if time.monotonic() > deadline:
                self.fail("CT %d not running with a pid: %s" % (vmid, st))
            time.sleep(0.1)

    def wait_booted(self, pid, timeout=30):
        """Until busybox's rcS ran inside and the sleeper runs."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any("sleep 86400" in c for _, c in ns_procs(pid)):
                return
            time.sleep(0.1)
        self.fail("the container's init did not start its sleeper: %s" % ns_procs(pid))

    def destroy_quietly(self, vmid):
        """A failed test leaves no container running, no config, no volume."""
        if not os.path.exists(self.conf_path(vmid)):
            return
        r = self.api("POST", "/nodes/%s/lxc/%d/status/stop" % (self.node, vmid))
        if r.status == 200:
            self.task_status(r.json()["data"], timeout=60)
        r = self.api("DELETE", "/nodes/%s/lxc/%d" % (self.node, vmid),
                     params={"force": 1, "purge": 1})
        if r.status == 200:
            self.task_status(r.json()["data"], timeout=60)
