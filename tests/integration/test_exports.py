#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""ctvmd and ctvm export none of their own symbols.

An executable exports a function when a shared library it links refers to the
same name; the library then calls ours instead of its own.  That happened
with audit_open(): pam_unix meant libaudit's and crashed ctvmd at the first
pam login.  Versioned names (optarg@GLIBC_2.2.5, copy relocations) are fine.

They also hold none of the test library (tests/lib): the command runner's
dry run answers cmd_run() only where cmd_dryrun_hook is linked in, and it
must never be in a binary that runs commands for real.
"""

import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ctvmtest  # noqa: E402


# Provided by the linker or crt files, exported whenever anything is.
LINKER = {"_IO_stdin_used", "__bss_start", "__data_start", "data_start", "_edata", "_end",
          "_init", "_fini", "_start"}


# Sanitizer runtimes are linked into the executable and export their whole
# interface (and what they intercept); the check is meaningful in plain builds.
SANITIZER_MARKERS = ("__asan_init", "__ubsan_handle_add_overflow", "__tsan_init")


def own_exports(path):
    out = subprocess.run(["nm", "-D", "--defined-only", path], capture_output=True, text=True,
                         check=True).stdout
    if any(m in out for m in SANITIZER_MARKERS):
        raise unittest.SkipTest("sanitizer build: its runtime exports symbols by design")
    names = []
    for line in out.splitlines():
        parts = line.split()
        if (len(parts) == 3 and "@" not in parts[2] and parts[1] not in ("w", "v")
                and parts[2] not in LINKER):
            names.append(parts[2])
    return names


def seam_symbols(path):
    """Symbols of tests/lib linked into path (the whole symbol table)."""
    res = subprocess.run(["nm", "--defined-only", path], capture_output=True, text=True)
    if res.returncode != 0 or not res.stdout.strip():
        raise unittest.SkipTest("no symbol table (stripped binary)")
    return [line.split()[-1] for line in res.stdout.splitlines()
            if line.split()[-1].startswith(("cmd_dryrun_", "golden_"))]


class Exports(unittest.TestCase):
    def test_ctvmd(self):
        self.assertEqual(own_exports(ctvmtest.ctvmd_path()), [],
                         "rename these or make them static: a shared library calls them")

    def test_ctvm(self):
        self.assertEqual(own_exports(ctvmtest.ctvm_path()), [],
                         "rename these or make them static: a shared library calls them")

    def test_no_dry_run(self):
        for path in (ctvmtest.ctvmd_path(), ctvmtest.ctvm_path()):
            self.assertEqual(seam_symbols(path), [],
                             "%s links the test library: it must never run commands dry"
                             % path)


if __name__ == "__main__":
    ctvmtest.main(need_root=False)
