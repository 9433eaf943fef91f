#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""`meson install` into a DESTDIR: the installed pieces, and that they work.

Installs the build this test belongs to (the directory above $CTVM's
src/cli) into a temporary DESTDIR and checks: ctvm, ctvmd and the links
qm, pct, pvesm, pveum, pvesh on the bin directory; ctvmd.service (its
ExecStart the installed ctvmd, KillMode=process so VMs outlive a restart);
the PAM service; ctvm(1), ctvmd(8) and the pages of qm, pct, pvesm,
pveum and pvesh generated from the tables, which render without warnings; the bash and zsh completion.  Then the installed qm
answers a real daemon, and the installed bash completion offers exactly
the options of a command's method (from the method table).
"""

import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ctvmtest  # noqa: E402

NAMES = ("qm", "pct", "pvesm", "pveum", "pvesh")


def build_root():
    return os.path.abspath(os.path.join(os.path.dirname(ctvmtest.ctvm_path()), "..", ".."))


class Install(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.dest = tempfile.mkdtemp(prefix="ctvmt-dest-")
        r = subprocess.run(["meson", "install", "-C", build_root(), "--no-rebuild", "--quiet",
                            "--destdir", cls.dest], capture_output=True, text=True, timeout=300,
                           stdin=subprocess.DEVNULL)
        if r.returncode != 0:
            raise AssertionError("meson install failed: %s%s" % (r.stdout, r.stderr))
        out = subprocess.run(["meson", "introspect", "--buildoptions", build_root()],
                             capture_output=True, text=True, timeout=60).stdout
        import json
        opts = {o["name"]: o["value"] for o in json.loads(out)}
        cls.prefix = opts["prefix"]
        cls.bindir = cls.path(opts["bindir"])
        cls.datadir = cls.path(opts["datadir"])
        cls.mandir = cls.path(opts["mandir"])
        cls.sysconfdir = cls.path(opts["sysconfdir"])

    @classmethod
    def path(cls, d):
        return os.path.join(cls.dest, os.path.join(cls.prefix, d).lstrip("/"))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dest, ignore_errors=True)

    def test_binaries_and_links(self):
        for n in ("ctvm", "ctvmd"):
            self.assertTrue(os.access(os.path.join(self.bindir, n), os.X_OK), n)
        for n in NAMES:
            p = os.path.join(self.bindir, n)
            self.assertEqual(os.readlink(p), "ctvm", n)
        r = subprocess.run([os.path.join(self.bindir, "qm"), "help"], capture_output=True,
                           text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("qm list", r.stdout)

    def test_unit(self):
        unit = os.path.join(self.dest, self.prefix.lstrip("/"), "lib", "systemd", "system",
                            "ctvmd.service")
        with open(unit) as f:
            text = f.read()
        lines = dict(line.split("=", 1) for line in text.splitlines()
                     if "=" in line and not line.startswith("#"))
        self.assertEqual(lines["ExecStart"], os.path.join(self.prefix, "bin", "ctvmd"))
        self.assertEqual(lines["KillMode"], "process")
        self.assertEqual(lines["RuntimeDirectoryPreserve"], "yes")
        self.assertEqual(lines["WantedBy"], "multi-user.target")
        self.assertNotIn("@", text.replace("man:", ""))

    def test_pam(self):
        self.assertTrue(os.path.isfile(os.path.join(self.sysconfdir, "pam.d", "ctvm")))

    def test_man_pages(self):
        for sect, name in [("1", "ctvm")] + [("1", n) for n in NAMES] + [("8", "ctvmd")]:
            p = os.path.join(self.mandir, "man" + sect, "%s.%s" % (name, sect))
            self.assertTrue(os.path.exists(p), p)
            if shutil.which("groff"):
                r = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z", p],
                                   capture_output=True, text=True, timeout=30)
                self.assertEqual((r.returncode, r.stderr), (0, ""), p)

    def test_generated_man_pages(self):
        """qm(1) ... pvesh(1) are generated from the tables: each command with
        its method's options."""
        with open(os.path.join(self.mandir, "man1", "qm.1")) as f:
            qm = f.read()
        self.assertIn('.SS "qm resize <vmid> <disk> <size> [OPTIONS]"', qm)
        self.assertIn("Calls PUT /nodes/{node}/qemu/{vmid}/resize.", qm)
        self.assertIn(".BI \\-\\-skiplock", qm)
        with open(os.path.join(self.mandir, "man1", "pvesh.1")) as f:
            pvesh = f.read()
        self.assertIn('.SS "pvesh create /storage"', pvesh)
        with open(os.path.join(self.mandir, "man1", "pveum.1")) as f:
            self.assertIn('.SS "pveum acl modify <path> [OPTIONS]"', f.read())
        with open(os.path.join(self.mandir, "man1", "pct.1")) as f:
            pct = f.read()
        self.assertIn('.SS "pct create <vmid> <ostemplate> [OPTIONS]"', pct)
        self.assertIn('.SS "pct exec <vmid> <extra-args>"', pct)

    def test_completion(self):
        bash = os.path.join(self.datadir, "bash-completion", "completions")
        for n in NAMES:
            self.assertEqual(os.readlink(os.path.join(bash, n)), "ctvm")
        zsh = [os.path.join(self.datadir, "zsh", d, "_ctvm")
               for d in ("vendor-completions", "site-functions")]
        self.assertTrue(any(os.path.isfile(z) for z in zsh), zsh)
        # bash, as bash-completion runs it: `qm resize 100 --` offers the
        # options of PUT /nodes/{node}/qemu/{vmid}/resize and the global ones
        script = ('source %s/ctvm; COMP_WORDS=(%s/qm resize 100 scsi0 --); COMP_CWORD=4; '
                  '_ctvm_complete; printf "%%s\\n" "${COMPREPLY[@]}"' % (bash, self.bindir))
        r = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        usage = subprocess.run([os.path.join(self.bindir, "ctvm"), "api", "usage",
                                "/nodes/{node}/qemu/{vmid}/resize", "PUT"],
                               capture_output=True, text=True, timeout=30).stdout
        opts = {line.split()[0] for line in usage.splitlines() if line.startswith("  --")}
        self.assertEqual(set(r.stdout.split()),
                         opts | {"--root", "--host", "--output-format", "--async"})

    def test_installed_qm_answers_a_daemon(self):
        ctvmtest.require_root()
        with ctvmtest.Daemon() as d:
            r = subprocess.run([os.path.join(self.bindir, "qm"), "list", "--root", d.root],
                               capture_output=True, text=True, timeout=60)
            self.assertEqual((r.returncode, r.stderr), (0, ""))
            r = subprocess.run([os.path.join(self.bindir, "pvesm"), "status"],
                               env=dict(os.environ, CTVM_ROOT=d.root),
                               capture_output=True, text=True, timeout=60)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertTrue(r.stdout.startswith("Name "), r.stdout)


if __name__ == "__main__":
    ctvmtest.main()
