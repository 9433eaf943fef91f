/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The named formats the task layer owns (property.h): pve-node (a node
 * name, the UPID's node grammar) and pve-task-upid. */
#pragma once

#include "property.h"

extern const struct conf_format task_formats[];
