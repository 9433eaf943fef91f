/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Container configs come from disk and from backups being restored; the
 * container code reads their values through the typed views.  Checks: no
 * crash; the lenient parse fails only on the bounds; what it keeps (bad
 * values included, as PVE keeps them) writes, and that text parses to
 * itself again (a fixed point); a strict parse succeeds exactly when the
 * lenient one warned of nothing, and then keeps the same; the typed views
 * (NICs, mount points, features, the id map) and the kind's rules take
 * whatever was kept and answer or refuse with a one-line 400.
 */
#include "common.h"

#include "error.h"
#include "guest-conf.h"
#include "guest.h"
#include "lxc-conf.h"
#include "lxc-idmap.h"
#include "strbuf.h"
#include "strv.h"
#include "xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *write_or_die(const struct guest_conf *c)
{
	struct strbuf sb = STRBUF_INIT;
	if (lxc_conf_write(c, &sb, NULL) < 0)
		abort();
	return strbuf_detach(&sb, NULL);
}

/* a refusal: one line, 400; *e freed and reset */
static void one_line(struct error **e)
{
	if (!*e || (*e)->http_status != 400 || strchr((*e)->msg, '\n'))
		abort();
	*e = error_free(*e);
}

static void check_views(const json_t *conf)
{
	const struct guest_kind_ops *k = guest_kind_find("lxc");
	const char *key;
	json_t *v;
	json_object_foreach ((json_t *)conf, key, v) {
		const char *value = json_string_value(v);
		if (!value)
			continue;
		struct error *e = NULL;
		if (!strncmp(key, "net", 3)) {
			struct lxc_net n;
			if (lxc_conf_net_parse(0, value, &n, &e) < 0)
				one_line(&e);
			else if (!n.name[0] || n.name[sizeof(n.name) - 1])
				abort();
		} else if (!strcmp(key, "rootfs") || !strncmp(key, "mp", 2)) {
			struct lxc_mount m;
			if (lxc_conf_mount_parse(key, value, &m, &e) < 0) {
				one_line(&e);
			} else {
				if (!m.volume || !m.mp)
					abort();
				lxc_mount_done(&m);
			}
		} else if (!strcmp(key, "features")) {
			struct lxc_features f;
			if (lxc_conf_features_parse(value, &f, &e) < 0)
				one_line(&e);
		}
		(void)k->key_priv(key);
		(void)k->needs_root(key, value);
		free(k->disk_file(key, value));
		free(k->detached_volume(key, value));
		char *norm = NULL;
		if (guest_config_check_value(k, key, value, &norm, &e) < 0)
			one_line(&e);
		free(norm);
	}
	json_t *e = json_object();
	k->summary(100, conf, e);
	json_decref(e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 65536)
		return 0;
	const char *text = (const char *)data;
	struct guest_conf *c = NULL;
	char **warnings = NULL;
	struct error *e = NULL;
	if (lxc_conf_parse(text, size, 100, 0, &c, &warnings, &e) < 0) {
		if (!e || (e->code != -E2BIG && e->code != -EFBIG) || strchr(e->msg, '\n'))
			abort();
		e = error_free(e);
		return 0;
	}
	char *w1 = write_or_die(c);

	struct guest_conf *s = NULL;
	if (lxc_conf_parse(text, size, 100, GUEST_CONF_STRICT, &s, NULL, &e) == 0) {
		if (warnings)
			abort();
		char *ws = write_or_die(s);
		if (strcmp(ws, w1) != 0)
			abort();
		free(ws);
		guest_conf_free(s);
	} else {
		if (!warnings || !e || strcmp(e->msg, warnings[0]) != 0)
			abort();
		e = error_free(e);
	}

	struct guest_conf *c2 = NULL;
	if (lxc_conf_parse(w1, strlen(w1), 100, 0, &c2, NULL, NULL) < 0)
		abort();
	char *w2 = write_or_die(c2);
	if (strcmp(w1, w2) != 0)
		abort();

	check_views(c2->conf);
	struct lxc_idmap m;
	if (lxc_idmap_for(c2, &m, &e) < 0)
		one_line(&e);
	else if (m.n > LXC_IDMAP_MAX)
		abort();
	json_decref(lxc_conf_raw_keys(c2));

	free(w2);
	free(w1);
	guest_conf_free(c2);
	guest_conf_free(c);
	strv_free(warnings);
	return 0;
}
