/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* storage-priv: what backends share with the dispatcher; not for callers. */
#pragma once

#include "storage.h"

struct cmd;
struct cmd_result;

extern const struct storage_backend storage_backend_dir;

/* Runs c, first writing it to the task log of w (NULL: none).  Returns
 * cmd_run()'s result; r (optional) as with cmd_run(). */
int storage_run_cmd(const struct cmd *c, struct task_worker *w, struct cmd_result *r,
                    struct error **err);

/* The error every entry point answers for a missing capability. */
int storage_error_unsupported(const struct storage *st, const char *op, struct error **err);
