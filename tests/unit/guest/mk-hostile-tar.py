#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""Writes a hostile container template for test-lxc-tmpl: a tar whose
members try every way out of the rootfs GNU tar is known to be asked
about.  Usage: mk-hostile-tar.py OUT.tar OUTSIDE_DIR gz|xz|zst|plain [hostile|devices]

OUTSIDE_DIR is a directory outside the rootfs the symlink members point
at; the test checks that it stays empty.  "devices" writes a harmless
template that only holds device nodes besides its files."""
import io
import subprocess
import sys
import tarfile

out, outside = sys.argv[1], sys.argv[2]
comp = sys.argv[3] if len(sys.argv) > 3 else "plain"
hostile = (sys.argv[4] if len(sys.argv) > 4 else "hostile") == "hostile"


def reg(tf, name, data=b"x\n", mode=0o644):
    ti = tarfile.TarInfo(name)
    ti.size = len(data)
    ti.mode = mode
    tf.addfile(ti, io.BytesIO(data))


def special(tf, name, typ, linkname="", major=0, minor=0):
    ti = tarfile.TarInfo(name)
    ti.type = typ
    ti.linkname = linkname
    ti.devmajor, ti.devminor = major, minor
    ti.mode = 0o777 if typ == tarfile.SYMTYPE else 0o644
    tf.addfile(ti)


buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tf:
    d = tarfile.TarInfo("./")
    d.type, d.mode = tarfile.DIRTYPE, 0o755
    tf.addfile(d)
    for name in ("./etc/", "./dev/", "./foo/"):
        t = tarfile.TarInfo(name)
        t.type, t.mode = tarfile.DIRTYPE, 0o755
        tf.addfile(t)
    reg(tf, "./etc/os-release", b"ID=debian\n")
    if hostile:
        reg(tf, "../escape")
        reg(tf, "./../escape2")
        reg(tf, "/abs")
        special(tf, "./etc/evil", tarfile.SYMTYPE, outside)
        reg(tf, "./etc/evil/x")
        special(tf, "./a", tarfile.SYMTYPE, "../../../../../../../.." + outside)
        reg(tf, "./a/y")
        special(tf, "./shadow-link", tarfile.LNKTYPE, "/etc/shadow")
        special(tf, "./passwd-link", tarfile.LNKTYPE, "../../../../etc/passwd")
    special(tf, "./dev/sda", tarfile.BLKTYPE, major=8, minor=0)
    special(tf, "dev/sdb", tarfile.BLKTYPE, major=8, minor=16)
    special(tf, "./foo/sda", tarfile.CHRTYPE, major=1, minor=3)
    # a warning of tar's, not an error: exit status 0
    ti = tarfile.TarInfo("./etc/future")
    ti.size, ti.mode, ti.mtime = 2, 0o644, 4102444800
    tf.addfile(ti, io.BytesIO(b"f\n"))
    reg(tf, "./etc/last", b"last\n")
data = buf.getvalue()
if comp != "plain":
    prog = {"gz": ["gzip", "-c"], "xz": ["xz", "-c"], "zst": ["zstd", "-q", "-c"]}[comp]
    data = subprocess.run(prog, input=data, stdout=subprocess.PIPE, check=True).stdout
with open(out, "wb") as f:
    f.write(data)
