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

ctvm links the method table's data (api-rows.h) and the routing over it,
never the handlers nor a layer below the api (storage, access, task, conf
stores): its api_ symbols are those two, and nothing of the others.
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


def defined_symbols(path):
    res = subprocess.run(["nm", "--defined-only", path], capture_output=True, text=True)
    if res.returncode != 0 or not res.stdout.strip():
        raise unittest.SkipTest("no symbol table (stripped binary)")
    return [line.split()[-1] for line in res.stdout.splitlines()]


# What the CLI may hold of src/api: the rows' data and the routing over it.
CLI_API_SYMBOLS = ("api_row_tables", "api_route_")
# What it must not: handlers and the layers below the api.
CLI_FORBIDDEN = ("api_", "storage_", "access_", "usercfg_", "task_", "upid_", "section_config",
                 "conf_file", "audit_", "rrd_", "http_server", "pam_")


class Exports(unittest.TestCase):
    def test_ctvmd(self):
        self.assertEqual(own_exports(ctvmtest.ctvmd_path()), [],
                         "rename these or make them static: a shared library calls them")

    def test_ctvm(self):
        self.assertEqual(own_exports(ctvmtest.ctvm_path()), [],
                         "rename these or make them static: a shared library calls them")

    def test_cli_without_handlers(self):
        names = defined_symbols(ctvmtest.ctvm_path())
        self.assertIn("api_row_tables", names, "ctvm lost the method table's data")
        bad = [n for n in names if n.startswith(CLI_FORBIDDEN)
               and not n.startswith(CLI_API_SYMBOLS)]
        self.assertEqual(bad, [], "ctvm links code of the api handlers or of the layers below")
        # and the daemon does hold them, so the check can see them
        daemon = defined_symbols(ctvmtest.ctvmd_path())
        self.assertIn("api_handle_request", daemon)

    def test_no_dry_run(self):
        for path in (ctvmtest.ctvmd_path(), ctvmtest.ctvm_path()):
            self.assertEqual(seam_symbols(path), [],
                             "%s links the test library: it must never run commands dry"
                             % path)


if __name__ == "__main__":
    ctvmtest.main(need_root=False)
