/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The named formats the access layer owns (property.h): user, token, realm,
 * group, role and pool ids, privilege names, and storage ids (user.cfg's
 * grammar of them, usercfg.h). */
#pragma once

#include "property.h"

extern const struct conf_format access_formats[];
