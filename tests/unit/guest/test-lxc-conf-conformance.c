/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The container config against PVE's own test data (conformance/lxc/):
 *
 *  - every snapshot-input and snapshot-expected config parses strictly and
 *    writes back byte for byte (PVE's writer order);
 *  - the snapshot cases of snapshot-cases.tsv whose outcome the config
 *    alone decides (no fake storage or freeze failure) give the expected
 *    config, and the failing ones PVE's message with the config unchanged
 *    (the harness's snaptime 1234567890 and comment "test comment");
 *  - every setup/<test>/config parses strictly;
 *  - the lxc.idmap cases of idmap-cases.txt validate or fail with the
 *    message fragments given (the 1000-entry case within a second).
 */
#include "common.h"

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <time.h>
#include <cmocka.h>

#include "error.h"
#include "fileio.h"
#include "guest-conf.h"
#include "lxc-conf.h"
#include "lxc-idmap.h"
#include "strbuf.h"
#include "strutil.h"
#include "strv.h"
#include "xalloc.h"

static char *path_of(const char *rel)
{
	const char *base = getenv("CTVM_CONFORMANCE");
	assert_non_null(base);
	return xasprintf("%s/lxc/%s", base, rel);
}

static char *slurp(const char *rel)
{
	_cleanup_free_ char *p = path_of(rel);
	char *data = NULL;
	size_t len;
	if (read_file(p, 1 << 20, &data, &len, NULL) < 0)
		fail_msg("cannot read %s", p);
	return data;
}

static struct guest_conf *parse_flags(const char *rel, const char *text, unsigned flags)
{
	struct guest_conf *c = NULL;
	struct error *e = NULL;
	if (lxc_conf_parse(text, strlen(text), 100, flags, &c, NULL, &e) < 0)
		fail_msg("%s: %s", rel, e->msg);
	return c;
}

static struct guest_conf *parse_strict(const char *rel, const char *text)
{
	return parse_flags(rel, text, GUEST_CONF_STRICT);
}

/* As PVE's load_config: what fails its check is warned about and kept
 * (rollback/205's "vmstate", which containers do not know). */
static struct guest_conf *parse_lenient(const char *rel, const char *text)
{
	return parse_flags(rel, text, 0);
}

static char *write_conf(const struct guest_conf *c)
{
	struct strbuf sb = STRBUF_INIT;
	struct error *e = NULL;
	if (lxc_conf_write(c, &sb, &e) < 0)
		fail_msg("write: %s", e->msg);
	return strbuf_detach(&sb, NULL);
}

/* every file of dir (relative), sorted */
static char **files_of(const char *rel)
{
	_cleanup_free_ char *p = path_of(rel);
	DIR *d = opendir(p);
	if (!d)
		fail_msg("cannot open %s", p);
	char **names = NULL;
	struct dirent *de;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			strv_push(&names, xasprintf("%s/%s", rel, de->d_name));
	closedir(d);
	return names;
}

static void test_round_trips(void **state)
{
	static const char *const ops[] = {"prepare", "commit", "create", "delete", "rollback"};
	int n = 0;
	for (size_t side = 0; side < 2; side++) {
		for (size_t i = 0; i < ARRAY_SIZE(ops); i++) {
			_cleanup_free_ char *dir = xasprintf(
			    "%s/%s/lxc", side ? "snapshot-expected" : "snapshot-input", ops[i]);
			_cleanup_strv_free_ char **files = files_of(dir);
			for (char **f = files; f && *f; f++) {
				_cleanup_free_ char *text = slurp(*f);
				_cleanup_guest_conf_ struct guest_conf *c = parse_lenient(*f, text);
				_cleanup_free_ char *out = write_conf(c);
				if (!streq(out, text))
					fail_msg("%s: wrote\n%s\n--- input ---\n%s", *f, out, text);
				n++;
			}
		}
	}
	print_message("%d snapshot configs round-tripped\n", n);
	assert_true(n >= 80);
}

static int run(struct guest_conf *c, const char *op, const char *name, bool flag,
               struct error **err)
{
	const struct guest_snapshot_rules *k = &lxc_snapshot_rules;
	struct guest_snapshot_opts o = {.snaptime = 1234567890, .comment = "test comment"};
	if (flag)
		o.vmstate = "somestorage:state-volume";
	int r;
	if (streq(op, "prepare"))
		return guest_conf_snapshot_prepare(k, c, name, &o, err);
	if (streq(op, "commit"))
		return guest_conf_snapshot_commit(k, c, name, err);
	if (streq(op, "create")) {
		if ((r = guest_conf_snapshot_prepare(k, c, name, &o, err)) < 0)
			return r;
		return guest_conf_snapshot_commit(k, c, name, err);
	}
	if (streq(op, "delete")) {
		if ((r = guest_conf_snapshot_delete_prepare(k, c, name, err)) < 0)
			return r;
		return guest_conf_snapshot_delete_finish(k, c, name, err);
	}
	if (streq(op, "rollback")) {
		if ((r = guest_conf_snapshot_rollback_prepare(k, c, name, err)) < 0)
			return r;
		return guest_conf_snapshot_rollback_finish(k, c, name, err);
	}
	fail_msg("unknown op %s", op);
	return -EINVAL;
}

static void test_snapshot_cases(void **state)
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
		if (!f[8] || *f[7]) { /* a fake failure of storage or freeze */
			skipped++;
			continue;
		}
		_cleanup_free_ char *in_rel =
		    xasprintf("snapshot-input/%s/lxc/%s.conf", f[0], f[1]);
		_cleanup_free_ char *ex_rel =
		    xasprintf("snapshot-expected/%s/lxc/%s.conf", f[0], f[1]);
		_cleanup_free_ char *in = slurp(in_rel), *expected = slurp(ex_rel);
		_cleanup_guest_conf_ struct guest_conf *c = parse_lenient(in_rel, in);
		_cleanup_guest_conf_ struct guest_conf *work = guest_conf_dup(c);
		struct error *e = NULL;
		int r = run(work, f[0], f[2], streq(f[3], "1"), &e);

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
		_cleanup_free_ char *out = write_conf(work);
		if (!streq(out, expected))
			fail_msg("%s %s: got\n%s\n--- expected ---\n%s", f[0], f[1], out, expected);
		ran++;
	}
	print_message("snapshot cases: %d run, %d skipped (a fake failure outside the config)\n",
	              ran, skipped);
	assert_true(ran >= 25);
}

static void test_setup_configs(void **state)
{
	_cleanup_strv_free_ char **dirs = files_of("setup");
	int n = 0;
	for (char **d = dirs; d && *d; d++) {
		if (!strstr(*d, "/test-"))
			continue;
		_cleanup_free_ char *rel = xasprintf("%s/config", *d);
		_cleanup_free_ char *text = slurp(rel);
		_cleanup_guest_conf_ struct guest_conf *c = parse_strict(rel, text);
		/* and what it writes reads back to itself */
		_cleanup_free_ char *out = write_conf(c);
		_cleanup_guest_conf_ struct guest_conf *c2 = parse_strict(rel, out);
		_cleanup_free_ char *out2 = write_conf(c2);
		assert_string_equal(out, out2);
		n++;
	}
	print_message("%d setup configs parsed\n", n);
	assert_true(n >= 30);
}

/* One case of idmap-cases.txt: the config lines and the outcome. */
static void check_idmap_case(const char *name, const char *config, const char *outcome)
{
	_cleanup_guest_conf_ struct guest_conf *c = NULL;
	struct error *e = NULL;
	/* lenient: "lxc.rootfs" is no key PVE keeps (a warning) */
	if (lxc_conf_parse(config, strlen(config), 100, 0, &c, NULL, &e) < 0)
		fail_msg("%s: %s", name, e->msg);
	struct lxc_idmap m;
	int r = lxc_idmap_for(c, &m, &e);
	if (str_startswith(outcome, "valid")) {
		if (r < 0)
			fail_msg("%s: %s", name, e->msg);
		return;
	}
	assert_true(str_startswith(outcome, "error:"));
	if (r == 0)
		fail_msg("%s: valid, expected %s", name, outcome);
	/* every "fragment" of the outcome is in the message */
	for (const char *q = strchr(outcome, '"'); q; q = strchr(q, '"')) {
		const char *end = strchr(q + 1, '"');
		assert_non_null(end);
		_cleanup_free_ char *frag = xstrndup(q + 1, (size_t)(end - q - 1));
		if (!strstr(e->msg, frag))
			fail_msg("%s: '%s' lacks '%s'", name, e->msg, frag);
		q = end + 1;
	}
	error_free(e);
}

static void test_idmap_cases(void **state)
{
	_cleanup_free_ char *text = slurp("idmap-cases.txt");
	_cleanup_strv_free_ char **lines = strv_split(text, "\n");
	struct strbuf config = STRBUF_INIT;
	char *name = NULL;
	int n = 0;
	for (char **l = lines; *l; l++) {
		if (str_startswith(*l, "== case:")) {
			free(name);
			name = xstrdup(*l + 9);
			strbuf_reset(&config);
		} else if (str_startswith(*l, "-> ")) {
			if (strstr(name, "performance"))
				continue; /* generated below */
			check_idmap_case(name, config.buf ? config.buf : "", *l + 3);
			n++;
		} else if (name && **l && **l != '#') {
			strbuf_addf(&config, "%s\n", *l);
		}
	}
	free(name);
	strbuf_release(&config);
	assert_true(n >= 7);

	/* 1000 entries "u <10*i> <100000+10*i> 10": valid, and fast */
	_cleanup_free_ struct lxc_idmap_entry *e = xcalloc(1000, sizeof(*e));
	for (uint32_t i = 0; i < 1000; i++)
		e[i] = (struct lxc_idmap_entry){'u', 10 * i, 100000 + 10 * i, 10};
	clock_t t0 = clock();
	assert_int_equal(lxc_idmap_validate(e, 1000, NULL), 0);
	assert_true((double)(clock() - t0) / CLOCKS_PER_SEC < 1.0);
	/* one overlap among them is found */
	e[500].ct = 4995;
	struct error *err = NULL;
	assert_int_equal(lxc_idmap_validate(e, 1000, &err), -EINVAL);
	assert_string_equal(err->msg, "invalid map entry 'u 4995 105000 10': container uid 4995 "
	                              "is also mapped by entry 'u 4990 104990 10'");
	error_free(err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trips),
	    cmocka_unit_test(test_snapshot_cases),
	    cmocka_unit_test(test_setup_configs),
	    cmocka_unit_test(test_idmap_cases),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
