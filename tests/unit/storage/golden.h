/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Golden command lines: a command builder's cmd_to_string() must equal
 * tests/data/golden/storage/<name>.argv (one line).  With
 * TEST_REGENERATE_OUTPUT=1 the file is rewritten instead (review the diff).
 */
#pragma once

struct cmd;

/* Compares (or rewrites) and releases c; a cmocka failure on mismatch. */
void golden_check_cmd(const char *name, struct cmd *c);
