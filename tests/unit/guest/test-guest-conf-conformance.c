/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The guest config parser and writer against PVE's own files
 * (conformance/qemu-server, see its README):
 *
 *  - parse-config: non-strict, write(parse(in)) equals parse-config-expected/X
 *    when it exists, else the input byte for byte; strict parsing fails with
 *    exactly X.strict.error when that exists, else succeeds;
 *  - snapshot-input and snapshot-expected: every file parses strictly and
 *    writes back byte for byte;
 *  - cfg2cmd: every .conf parses strictly and writes back the same sections
 *    with the same lines: keys sorted as PVE writes them, and description
 *    lines compared after percent-decoding (PVE writes ':' as %3A) and a
 *    drive's options in any order (PVE writes them sorted);
 *  - restore-config: every input and expected file parses without warnings;
 *  - every output is a fixed point: parsing and writing it again gives it.
 */
#include "common.h"

#include <dirent.h>
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

static char *path_of(const char *rel)
{
	const char *base = getenv("CTVM_CONFORMANCE");
	assert_non_null(base);
	return xasprintf("%s/qemu-server/%s", base, rel);
}

/* The file, or NULL when it does not exist. */
static char *slurp(const char *rel, size_t *len)
{
	_cleanup_free_ char *p = path_of(rel);
	char *data = NULL;
	struct error *e = NULL;
	if (read_file(p, 1 << 20, &data, len, &e) < 0) {
		assert_int_equal(e->code, -ENOENT);
		error_free(e);
		return NULL;
	}
	return data;
}

/* The *.conf names in dir, sorted. */
static char **list_confs(const char *rel)
{
	_cleanup_free_ char *p = path_of(rel);
	DIR *d = opendir(p);
	assert_non_null(d);
	char **v = NULL;
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);
		if (n > 5 && streq(de->d_name + n - 5, ".conf"))
			strv_push(&v, xstrdup(de->d_name));
	}
	closedir(d);
	size_t n = strv_length(v);
	for (size_t a = 1; a < n; a++)
		for (size_t b = a; b > 0 && strcmp(v[b - 1], v[b]) > 0; b--) {
			char *t = v[b];
			v[b] = v[b - 1];
			v[b - 1] = t;
		}
	return v;
}

/* write(parse(in)), or NULL with *err on a parse error. */
static char *rewrite(const char *in, size_t len, unsigned flags, char ***ret_warnings,
                     struct error **err)
{
	_cleanup_guest_conf_ struct guest_conf *c = NULL;
	if (qemu_conf_parse(in, len, 8006, flags, &c, ret_warnings, err) < 0)
		return NULL;
	struct strbuf sb = STRBUF_INIT;
	struct error *e = NULL;
	if (guest_conf_write(c, &sb, &e) < 0)
		fail_msg("write: %s", e->msg);
	return strbuf_detach(&sb, NULL);
}

static void assert_fixed_point(const char *name, const char *out)
{
	_cleanup_free_ char *again = rewrite(out, strlen(out), GUEST_CONF_STRICT, NULL, NULL);
	if (!again || !streq(again, out))
		fail_msg("%s: not a fixed point:\n%s\n--- then ---\n%s", name, out,
		         again ? again : "(parse error)");
}

static void assert_no_warnings(const char *name, char **warnings)
{
	if (warnings)
		fail_msg("%s: warning: %s", name, warnings[0]);
}

static void test_parse_config(void **state)
{
	_cleanup_strv_free_ char **names = list_confs("parse-config-input");
	assert_true(strv_length(names) >= 10);
	for (char **n = names; *n; n++) {
		_cleanup_free_ char *rel = xasprintf("parse-config-input/%s", *n);
		_cleanup_free_ char *erel = xasprintf("parse-config-expected/%s", *n);
		_cleanup_free_ char *srel = xasprintf("parse-config-expected/%s.strict.error", *n);
		size_t len, elen, slen;
		_cleanup_free_ char *in = slurp(rel, &len);
		_cleanup_free_ char *expected = slurp(erel, &elen);
		_cleanup_free_ char *strict_error = slurp(srel, &slen);
		assert_non_null(in);

		_cleanup_strv_free_ char **warnings = NULL;
		struct error *e = NULL;
		_cleanup_free_ char *out = rewrite(in, len, 0, &warnings, &e);
		if (!out)
			fail_msg("%s: %s", *n, e->msg);
		const char *want = expected ? expected : in;
		if (!streq(out, want))
			fail_msg("%s: got\n%s\n--- expected ---\n%s", *n, out, want);
		assert_int_equal(!!warnings, !!strict_error);
		assert_fixed_point(*n, out);

		_cleanup_free_ char *sout = rewrite(in, len, GUEST_CONF_STRICT, NULL, &e);
		if (strict_error) {
			while (slen > 0 && strict_error[slen - 1] == '\n')
				strict_error[--slen] = '\0';
			if (sout || !streq(e->msg, strict_error))
				fail_msg("%s: strict: got '%s', expected '%s'", *n,
				         sout ? "success" : e->msg, strict_error);
			/* the first warning of the lenient parse is the strict error */
			assert_string_equal(warnings[0], strict_error);
			e = error_free(e);
		} else if (!sout) {
			fail_msg("%s: strict: %s", *n, e->msg);
		}
	}
}

static void check_byte_for_byte(const char *dir)
{
	_cleanup_strv_free_ char **names = list_confs(dir);
	assert_non_null(names);
	for (char **n = names; *n; n++) {
		_cleanup_free_ char *rel = xasprintf("%s/%s", dir, *n);
		size_t len;
		_cleanup_free_ char *in = slurp(rel, &len);
		_cleanup_strv_free_ char **warnings = NULL;
		struct error *e = NULL;
		_cleanup_free_ char *out = rewrite(in, len, GUEST_CONF_STRICT, &warnings, &e);
		if (!out)
			fail_msg("%s: %s", rel, e->msg);
		if (!streq(out, in))
			fail_msg("%s: got\n%s\n--- expected ---\n%s", rel, out, in);
	}
}

static void test_snapshots(void **state)
{
	static const char *const ops[] = {"commit", "create", "delete", "prepare", "rollback"};
	for (size_t i = 0; i < ARRAY_SIZE(ops); i++) {
		_cleanup_free_ char *in = xasprintf("snapshot-input/%s/qemu-server", ops[i]);
		_cleanup_free_ char *ex = xasprintf("snapshot-expected/%s/qemu-server", ops[i]);
		check_byte_for_byte(in);
		check_byte_for_byte(ex);
	}
}

static int cmp_strp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "scsi0: file,b=1,a=2" -> "scsi0: file,a=2,b=1": PVE writes a drive's
 * options sorted (print_drive()), whatever order the file had. */
static char *sort_drive_options(const char *line)
{
	const char *colon = strchr(line, ':');
	_cleanup_free_ char *key = colon ? xstrndup(line, (size_t)(colon - line)) : NULL;
	if (!key || !qemu_conf_is_drive_key(key, true)) {
		/* "boot: " has the value " " for PVE, written back as "boot:  " */
		size_t n = strlen(line);
		while (n > 0 && line[n - 1] == ' ')
			n--;
		return xstrndup(line, n);
	}
	_cleanup_strv_free_ char **parts = strv_split(colon + 2, ",");
	size_t n = strv_length(parts);
	if (n > 1)
		qsort(parts + 1, n - 1, sizeof(*parts), cmp_strp);
	struct strbuf sb = STRBUF_INIT;
	strbuf_addf(&sb, "%s:", key);
	for (size_t i = 0; i < n; i++)
		strbuf_addf(&sb, "%c%s", i ? ',' : ' ', parts[i]);
	return strbuf_detach(&sb, NULL);
}

/*
 * text normalised for comparison: per section (the header line, then the
 * description lines decoded, in order, without trailing blank ones, then
 * the other lines sorted), blank lines dropped.
 */
static char *normalise(const char *text)
{
	struct strbuf out = STRBUF_INIT;
	char **descr = NULL, **keys = NULL;
	_cleanup_strv_free_ char **lines = strv_split(text, "\n");
	for (char **l = lines;; l++) {
		if (!*l || (*l)[0] == '[') {
			/* PVE drops the description's trailing white space */
			for (size_t n = strv_length(descr);
			     n > 0 && !descr[n - 1][strspn(descr[n - 1], " \t")]; n--) {
				free(descr[n - 1]);
				descr[n - 1] = NULL;
			}
			for (char **d = descr; d && *d; d++)
				strbuf_addf(&out, "#%s\n", *d);
			size_t n = strv_length(keys);
			for (size_t a = 1; a < n; a++)
				for (size_t b = a; b > 0 && strcmp(keys[b - 1], keys[b]) > 0; b--) {
					char *t = keys[b];
					keys[b] = keys[b - 1];
					keys[b - 1] = t;
				}
			for (char **k = keys; k && *k; k++)
				strbuf_addf(&out, "%s\n", *k);
			descr = strv_free(descr);
			keys = strv_free(keys);
			if (!*l)
				break;
			strbuf_addf(&out, "%s\n", *l);
		} else if ((*l)[0] == '#') {
			strv_push(&descr, guest_conf_decode_text(*l + 1, strlen(*l + 1)));
		} else if (**l) {
			strv_push(&keys, sort_drive_options(*l));
		}
	}
	return strbuf_detach(&out, NULL);
}

/* cmocka cuts long messages: name the first line that differs */
static void fail_first_difference(const char *name, const char *want, const char *got)
{
	size_t i = 0, line = 0;
	while (want[i] && want[i] == got[i])
		i++;
	while (i > 0 && want[i - 1] != '\n')
		i--;
	for (size_t j = 0; j < i; j++)
		line += want[j] == '\n';
	fail_msg("%s: line %zu: expected '%.*s', got '%.*s'", name, line + 1,
	         (int)strcspn(want + i, "\n"), want + i, (int)strcspn(got + i, "\n"), got + i);
}

static void check_cfg2cmd_dir(const char *dir, int *count)
{
	_cleanup_strv_free_ char **names = list_confs(dir);
	for (char **n = names; n && *n; n++) {
		_cleanup_free_ char *rel = xasprintf("%s/%s", dir, *n);
		size_t len;
		_cleanup_free_ char *in = slurp(rel, &len);
		_cleanup_strv_free_ char **warnings = NULL;
		struct error *e = NULL;
		_cleanup_free_ char *out = rewrite(in, len, GUEST_CONF_STRICT, &warnings, &e);
		if (!out)
			fail_msg("%s: %s", rel, e->msg);
		assert_no_warnings(rel, warnings);
		_cleanup_free_ char *a = normalise(in), *b = normalise(out);
		if (!streq(a, b))
			fail_first_difference(rel, a, b);
		assert_fixed_point(rel, out);
		(*count)++;
	}
}

static void test_cfg2cmd_configs(void **state)
{
	int count = 0;
	check_cfg2cmd_dir("cfg2cmd", &count);
	check_cfg2cmd_dir("cfg2cmd/aarch64", &count);
	assert_true(count >= 100);
}

static void test_restore_configs(void **state)
{
	static const char *const dirs[] = {"restore-config-input", "restore-config-expected"};
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		_cleanup_strv_free_ char **names = list_confs(dirs[i]);
		assert_non_null(names);
		for (char **n = names; *n; n++) {
			_cleanup_free_ char *rel = xasprintf("%s/%s", dirs[i], *n);
			size_t len;
			_cleanup_free_ char *in = slurp(rel, &len);
			_cleanup_strv_free_ char **warnings = NULL;
			struct error *e = NULL;
			_cleanup_free_ char *out = rewrite(in, len, 0, &warnings, &e);
			if (!out)
				fail_msg("%s: %s", rel, e->msg);
			assert_no_warnings(rel, warnings);
			assert_fixed_point(rel, out);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_config),
	    cmocka_unit_test(test_snapshots),
	    cmocka_unit_test(test_cfg2cmd_configs),
	    cmocka_unit_test(test_restore_configs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
