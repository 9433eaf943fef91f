#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""Builds the console pages ctvmd serves (docs/consoles.md).

    build.py SRCDIR OUTDIR STAMP

Takes our own page (SRCDIR/src) and the files the page loads from the npm
packages pinned by package-lock.json (SRCDIR/node_modules; `npm ci` first
when it is missing, as tools/setup-deps does), and writes OUTDIR:

    console.html                  the page, naming assets/HASH/...
    assets/HASH/...               everything else

HASH is a hash of every asset (names and contents), so browsers may keep
an asset for good (ctvmd sends "immutable") and a new build is a new URL.
No bundler: noVNC ships ES modules, xterm.js a script; they are copied as
they are.  OUTDIR is replaced whole (built beside it, then renamed).
"""

import hashlib
import os
import shutil
import subprocess
import sys

# (source under node_modules or src, destination under assets/HASH)
TREES = [
    ("node_modules/@novnc/novnc/core", "novnc/core"),
    ("node_modules/@novnc/novnc/vendor/pako", "novnc/vendor/pako"),
]
FILES = [
    ("node_modules/@novnc/novnc/LICENSE.txt", "novnc/LICENSE.txt"),
    ("node_modules/@xterm/xterm/lib/xterm.js", "xterm/xterm.js"),
    ("node_modules/@xterm/xterm/css/xterm.css", "xterm/xterm.css"),
    ("node_modules/@xterm/xterm/LICENSE", "xterm/LICENSE.txt"),
    ("node_modules/@xterm/addon-fit/lib/addon-fit.js", "xterm/addon-fit.js"),
    ("src/console.js", "console.js"),
    ("src/console.css", "console.css"),
]
KEEP = (".js", ".css", ".txt")


def collect(src):
    out = {}
    for rel, dst in TREES:
        top = os.path.join(src, rel)
        for dirpath, dirnames, filenames in os.walk(top):
            dirnames.sort()
            for f in sorted(filenames):
                if f.endswith(KEEP):
                    p = os.path.join(dirpath, f)
                    out[dst + "/" + os.path.relpath(p, top)] = p
    for rel, dst in FILES:
        out[dst] = os.path.join(src, rel)
    return out


def main():
    src, outdir, stamp = sys.argv[1:4]
    if not os.path.isdir(os.path.join(src, "node_modules")):
        print("www: node_modules missing, running npm ci", file=sys.stderr)
        try:
            subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts",
                            "--loglevel=error"], cwd=src, check=True, timeout=600)
        except (OSError, subprocess.SubprocessError) as e:
            # the rest of ctvm builds without the pages: ctvmd then serves
            # none (and says so in its log); the pages' test fails
            print("www: WARNING: cannot install the npm packages (%s); run "
                  "tools/setup-deps. Building without the console pages." % e,
                  file=sys.stderr)
            shutil.rmtree(outdir, ignore_errors=True)
            os.makedirs(outdir)
            with open(stamp, "w", encoding="utf-8") as f:
                f.write("none\n")
            return
    files = collect(src)
    h = hashlib.sha256()
    for name in sorted(files):
        with open(files[name], "rb") as f:
            data = f.read()
        h.update(b"%s\0%d\0" % (name.encode(), len(data)))
        h.update(data)
    digest = h.hexdigest()[:16]

    tmp = outdir + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    base = os.path.join(tmp, "assets", digest)
    for name, path in files.items():
        d = os.path.join(base, name)
        os.makedirs(os.path.dirname(d), exist_ok=True)
        shutil.copyfile(path, d)
    with open(os.path.join(src, "src", "console.html"), encoding="utf-8") as f:
        page = f.read().replace("@ASSETS@", "/assets/" + digest)
    with open(os.path.join(tmp, "console.html"), "w", encoding="utf-8") as f:
        f.write(page)
    shutil.rmtree(outdir, ignore_errors=True)
    os.rename(tmp, outdir)
    with open(stamp, "w", encoding="utf-8") as f:
        f.write(digest + "\n")


if __name__ == "__main__":
    main()
