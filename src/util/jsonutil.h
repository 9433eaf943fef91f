/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Small jansson helpers shared by every layer. */
#pragma once

#include <jansson.h>

/* jansson >= 2.11 provides json_decrefp() for exactly this. */
#define _cleanup_json_ __attribute__((cleanup(json_decrefp)))
