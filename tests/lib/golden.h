/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Golden files: output a test pins byte for byte in a checked-in file under
 * tests/data/golden/ (command lines of storage backends today; qemu argv
 * and lxc configs next).  With TEST_REGENERATE_OUTPUT=1 in the environment
 * the file is written instead of compared (directories created as needed):
 * review the diff before committing it.
 *
 * file is relative to tests/data/golden/ and names its area and extension,
 * e.g. "storage/dir-create-qcow2.argv".
 */
#pragma once

struct cmd;

/* Compares (or rewrites) text with the golden file; a cmocka failure on a
 * mismatch or a missing file. */
void golden_check_text(const char *file, const char *text);

/* golden_check_text() of c's cmd_to_string() and a newline (one line per
 * .argv file); releases c. */
void golden_check_cmd(const char *file, struct cmd *c);
