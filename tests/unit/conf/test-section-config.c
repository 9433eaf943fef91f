/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include "common.h"

#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>

#include "error.h"
#include "section-config.h"
#include "strbuf.h"
#include "xalloc.h"

static const char *const modes[] = {"ldap", "ldaps", NULL};

static int no_spaces(const char *v, struct error **err)
{
	if (strchr(v, ' '))
		return error_set(err, -EINVAL, 400, "no spaces allowed");
	return 0;
}

static const struct conf_prop keys[] = {
    {.name = "path", .type = CONF_TYPE_STRING, .check = no_spaces},
    {.name = "content", .type = CONF_TYPE_STRING},
    {.name = "comment", .type = CONF_TYPE_STRING},
    {.name = "disable", .type = CONF_TYPE_BOOLEAN},
    {.name = "shared", .type = CONF_TYPE_BOOLEAN},
    {.name = "maxfiles",
     .type = CONF_TYPE_INTEGER,
     .has_min = true,
     .min = 0,
     .has_max = true,
     .max = 100},
    {.name = "mode", .type = CONF_TYPE_ENUM, .enum_values = modes},
    {.name = "server", .type = CONF_TYPE_STRING, .flags = CONF_PROP_ARRAY},
    {.name = NULL},
};

static const struct section_prop dir_props[] = {
    {.prop = &keys[0], .fixed = true},    {.prop = &keys[1], .optional = true},
    {.prop = &keys[2], .optional = true}, {.prop = &keys[3], .optional = true},
    {.prop = &keys[4], .optional = true}, {.prop = &keys[5], .optional = true},
    {.prop = &keys[6], .optional = true}, {.prop = &keys[7], .optional = true},
};

static const struct section_type types[] = {{"dir", dir_props, ARRAY_SIZE(dir_props)}};

static const struct section_schema schema = {.types = types, .n_types = ARRAY_SIZE(types)};
static const struct section_schema schema_unknown = {
    .types = types, .n_types = ARRAY_SIZE(types), .allow_unknown = true};

static struct section_config *parse_ok(const char *in, const struct section_schema *sch)
{
	struct section_config *c = NULL;
	struct error *e = NULL;
	if (section_config_parse(in, strlen(in), sch, 0, &c, &e) < 0)
		fail_msg("parse failed: %s", e->msg);
	return c;
}

static char *write_ok(const struct section_config *c, const struct section_schema *sch)
{
	struct strbuf sb = STRBUF_INIT;
	struct error *e = NULL;
	if (section_config_write(c, sch, &sb, &e) < 0)
		fail_msg("write failed: %s", e->msg);
	return strbuf_detach(&sb, NULL);
}

static bool has_warning(const struct section_config *c, const char *needle)
{
	for (size_t i = 0; i < c->n_warnings; i++)
		if (strstr(c->warnings[i], needle))
			return true;
	return false;
}

static void test_generic_roundtrip(void **state)
{
	const char *in = "# storage\n"
	                 "dir: local\n"
	                 "\tpath /var/lib/vz\n"
	                 "    content iso,vztmpl,backup\n"
	                 "\t# a comment inside\n"
	                 "\tdisable\n"
	                 "\n"
	                 "\n"
	                 "lvmthin:local-lvm  \n"
	                 "   thinpool data\n"
	                 "   vgname pve   \n";
	struct section_config *c = parse_ok(in, NULL);
	assert_int_equal(c->n_sections, 2);
	assert_string_equal(c->sections[0]->type, "dir");
	assert_string_equal(c->sections[1]->id, "local-lvm");
	assert_string_equal(section_get(c->sections[0], "content"), "iso,vztmpl,backup");
	assert_true(section_has(c->sections[0], "disable"));
	assert_null(section_get(c->sections[0], "disable"));
	assert_int_equal(c->n_warnings, 0);
	_cleanup_free_ char *out = write_ok(c, NULL);
	assert_string_equal(out,
	                    "dir: local\n\tpath /var/lib/vz\n\tcontent iso,vztmpl,backup\n"
	                    "\tdisable\n\nlvmthin: local-lvm\n\tthinpool data\n\tvgname pve\n\n");
	/* stable */
	struct section_config *c2 = parse_ok(out, NULL);
	_cleanup_free_ char *out2 = write_ok(c2, NULL);
	assert_string_equal(out, out2);
	section_config_free(c);
	section_config_free(c2);
}

static void test_digest(void **state)
{
	char d[41];
	config_digest("", 0, d);
	assert_string_equal(d, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
	config_digest("abc", 3, d);
	assert_string_equal(d, "a9993e364706816aba3e25717850c26c9cd0d89d");
	struct section_config *c = parse_ok("abc", NULL);
	assert_string_equal(c->digest, "a9993e364706816aba3e25717850c26c9cd0d89d");
	assert_true(has_warning(c, "ignore config line: abc"));
	section_config_free(c);
}

static void test_schema_order_and_normalise(void **state)
{
	const char *in = "dir: store\n"
	                 "\tshared yes\n"
	                 "\tmaxfiles 007\n"
	                 "\tserver b\n"
	                 "\tserver a\n"
	                 "\tcomment hello world\n"
	                 "\tpath /srv\n"
	                 "\tdisable\n"
	                 "\tcontent \n";
	struct section_config *c = parse_ok(in, &schema);
	/* a string key without a value is an error, as in PVE */
	assert_int_equal(c->n_warnings, 1);
	assert_true(has_warning(c, "got undefined value"));
	_cleanup_free_ char *out = write_ok(c, &schema);
	/* comment, disable, required sorted, optional sorted; bools 0/1; arrays repeat */
	assert_string_equal(out, "dir: store\n\tcomment hello world\n\tdisable\n\tpath /srv\n"
	                         "\tmaxfiles 7\n\tserver b\n\tserver a\n\tshared 1\n\n");
	section_config_free(c);
}

static void test_errors(void **state)
{
	const char *in = "dir: a\n"
	                 "\tpath /a\n"
	                 "\tbogus 1\n"
	                 "\tpath /b\n"
	                 "\tmaxfiles 1000\n"
	                 "\tmode ftp\n"
	                 "\tshared maybe\n"
	                 "notaheader\n"
	                 "\n"
	                 "nfs: b\n"
	                 "\tserver x\n"
	                 "\n"
	                 "dir: c\n"
	                 "\tcontent iso\n"
	                 "\n"
	                 "dir: a\n"
	                 "\tpath /again\n"
	                 "\n"
	                 "dir: d\n"
	                 "\tpath /with space\n";
	struct section_config *c = parse_ok(in, &schema);
	assert_true(has_warning(c, "unexpected property 'bogus'"));
	assert_true(has_warning(c, "duplicate attribute"));
	assert_true(has_warning(c, "maximum value of 100"));
	assert_true(has_warning(c, "enumeration"));
	assert_true(has_warning(c, "boolean"));
	assert_true(has_warning(c, "ignore config line: notaheader"));
	assert_true(has_warning(c, "unsupported type 'nfs'"));
	assert_true(has_warning(c, "missing value for required option 'path'"));
	assert_true(has_warning(c, "duplicate section 'a'"));
	assert_true(has_warning(c, "no spaces allowed"));
	/* a (the later one) survives; d lost its only required key */
	assert_int_equal(c->n_sections, 1);
	assert_string_equal(section_get(c->sections[0], "path"), "/again");
	section_config_free(c);

	/* strict: the first problem fails the parse */
	struct error *e = NULL;
	c = NULL;
	assert_int_equal(
	    section_config_parse(in, strlen(in), &schema, SECTION_CONFIG_STRICT, &c, &e), -EINVAL);
	assert_null(c);
	assert_int_equal(e->http_status, 400);
	assert_non_null(strstr(e->msg, "line 3"));
	error_free(e);

	/* duplicate id is an error in strict mode without a schema too */
	e = NULL;
	const char *dup = "a: x\n\tk v\n\nb: x\n\tk w\n";
	assert_true(section_config_parse(dup, strlen(dup), NULL, SECTION_CONFIG_STRICT, &c, &e) <
	            0);
	assert_non_null(strstr(e->msg, "duplicate section"));
	error_free(e);
}

static void test_unknown_types(void **state)
{
	const char *in = "ldap: corp\n\tuser_attr uid\n\tbase_dn dc=x\n\tcomment c\n"
	                 "\tserver1 a\n\tserver1 b\n\n";
	struct section_config *c = parse_ok(in, &schema_unknown);
	assert_int_equal(c->n_sections, 1);
	assert_true(c->sections[0]->unknown);
	_cleanup_free_ char *out = write_ok(c, &schema_unknown);
	assert_string_equal(out, "ldap: corp\n\tcomment c\n\tbase_dn dc=x\n\tserver1 a\n"
	                         "\tserver1 b\n\tuser_attr uid\n\n");
	section_config_free(c);
}

static void test_edit_and_write_errors(void **state)
{
	struct section_config *c = section_config_new();
	struct section *s = NULL;
	struct error *e = NULL;
	assert_int_equal(section_config_add(c, "dir", "x", &s, &e), 0);
	assert_int_equal(section_config_add(c, "dir", "x", NULL, &e), -EEXIST);
	error_free(TAKE_PTR(e));
	section_set(s, "path", "/x");
	section_append(s, "server", "a");
	section_append(s, "server", "b");
	section_set(s, "server", "c");
	assert_string_equal(section_get(s, "server"), "c");
	assert_true(section_unset(s, "server"));
	assert_false(section_has(s, "server"));
	_cleanup_free_ char *out = write_ok(c, &schema);
	assert_string_equal(out, "dir: x\n\tpath /x\n\n");

	section_set(s, "comment", "two\nlines");
	struct strbuf sb = STRBUF_INIT;
	assert_int_equal(section_config_write(c, &schema, &sb, &e), -EINVAL);
	error_free(TAKE_PTR(e));
	strbuf_release(&sb);
	section_unset(s, "path");
	section_unset(s, "comment");
	assert_int_equal(section_config_write(c, &schema, &sb, &e), -EINVAL); /* required */
	error_free(TAKE_PTR(e));
	strbuf_release(&sb);

	char *v = NULL;
	assert_int_equal(section_schema_check_value(&schema, "dir", "shared", NULL, &v, &e), 0);
	assert_string_equal(v, "1");
	free(v);
	assert_true(section_schema_check_value(&schema, "dir", "nope", "1", &v, &e) < 0);
	assert_non_null(json_object_get(e->params, "nope"));
	error_free(TAKE_PTR(e));
	assert_true(section_config_remove(c, "x"));
	assert_false(section_config_remove(c, "x"));
	section_config_free(c);
}

static void test_limits(void **state)
{
	struct section_config *c = NULL;
	struct error *e = NULL;
	/* a line over the limit */
	size_t n = SECTION_CONFIG_MAX_LINE + 10;
	char *big = xmalloc(n + 1);
	memset(big, 'a', n);
	big[n] = '\0';
	assert_int_equal(section_config_parse(big, n, NULL, 0, &c, &e), -E2BIG);
	error_free(TAKE_PTR(e));
	free(big);
	/* too many lines */
	n = SECTION_CONFIG_MAX_LINES + 1;
	big = xmalloc(n + 1);
	memset(big, '\n', n);
	assert_int_equal(section_config_parse(big, n, NULL, 0, &c, &e), -E2BIG);
	error_free(TAKE_PTR(e));
	free(big);
	/* NUL bytes and size */
	assert_int_equal(section_config_parse("a: b\0", 5, NULL, 0, &c, &e), -EINVAL);
	error_free(TAKE_PTR(e));
	assert_int_equal(section_config_parse("", SECTION_CONFIG_MAX_SIZE + 1, NULL, 0, &c, &e),
	                 -EFBIG);
	error_free(TAKE_PTR(e));
	assert_null(c);
}

static void test_headers(void **state)
{
	static const struct {
		const char *line, *type, *id;
	} cases[] = {
	    {"pve: pve", "pve", "pve"}, {"dir:local", "dir", "local"}, {"a:b:c", "a:b", "c"},
	    {"a:b:", "a", "b:"},        {"pve:   x   ", "pve", "x"},   {"x: a b", NULL, NULL},
	    {"x :a", NULL, NULL},       {" x: a", NULL, NULL},         {"x:", NULL, NULL},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct section_config *c = parse_ok(cases[i].line, NULL);
		if (cases[i].type) {
			assert_int_equal(c->n_sections, 1);
			assert_string_equal(c->sections[0]->type, cases[i].type);
			assert_string_equal(c->sections[0]->id, cases[i].id);
		} else {
			assert_int_equal(c->n_sections, 0);
		}
		section_config_free(c);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_generic_roundtrip),
	    cmocka_unit_test(test_digest),
	    cmocka_unit_test(test_schema_order_and_normalise),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_unknown_types),
	    cmocka_unit_test(test_edit_and_write_errors),
	    cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_headers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
