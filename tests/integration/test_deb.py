#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""The Debian package: built from the tree, installed, started, removed, purged.

Builds `ctvm` with dpkg-buildpackage from a copy of the source tree (the
checkout stays clean; DEB_BUILD_OPTIONS=nocheck, the tests run elsewhere),
then works in a throwaway root: a private mount namespace (a holder process
made by `unshare -m`, entered with nsenter) with an overlayfs whose lower
layer is the host's / and whose upper layer is a tmpfs, so the host's dpkg
database satisfies the dependencies and nothing reaches the host.  /proc,
/dev, /sys, /run and /tmp are mounted there.  Inside it:

- `dpkg -i` installs the package: the postinst makes the system user
  ctvm-www, the unit is enabled, /etc/pam.d/ctvm is a conffile;
- the installed /usr/bin/ctvmd starts in the system layout (/etc/ctvm,
  /var/lib/ctvm, ...) on a free loopback port, and the installed `qm list`
  and `pvesm status` answer it over its socket;
- `dpkg --remove` leaves the configuration (and the daemon's state and logs,
  Debian's rule for data), none of the package's files;
- `dpkg --purge` leaves nothing whose name says ctvm.

The upper layer is the record of what the throwaway root changed.  Skipped
(77) without root, without dpkg-buildpackage, debhelper or the namespace
tools, and in sanitizer builds (the package is built from the source with
Debian's flags: the plain build's run covers it once).
"""

import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ctvmtest  # noqa: E402

BUILD_TIMEOUT = 1200
STEP_TIMEOUT = 300
TOOLS = ("dpkg-buildpackage", "dh", "unshare", "nsenter", "chroot", "mount")
# What the daemon makes (src/util/paths.c): kept on remove, gone on purge.
DAEMON_DIRS = ("etc/ctvm", "var/lib/ctvm", "var/log/ctvm")


def source_root():
    return os.environ.get("CTVM_SOURCE_ROOT") or os.path.abspath(
        os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


def build_root():
    return os.environ.get("CTVM_BUILD_ROOT") or os.path.abspath(
        os.path.join(os.path.dirname(ctvmtest.ctvm_path()), "..", ".."))


def sanitized_build():
    r = subprocess.run(["meson", "introspect", "--buildoptions", build_root()],
                       capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        return False
    opts = {o["name"]: o["value"] for o in json.loads(r.stdout)}
    return opts.get("b_sanitize", "none") != "none"


def run(argv, timeout=STEP_TIMEOUT, check=True, **kw):
    r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                       stdin=subprocess.DEVNULL, **kw)
    if check and r.returncode != 0:
        raise AssertionError("%s: exit %d\n%s%s" % (" ".join(argv), r.returncode, r.stdout,
                                                    r.stderr))
    return r


def git_status(src):
    if not os.path.isdir(os.path.join(src, ".git")) and not os.path.isfile(
            os.path.join(src, ".git")):
        return None
    r = run(["git", "-C", src, "status", "--porcelain", "--ignored=no"], check=False)
    return r.stdout if r.returncode == 0 else None


def copy_tree(src, dst):
    """The source files as git sees them (tracked and new, not ignored:
    no build directories), else everything but build*/ and .git."""
    r = subprocess.run(["git", "-C", src, "ls-files", "-z", "--cached", "--others",
                        "--exclude-standard"], capture_output=True, timeout=60)
    if r.returncode == 0 and r.stdout:
        for rel in r.stdout.decode().split("\0"):
            p = os.path.join(src, rel)
            if not rel or not os.path.lexists(p) or os.path.isdir(p):
                continue
            os.makedirs(os.path.join(dst, os.path.dirname(rel)), exist_ok=True)
            shutil.copy2(p, os.path.join(dst, rel), follow_symlinks=False)
        return
    shutil.copytree(src, dst, symlinks=True, dirs_exist_ok=True,
                    ignore=lambda d, names: [n for n in names
                                             if n == ".git" or (d == src and n.startswith("build"))])


class ThrowawayRoot:
    """A mount namespace held by a sleeping process, with the host's / under
    a tmpfs overlay at <tmp>/merged.  Everything inside runs with
    nsenter + chroot, as argv; the host sees none of its mounts."""

    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="ctvmt-deb-root-")
        self.holder = subprocess.Popen(["unshare", "--mount", "--propagation", "private",
                                        "sleep", "3600"], stdin=subprocess.DEVNULL)
        _live.append(self)
        try:
            self._setup()
        except BaseException:
            self.close()
            raise

    def _setup(self):
        # the holder is in its namespace once its root no longer shows the
        # host's mount table
        deadline = time.monotonic() + 30
        while os.readlink("/proc/%d/ns/mnt" % self.holder.pid) == os.readlink(
                "/proc/self/ns/mnt"):
            if time.monotonic() > deadline:
                raise AssertionError("unshare did not make a mount namespace")
            time.sleep(0.05)
        self.ns(["mount", "-t", "tmpfs", "-o", "mode=0755", "ctvmt-deb", self.tmp])
        for d in ("upper", "work", "merged"):
            self.ns(["mkdir", os.path.join(self.tmp, d)])
        self.merged = os.path.join(self.tmp, "merged")
        self.ns(["mount", "-t", "overlay", "overlay", "-o",
                 "lowerdir=/,upperdir=%s/upper,workdir=%s/work" % (self.tmp, self.tmp),
                 self.merged])
        self.ns(["mount", "-t", "proc", "proc", self.merged + "/proc"])
        self.ns(["mount", "--rbind", "/dev", self.merged + "/dev"])
        self.ns(["mount", "--rbind", "/sys", self.merged + "/sys"])
        self.ns(["mount", "-t", "tmpfs", "-o", "mode=0755", "run", self.merged + "/run"])
        self.ns(["mount", "-t", "tmpfs", "-o", "mode=1777", "tmp", self.merged + "/tmp"])

    def ns(self, argv, **kw):
        return run(["nsenter", "-t", str(self.holder.pid), "-m", "--"] + argv, **kw)

    def argv(self, argv):
        return ["nsenter", "-t", str(self.holder.pid), "-m", "--", "chroot", self.merged,
                "/usr/bin/env", "-i", "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C",
                "DEBIAN_FRONTEND=noninteractive"] + argv

    def chroot(self, argv, **kw):
        return run(self.argv(argv), **kw)

    def host_path(self, rel):
        """A path of the namespace as this process reaches it."""
        return "/proc/%d/root%s/%s" % (self.holder.pid, self.tmp, rel.lstrip("/"))

    def exists(self, path):
        return os.path.lexists(self.host_path("merged/" + path.lstrip("/")))

    def changed(self):
        """Paths the throwaway root made or changed (the upper layer), minus
        whiteouts (character devices 0:0: a removed host file)."""
        top = self.host_path("upper")
        out = set()
        for d, dirs, files in os.walk(top):
            for n in dirs + files:
                p = os.path.join(d, n)
                st = os.lstat(p)
                if stat.S_ISCHR(st.st_mode) and st.st_rdev == 0:
                    continue
                out.add(os.path.relpath(p, top))
        return out

    def close(self):
        if self in _live:
            _live.remove(self)
        if self.holder.poll() is None:
            self.holder.kill()
            self.holder.wait(timeout=30)
        # the tmpfs and the overlay went with the namespace
        os.rmdir(self.tmp)


# Roots and daemons alive now, killed when meson's timeout sends SIGTERM
# (ctvmtest's handler exits at once, without atexit).
_live = []


def _on_sigterm(signum, frame):
    for x in list(_live):
        if isinstance(x, subprocess.Popen):
            x.kill()
        else:
            x.close()
    ctvmtest._emergency_cleanup(signum, frame)


class Deb(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        signal.signal(signal.SIGTERM, _on_sigterm)
        missing = [t for t in TOOLS if not shutil.which(t)]
        if missing:
            raise unittest.SkipTest("needs %s (tools/setup-deps installs them)"
                                    % ", ".join(missing))
        if sanitized_build():
            raise unittest.SkipTest("sanitizer build: the package is built from the source "
                                    "with Debian's flags, the plain build's run tests it")
        cls.host_had = run(["dpkg-query", "-W", "-f", "${db:Status-Status}", "ctvm"],
                           check=False).stdout
        cls.work = tempfile.mkdtemp(prefix="ctvmt-deb-")
        if os.environ.get("CTVM_TEST_DEB"):
            # iterating on this test: a package built before
            cls.deb = os.environ["CTVM_TEST_DEB"]
            cls.checkout_unchanged = True
            return
        src = source_root()
        status = git_status(src)
        tree = os.path.join(cls.work, "ctvm")
        copy_tree(src, tree)
        env = dict(os.environ, DEB_BUILD_OPTIONS="nocheck parallel=%d" % (os.cpu_count() or 1),
                   LC_ALL="C")
        r = subprocess.run(["dpkg-buildpackage", "-us", "-uc", "-b"], cwd=tree, env=env,
                           capture_output=True, text=True, timeout=BUILD_TIMEOUT,
                           stdin=subprocess.DEVNULL)
        if r.returncode != 0:
            raise AssertionError("dpkg-buildpackage failed:\n%s%s" % (r.stdout[-6000:],
                                                                        r.stderr[-6000:]))
        debs = [f for f in os.listdir(cls.work)
                if f.startswith("ctvm_") and f.endswith(".deb")]
        if len(debs) != 1:
            raise AssertionError("expected one ctvm_*.deb, got %s" % os.listdir(cls.work))
        cls.deb = os.path.join(cls.work, debs[0])
        cls.checkout_unchanged = git_status(src) == status

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.work, ignore_errors=True)

    def setUp(self):
        self.root = ThrowawayRoot()
        self.daemon = None

    def tearDown(self):
        if self.daemon:
            if self.daemon.poll() is None:
                self.daemon.kill()
                self.daemon.wait(timeout=30)
            _live.remove(self.daemon)
        self.root.close()
        after = run(["dpkg-query", "-W", "-f", "${db:Status-Status}", "ctvm"],
                    check=False).stdout
        self.assertEqual(after, self.host_had, "the host's dpkg database changed")

    def prepare(self):
        """The throwaway root as a host that never had ctvm: no system user,
        no PAM file, no daemon files (the host's, from tools/setup-deps or
        tools/run, are hidden by whiteouts, not touched)."""
        r = self.root
        if r.chroot(["getent", "passwd", "ctvm-www"], check=False).returncode == 0:
            r.chroot(["userdel", "ctvm-www"])
        r.chroot(["rm", "-rf", "/etc/pam.d/ctvm", "/etc/ctvm", "/var/lib/ctvm",
                  "/var/log/ctvm", "/usr/bin/ctvm", "/usr/bin/ctvmd"])
        # man-db's trigger would index every page of the host
        r.chroot(["rm", "-f", "/var/lib/man-db/auto-update"])
        shutil.copy(self.deb, r.host_path("merged/tmp/ctvm.deb"))

    def start_daemon(self):
        port = ctvmtest.free_port()
        log = open(os.path.join(self.root.host_path("merged/tmp"), "ctvmd.out"), "w")
        self.daemon = subprocess.Popen(
            self.root.argv(["/usr/bin/ctvmd", "--listen", "127.0.0.1:%d" % port]),
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        _live.insert(0, self.daemon)
        log.close()
        deadline = time.monotonic() + ctvmtest.START_TIMEOUT
        while True:
            if self.root.exists("/run/ctvm/api.sock"):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=2).close()
                    return port
                except OSError:
                    pass
            if self.daemon.poll() is not None or time.monotonic() > deadline:
                self.fail("ctvmd did not start:\n" + self.daemon_output())
            time.sleep(0.2)

    def children_uids(self):
        """The real uids of the daemon's child processes (the front)."""
        uids = set()
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                with open("/proc/%s/status" % pid) as f:
                    st = dict(line.split(":", 1) for line in f.read().splitlines() if ":" in line)
            except OSError:
                continue
            if int(st.get("PPid", "0")) == self.daemon.pid:
                uids.add(int(st["Uid"].split()[0]))
        return uids

    def daemon_output(self):
        try:
            with open(self.root.host_path("merged/tmp/ctvmd.out")) as f:
                return f.read()
        except OSError as e:
            return str(e)

    def stop_daemon(self):
        self.daemon.send_signal(signal.SIGTERM)
        rc = self.daemon.wait(timeout=ctvmtest.STOP_TIMEOUT)
        self.assertEqual(rc, 0, self.daemon_output())

    def test_install_start_remove_purge(self):
        r = self.root
        self.assertTrue(self.checkout_unchanged, "building the package changed the checkout")
        self.prepare()
        before = r.changed()

        r.chroot(["dpkg", "-i", "/tmp/ctvm.deb"])
        files = r.chroot(["dpkg-query", "-L", "ctvm"]).stdout.split()
        conffiles = r.chroot(["dpkg-query", "-W", "-f", "${Conffiles}", "ctvm"]).stdout
        self.assertIn("/etc/pam.d/ctvm", conffiles)
        for p in ("/usr/bin/ctvmd", "/usr/bin/ctvm", "/usr/bin/qm", "/usr/bin/pct",
                  "/lib/systemd/system/ctvmd.service", "/usr/share/man/man1/qm.1.gz",
                  "/etc/pam.d/ctvm"):
            self.assertIn(p, files)
        for p in files:
            self.assertTrue(r.exists(p), p)
        # postinst: the front's system user; dh_installsystemd: the unit enabled
        pw = r.chroot(["getent", "passwd", "ctvm-www"]).stdout.strip().split(":")
        self.assertEqual((pw[5], pw[6]), ("/nonexistent", "/usr/sbin/nologin"))
        self.assertLess(int(pw[2]), 1000)
        self.assertTrue(r.exists("/etc/systemd/system/multi-user.target.wants/ctvmd.service"))

        self.start_daemon()
        q = r.chroot(["qm", "list"])
        self.assertEqual(q.stderr, "")
        self.assertTrue(q.stdout == "" or q.stdout.split()[0] == "VMID", q.stdout)
        s = r.chroot(["pvesm", "status"])
        self.assertTrue(s.stdout.startswith("Name "), s.stdout)
        self.assertIn("local ", s.stdout)
        # the front drops to the user the postinst made (it starts as root to
        # read the TLS key, so wait for the drop)
        deadline = time.monotonic() + 30
        while int(pw[2]) not in self.children_uids() and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertIn(int(pw[2]), self.children_uids(), self.daemon_output())
        self.stop_daemon()
        for d in DAEMON_DIRS:
            self.assertTrue(r.exists(d), d)

        # remove: the package's files go, the configuration stays
        r.chroot(["dpkg", "--remove", "ctvm"])
        st = r.chroot(["dpkg-query", "-W", "-f", "${db:Status-Status}", "ctvm"]).stdout
        self.assertEqual(st, "config-files")
        for p in files:
            if p == "/etc/pam.d/ctvm":
                self.assertTrue(r.exists(p), p)
            elif r.exists(p):
                # only directories the host has too (/usr/bin, /lib, ...)
                self.assertTrue(os.path.isdir(p), "left behind: " + p)
        upper = r.changed()
        kept = ("etc/ctvm", "etc/pam.d/ctvm", "var/lib/ctvm", "var/log/ctvm",
                "var/lib/dpkg/info/ctvm.", "etc/systemd/system/multi-user.target.wants/ctvmd",
                "var/lib/systemd/deb-systemd-helper-enabled/")
        left = sorted(p for p in upper - before if "ctvm" in p and not p.startswith(kept))
        self.assertEqual(left, [])
        for d in DAEMON_DIRS:
            self.assertTrue(r.exists(d), d)

        # purge: nothing whose name says ctvm, no daemon directory, no user state
        r.chroot(["dpkg", "--purge", "ctvm"])
        st = r.chroot(["dpkg-query", "-W", "-f", "${db:Status-Status}", "ctvm"], check=False)
        self.assertIn(st.stdout, ("", "not-installed"))
        left = sorted(p for p in r.changed() - before if "ctvm" in p)
        self.assertEqual(left, [])
        for d in DAEMON_DIRS + ("run/ctvm", "etc/pam.d/ctvm"):
            self.assertFalse(r.exists(d), d)


if __name__ == "__main__":
    ctvmtest.main()
