/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Guest config files come from disk, from backups being restored and, key
 * by key, from the API.  Checks: no crash; what the lenient parser keeps,
 * the writer writes, and that text parses again strictly, without a
 * warning, and writes back to itself (parse and write are a fixed point);
 * a strict parse that succeeds keeps what the lenient one keeps.  The
 * command-line builder takes whatever was kept: it builds an argv or
 * refuses with a one-line 400/500, never more.
 */
#include "common.h"

#include "error.h"
#include "guest-conf.h"
#include "qemu-cmd.h"
#include "qemu-conf.h"
#include "strbuf.h"
#include "strv.h"
#include "xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *write_or_die(const struct guest_conf *c)
{
	struct strbuf sb = STRBUF_INIT;
	if (guest_conf_write(c, &sb, NULL) < 0)
		abort();
	return strbuf_detach(&sb, NULL);
}

static int resolve(const char *volid, void *userdata, struct qemu_volume *ret, struct error **err)
{
	if (strncmp(volid, "local:", 6) != 0)
		return error_set(err, -ENOENT, 400, "no such volume");
	*ret = (struct qemu_volume){.path = xasprintf("/var/lib/vz/images/%s", volid + 6),
	                            .storage_type = "dir"};
	return 0;
}

static int bridge_mtu(const char *bridge, void *userdata)
{
	return streq(bridge, "vmbr0") ? 1500 : -ENOENT;
}

static void check_cmd(const struct guest_conf *c)
{
	static const struct qemu_cmd_env env = {
	    .vmid = 100,
	    .rundir = "/run/ctvm/qemu/100",
	    .kvm_available = true,
	    .resolve = resolve,
	    .bridge_mtu = bridge_mtu,
	};
	char **argv = NULL;
	struct error *e = NULL;
	if (qemu_cmd_build(&env, c, &argv, &e) < 0) {
		if (!e || (e->http_status != 400 && e->http_status != 500) || strchr(e->msg, '\n'))
			abort();
		error_free(e);
		return;
	}
	if (!argv || !argv[0])
		abort();
	for (char **a = argv; *a; a++)
		if (strchr(*a, '\n'))
			abort();
	strv_free(argv);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 65536)
		return 0;
	const char *text = (const char *)data;
	struct guest_conf *c = NULL;
	char **warnings = NULL;
	struct error *e = NULL;
	if (qemu_conf_parse(text, size, 100, 0, &c, &warnings, &e) < 0) {
		/* only the bounds fail a lenient parse */
		if (!e || (e->code != -E2BIG && e->code != -EFBIG) || strchr(e->msg, '\n'))
			abort();
		error_free(e);
		return 0;
	}
	char *w1 = write_or_die(c);

	struct guest_conf *s = NULL;
	if (qemu_conf_parse(text, size, 100, GUEST_CONF_STRICT, &s, NULL, &e) == 0) {
		if (warnings) /* strict succeeds exactly when nothing was skipped */
			abort();
		char *ws = write_or_die(s);
		if (!streq(ws, w1))
			abort();
		free(ws);
		guest_conf_free(s);
	} else {
		if (!warnings || !e || !streq(e->msg, warnings[0]))
			abort();
		error_free(e);
	}

	struct guest_conf *c2 = NULL;
	if (qemu_conf_parse(w1, strlen(w1), 100, GUEST_CONF_STRICT, &c2, NULL, NULL) < 0)
		abort();
	char *w2 = write_or_die(c2);
	if (!streq(w1, w2))
		abort();

	check_cmd(c2);

	/* a copy writes the same */
	struct guest_conf *d = guest_conf_dup(c2);
	char *w3 = write_or_die(d);
	if (!streq(w2, w3))
		abort();

	free(w3);
	free(w2);
	free(w1);
	guest_conf_free(d);
	guest_conf_free(c2);
	guest_conf_free(c);
	strv_free(warnings);
	return 0;
}
