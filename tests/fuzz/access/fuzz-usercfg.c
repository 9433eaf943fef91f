/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * user.cfg parser/writer and the ACL engine on arbitrary bytes: what we write
 * parses back to the same text, and permission queries on whatever parsed
 * never crash.
 */
#include "common.h"

#include "acl.h"
#include "error.h"
#include "strbuf.h"
#include "usercfg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct usercfg *cfg = NULL;
	struct error *e = NULL;
	if (usercfg_parse((const char *)data, size, &cfg, &e) < 0) {
		error_free(e);
		return 0;
	}
	struct strbuf a = STRBUF_INIT, b = STRBUF_INIT;
	usercfg_write(cfg, &a);
	struct usercfg *c2 = NULL;
	if (usercfg_parse(a.buf, a.len, &c2, &e) < 0)
		abort();
	usercfg_write(c2, &b);
	if (!streq(a.buf, b.buf))
		abort();
	/* the deep copy writes the same too */
	struct usercfg *c3 = usercfg_dup(cfg);
	struct strbuf c = STRBUF_INIT;
	usercfg_write(c3, &c);
	if (!streq(a.buf, c.buf))
		abort();

	static const char *const paths[] = {"/", "/vms/100", "/storage/local", "/pool/a", ""};
	for (size_t u = 0; u < cfg->n_users && u < 4; u++) {
		for (size_t p = 0; p < ARRAY_SIZE(paths); p++) {
			struct privset ps;
			access_permissions(cfg, cfg->users[u]->userid, paths[p], &ps);
			for (size_t t = 0; t < cfg->users[u]->n_tokens && t < 2; t++) {
				char id[256];
				snprintf(id, sizeof(id), "%s!%s", cfg->users[u]->userid,
				         cfg->users[u]->tokens[t]->name);
				access_permissions(cfg, id, paths[p], &ps);
			}
		}
		json_decref(access_permissions_json(cfg, cfg->users[u]->userid, NULL));
		json_decref(acl_cap_json(cfg, cfg->users[u]->userid));
	}
	strbuf_release(&a);
	strbuf_release(&b);
	strbuf_release(&c);
	usercfg_free(cfg);
	usercfg_free(c2);
	usercfg_free(c3);
	return 0;
}
