/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * UPIDs arrive in URLs (/nodes/{node}/tasks/{upid}/...) and are read back
 * from index and active.  Checks: no crash, and every accepted UPID formats
 * back to an accepted UPID naming the same task.
 */
#include "common.h"

#include "task-priv.h"
#include "task.h"
#include "xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 4096)
		return 0;
	char *s = xstrndup((const char *)data, size);
	struct upid u;
	if (upid_parse(s, &u) == 0) {
		char *f = upid_format(&u);
		struct upid v;
		if (upid_parse(f, &v) != 0)
			abort();
		if (!streq(u.node, v.node) || u.pid != v.pid || u.pstart != v.pstart ||
		    u.starttime != v.starttime || !streq(u.type, v.type) || !streq(u.id, v.id) ||
		    !streq(u.user, v.user))
			abort();
		/* the same text up to the case of hex digits, except that a
		 * 9-digit pstart with a leading 0 comes back with 8 */
		if (strlen(f) == strlen(s) && strcasecmp(f, s) != 0)
			abort();
		json_t *j = upid_to_json(f, &u);
		if (!j)
			abort();
		json_decref(j);
		free(f);
		upid_clear(&v);
		upid_clear(&u);
	}
	char *status;
	task_status_from_line(s, &status);
	free(status);
	free(s);
	return 0;
}
