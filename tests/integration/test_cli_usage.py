#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""ctvm api usage: a method's parameters from the method table's data.

The CLI links the rows' data (api-rows.h), not the daemon's handlers, so it
answers without a daemon.  The output of one method is pinned in a golden
file (tests/data/golden/cli/; TEST_REGENERATE_OUTPUT=1 rewrites it), and the
listing follows the table: every key of storage.cfg is an option of POST
/storage, a template and a concrete path find the same row.
"""

import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ctvmtest  # noqa: E402

GOLDEN = os.path.join(os.environ.get("CTVM_TEST_DATA",
                                     os.path.join(os.path.dirname(__file__), "..", "data")),
                      "golden", "cli")


def ctvm(*args):
    # no --root, no daemon: usage never connects
    return subprocess.run([ctvmtest.ctvm_path()] + list(args), capture_output=True, text=True,
                          timeout=30, env=dict(os.environ, LC_ALL="C"))


class Usage(unittest.TestCase):
    def golden(self, name, text):
        path = os.path.join(GOLDEN, name)
        if os.environ.get("TEST_REGENERATE_OUTPUT"):
            os.makedirs(GOLDEN, exist_ok=True)
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
            return
        with open(path, encoding="utf-8") as f:
            self.assertEqual(text, f.read(), "%s differs (TEST_REGENERATE_OUTPUT=1 rewrites it)"
                             % path)

    def test_storage_create(self):
        r = ctvm("api", "usage", "/storage", "POST")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, "")
        self.golden("usage-storage-post.txt", r.stdout)
        # the same through ctvm's own verb
        self.assertEqual(ctvm("api", "usage", "/storage", "create").stdout, r.stdout)

    def test_every_method_of_a_path(self):
        by_template = ctvm("api", "usage", "/storage/{storage}")
        by_path = ctvm("api", "usage", "/storage/local")
        self.assertEqual(by_template.returncode, 0, by_template.stderr)
        self.assertEqual(by_template.stdout, by_path.stdout)
        heads = [line for line in by_path.stdout.splitlines() if line.startswith("USAGE: ")]
        self.assertEqual(heads, ["USAGE: ctvm api get /storage/{storage}",
                                 "USAGE: ctvm api set /storage/{storage} [OPTIONS]",
                                 "USAGE: ctvm api delete /storage/{storage}"])

    def test_volume_path(self):
        r = ctvm("api", "usage", "/nodes/pve1/storage/local/content/local:100/vm-100-disk-0.raw",
                 "get")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("USAGE: ctvm api get /nodes/{node}/storage/{storage}/content/{volume}",
                      r.stdout)
        self.assertIn("format: pve-volume-id-or-name", r.stdout)

    def test_refused(self):
        r = ctvm("api", "usage", "/nosuch")
        self.assertEqual((r.returncode, r.stdout, r.stderr),
                         (1, "", "ctvm: no API method for /nosuch\n"))
        r = ctvm("api", "usage", "/version", "POST")
        self.assertEqual((r.returncode, r.stderr), (1, "ctvm: no API method POST /version\n"))
        r = ctvm("api", "usage", "/version", "PATCH")
        self.assertEqual((r.returncode, r.stderr), (2, "ctvm: unknown method 'PATCH'\n"))
        r = ctvm("api", "usage")
        self.assertEqual(r.returncode, 2)

    def test_pvesm_help_lines(self):
        """Each pvesm command's help, served or not (scan nfs), is whole
        lines: a blank line after the synopsis, a newline at the end."""
        for words in (["scan", "nfs"], ["scan", "pbs"], ["scan", "lvm"], ["status"]):
            r = ctvm("storage", "help", *words)
            self.assertEqual((r.returncode, r.stderr), (0, ""), words)
            head = "USAGE: ctvm storage %s " % " ".join(words)
            self.assertTrue(r.stdout.startswith(head), r.stdout)
            self.assertTrue(r.stdout.endswith("\n") and not r.stdout.endswith("\n\n"),
                            repr(r.stdout))
            first, blank, third = r.stdout.split("\n")[:3]
            self.assertEqual(blank, "", repr(r.stdout))
        r = ctvm("storage", "help", "scan", "nfs")
        self.assertEqual(r.stdout.split("\n")[2],
                         "Not available: this ctvm's API has no GET /nodes/{node}/scan/nfs.")


if __name__ == "__main__":
    ctvmtest.main(need_root=False)
