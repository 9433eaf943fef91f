/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * QMP messages come from QEMU, which runs the guest's devices: a guest that
 * took over its QEMU controls every byte on the QMP socket.  The input is
 * split into lines as the client splits the stream; each goes through
 * qmp_parse_message().  Checks: no crash; an accepted message has the
 * fields its kind promises (an event its name, an error its description
 * and class, a greeting its object), and a refused one sets the error.
 */
#include "common.h"

#include "error.h"
#include "qmp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
		struct qmp_msg m;
		struct error *err = NULL;
		int r = qmp_parse_message(p, len, &m, &err);
		if (r == 0) {
			if (err || !m.root)
				abort();
			switch (m.kind) {
			case QMP_MSG_GREETING:
				if (!json_is_object(m.value))
					abort();
				break;
			case QMP_MSG_EVENT:
				if (!m.event)
					abort();
				break;
			case QMP_MSG_ERROR:
				if (!m.error_desc || !m.error_class)
					abort();
				break;
			case QMP_MSG_RETURN:
				if (!m.value)
					abort();
				break;
			default:
				abort();
			}
			qmp_msg_clear(&m);
		} else if (r != -EPROTO || !err || !err->msg) {
			abort();
		}
		error_free(err);
		p += len;
	}
	return 0;
}
