/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The snapshot steps of qemu-conf.h against PVE's snapshot cases
 * (conformance/qemu-server/snapshot-cases.tsv): for every case whose outcome
 * the config alone decides (no fake storage, QMP or guest-agent failure
 * switched on), the steps run on snapshot-input/<op>/qemu-server/<id>.conf
 * give snapshot-expected/<op>/qemu-server/<id>.conf byte for byte, and the
 * failing ones fail with PVE's message and leave the config as it was.
 * The volume operations between the steps are the caller's and not run.
 * As the upstream harness: snaptime 1234567890, comment "test comment",
 * and a snapshot with RAM gets vmstate "somestorage:state-volume" and
 * runningmachine "q35".
 */
#include "common.h"

#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>

#include "error.h"
#include "fileio.h"
#include "guest-conf.h"
#include "qemu-conf.h"
#include "strbuf.h"
#include "strv.h"
#include "xalloc.h"

static char *slurp(const char *rel)
{
	const char *base = getenv("CTVM_CONFORMANCE");
	assert_non_null(base);
	_cleanup_free_ char *p = xasprintf("%s/qemu-server/%s", base, rel);
	char *data = NULL;
	size_t len;
	if (read_file(p, 1 << 20, &data, &len, NULL) < 0)
		fail_msg("cannot read %s", p);
	return data;
}

static int run(struct guest_conf *c, const char *op, const char *name, bool flag,
               struct error **err)
{
	struct qemu_snapshot_opts o = {.snaptime = 1234567890, .comment = "test comment"};
	if (flag) {
		o.vmstate = "somestorage:state-volume";
		o.runningmachine = "q35";
	}
	int r;
	if (streq(op, "prepare"))
		return qemu_conf_snapshot_prepare(c, name, &o, err);
	if (streq(op, "commit"))
		return qemu_conf_snapshot_commit(c, name, err);
	if (streq(op, "create")) {
		if ((r = qemu_conf_snapshot_prepare(c, name, &o, err)) < 0)
			return r;
		return qemu_conf_snapshot_commit(c, name, err);
	}
	if (streq(op, "delete")) {
		if ((r = qemu_conf_snapshot_delete_prepare(c, name, err)) < 0)
			return r;
		return qemu_conf_snapshot_delete_finish(c, name, err);
	}
	if (streq(op, "rollback")) {
		if ((r = qemu_conf_snapshot_rollback_prepare(c, name, err)) < 0)
			return r;
		return qemu_conf_snapshot_rollback_finish(c, name, err);
	}
	fail_msg("unknown op %s", op);
	return -EINVAL;
}

static void test_cases(void **state)
{
	_cleanup_free_ char *tsv = slurp("snapshot-cases.tsv");
	_cleanup_strv_free_ char **lines = strv_split(tsv, "\n");
	int ran = 0, skipped = 0;
	for (char **l = lines; *l; l++) {
		if (**l == '#' || str_startswith(*l, "op\t") || !**l)
			continue;
		/* op id snapname flag error volume_ops undone environment description */
		char *f[9] = {0};
		char *p = *l;
		for (int i = 0; i < 9; i++) {
			f[i] = p;
			char *tab = p ? strchr(p, '\t') : NULL;
			if (tab)
				*tab = '\0';
			p = tab ? tab + 1 : NULL;
		}
		if (!f[8] || *f[7]) { /* a fake failure of storage, QMP or the agent */
			skipped++;
			continue;
		}
		_cleanup_free_ char *in_rel =
		    xasprintf("snapshot-input/%s/qemu-server/%s.conf", f[0], f[1]);
		_cleanup_free_ char *ex_rel =
		    xasprintf("snapshot-expected/%s/qemu-server/%s.conf", f[0], f[1]);
		_cleanup_free_ char *in = slurp(in_rel), *expected = slurp(ex_rel);
		_cleanup_guest_conf_ struct guest_conf *c = NULL;
		struct error *e = NULL;
		if (qemu_conf_parse(in, strlen(in), (unsigned)atoi(f[1]), GUEST_CONF_STRICT, &c,
		                    NULL, &e) < 0)
			fail_msg("%s: %s", in_rel, e->msg);
		_cleanup_guest_conf_ struct guest_conf *work = guest_conf_dup(c);
		int r = run(work, f[0], f[2], streq(f[3], "1"), &e);

		/* the expected error, "\n" escaped and ending in one */
		_cleanup_free_ char *want_error = xstrdup(f[4]);
		char *nl = strstr(want_error, "\\n");
		if (nl)
			*nl = '\0';
		if (*want_error) {
			if (r == 0)
				fail_msg("%s %s: succeeded, expected '%s'", f[0], f[1], want_error);
			if (!streq(e->msg, want_error))
				fail_msg("%s %s: got '%s', expected '%s'", f[0], f[1], e->msg,
				         want_error);
			e = error_free(e);
			guest_conf_free(work);
			work = guest_conf_dup(c); /* a failed step writes nothing */
		} else if (r < 0) {
			fail_msg("%s %s: %s", f[0], f[1], e->msg);
		}
		struct strbuf sb = STRBUF_INIT;
		assert_int_equal(guest_conf_write(work, &sb, NULL), 0);
		if (!streq(sb.buf, expected))
			fail_msg("%s %s: got\n%s\n--- expected ---\n%s", f[0], f[1], sb.buf,
			         expected);
		strbuf_release(&sb);
		ran++;
	}
	print_message("snapshot cases: %d run, %d skipped (a fake failure outside the config)\n",
	              ran, skipped);
	assert_true(ran >= 25);
}

/* Rollback: volumes only the current config uses become unused, vmgenid
 * changes, pending changes go. */
static void test_rollback_details(void **state)
{
	static const char text[] = "ide0: local:vm-1-disk-0,size=1G\n"
	                           "scsi0: local:vm-1-disk-new,size=1G\n"
	                           "vmgenid: 00000000-0000-4000-8000-000000000000\n"
	                           "unused0: local:vm-1-disk-old\n"
	                           "\n[PENDING]\nmemory: 1024\n"
	                           "\n[s1]\nide0: local:vm-1-disk-0,size=1G\n"
	                           "vmgenid: 00000000-0000-4000-8000-000000000000\n"
	                           "snaptime: 1\n";
	_cleanup_guest_conf_ struct guest_conf *c = NULL;
	assert_int_equal(qemu_conf_parse(text, strlen(text), 1, GUEST_CONF_STRICT, &c, NULL, NULL),
	                 0);
	assert_int_equal(qemu_conf_snapshot_rollback_prepare(c, "s1", NULL), 0);
	assert_string_equal(guest_conf_get(c->conf, "lock"), "rollback");
	assert_int_equal(qemu_conf_snapshot_rollback_finish(c, "s1", NULL), 0);
	assert_null(guest_conf_get(c->conf, "lock"));
	assert_null(guest_conf_get(c->conf, "scsi0"));
	assert_string_equal(guest_conf_get(c->conf, "unused0"), "local:vm-1-disk-old");
	assert_string_equal(guest_conf_get(c->conf, "unused1"), "local:vm-1-disk-new");
	assert_string_equal(guest_conf_get(c->conf, "parent"), "s1");
	assert_null(guest_conf_get(c->conf, "snaptime"));
	const char *genid = guest_conf_get(c->conf, "vmgenid");
	assert_int_equal(strlen(genid), 36);
	assert_string_not_equal(genid, "00000000-0000-4000-8000-000000000000");
	assert_int_equal(json_object_size(c->pending), 0);

	/* without the lock the last step refuses */
	struct error *e = NULL;
	assert_int_equal(qemu_conf_snapshot_rollback_finish(c, "s1", &e), -EINVAL);
	error_free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cases),
	    cmocka_unit_test(test_rollback_details),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
