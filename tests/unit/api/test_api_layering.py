#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""src/api does no work itself: a scan of its sources.

A handler validates, checks permissions and starts an operation or calls a
lower layer (docs/dev/ARCHITECTURE.md).  So no file under src/api includes
the command runner or a command builder, runs a program, or calls the
functions that create, rename, remove or write files: that is the storage
layer's (and, for config files, the config store's) work, which a
privileged helper will own.  Comments and string literals are not code and
are left out of the scan.  An exception needs an entry in ALLOWED with the
reason; there is none today.

Runs in the unit suite (no daemon, no root):
    python3 tests/unit/api/test_api_layering.py
"""

import os
import re
import unittest

# Headers of the command runner and of the pure command builders.
FORBIDDEN_INCLUDE = re.compile(r'^(cmd\.h|.*-cmd\.h|spawn\.h)$')

# Calls that run a command or create, rename, remove or write a file.
FORBIDDEN_CALLS = [
    # running programs
    "cmd_run", "fork", "vfork", "system", "popen", "posix_spawn", "posix_spawnp",
    "execv", "execve", "execvp", "execvpe", "execl", "execle", "execlp", "fexecve",
    # files and directories
    "open", "open64", "openat", "openat2", "creat", "fopen", "freopen", "opendir",
    "access", "rename", "renameat", "renameat2", "unlink", "unlinkat", "remove",
    "mkdir", "mkdirat", "mkdir_p", "rmdir", "truncate", "ftruncate",
    "link", "linkat", "symlink", "symlinkat", "chmod", "fchmod", "fchmodat",
    "chown", "fchown", "lchown", "fchownat", "mknod", "mkfifo",
    "mkstemp", "mkstemps", "mkostemp", "mkostemps", "mkdtemp", "tmpfile_hold",
    "copy_file_range", "sendfile", "syscall",
    "write_file_atomic", "write_file_atomic_full",
]
CALL = re.compile(r'(?<![\w.>])(%s)\s*\(' % "|".join(map(re.escape, FORBIDDEN_CALLS)))

# (file name, call or header): why it is not work on a host path.  Keep short.
ALLOWED = {}

# Comments and literals, so that "open(" in a description is not a call.
TOKENS = re.compile(r'//[^\n]*|/\*.*?\*/|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'', re.S)


def blank(m):
    text = m.group(0)
    if text.startswith(("/", "'")):
        return re.sub(r'[^\n]', ' ', text)
    return '""'


def violations(name, text):
    """[(line, what)] of one source file."""
    found = []
    for n, line in enumerate(text.splitlines(), 1):
        m = re.match(r'\s*#\s*include\s*[<"]([^">]+)[">]', line)
        if m and FORBIDDEN_INCLUDE.match(os.path.basename(m.group(1))):
            found.append((n, m.group(1)))
    code = TOKENS.sub(blank, text)
    for n, line in enumerate(code.splitlines(), 1):
        if line.lstrip().startswith("#"):
            continue
        for m in CALL.finditer(line):
            found.append((n, m.group(1)))
    return [(n, what) for n, what in found if (name, what) not in ALLOWED]


def api_dir():
    root = os.environ.get("CTVM_SOURCE_ROOT") or os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..", "..")
    return os.path.join(root, "src", "api")


class ApiLayering(unittest.TestCase):
    maxDiff = None

    def test_api_does_no_work(self):
        d = api_dir()
        names = sorted(n for n in os.listdir(d) if n.endswith((".c", ".h")))
        self.assertGreater(len(names), 10, d)
        bad = []
        for name in names:
            with open(os.path.join(d, name), encoding="utf-8") as f:
                bad += ["src/api/%s:%d: %s" % (name, n, what)
                        for n, what in violations(name, f.read())]
        self.assertEqual(bad, [], "src/api must start an operation or call a lower layer "
                                  "instead (docs/dev/ARCHITECTURE.md)")

    def test_scanner(self):
        # the scan itself: it must see what it is there to see, and nothing else
        sample = '\n'.join([
            '#include "cmd.h"',
            '#include "download-cmd.h"',
            '#include "storage.h"',
            'static int f(void) {',
            '\tint fd = open(path, O_RDONLY);',
            '\tif (rename (a, b) < 0) unlink(a);',
            '\treturn write_file_atomic_full(p, "", 0, 0644, 0, err);',
            '\t/* open(x) in a comment */ log_info("unlink(%s)", p);',
            '\tstorage_open(snap, id, &st, err); o.open(x); p->unlink(y);',
            '\tr = storage_import_take_upload(&t, name, up, &tmp, err);',
            '}',
        ])
        self.assertEqual(violations("x.c", sample), [
            (1, "cmd.h"), (2, "download-cmd.h"), (5, "open"), (6, "rename"), (6, "unlink"),
            (7, "write_file_atomic_full")])


if __name__ == "__main__":
    unittest.main()
