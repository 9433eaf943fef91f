/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Typed property tables (property.h), table-driven: a guest-like schema with
 * an indexed family (net0..net31), property strings with a default key and
 * an alias, bounds, enumerations, patterns and named formats, each case a
 * value and the normalised result or the exact reason Proxmox gives.
 */
#include "common.h"

#include <setjmp.h>
#include <stdarg.h>

#include <cmocka.h>

#include "error.h"
#include "jsonutil.h"
#include "property.h"
#include "xalloc.h"

/* A format of the test's own: lowercase words. */
static int check_word(const char *v, struct error **err)
{
	for (const char *p = v; *p; p++)
		if (*p < 'a' || *p > 'z')
			return error_set(err, -EINVAL, 400, "invalid format - '%s' is no word", v);
	return *v ? 0 : error_set(err, -EINVAL, 400, "invalid format - empty word");
}

static const struct conf_format test_formats[] = {
    {"test-word", check_word, NULL},
    {NULL, NULL, NULL},
};
static const struct conf_format *const formats[] = {conf_formats, test_formats, NULL};

static const char *const caches[] = {"none", "writeback", "unsafe", NULL};
static const char *const models[] = {"virtio", "e1000", NULL};

/* scsi0: local:vm-100-disk-0,size=32G,cache=none */
static const struct conf_propstring disk = {
    .default_key = "file",
    .props =
        (const struct conf_prop[]){
            {.name = "file", .type = CONF_TYPE_STRING, .max_length = 64},
            {.name = "volume", .alias = "file"},
            {.name = "size",
             .type = CONF_TYPE_STRING,
             .flags = CONF_PROP_OPTIONAL,
             .pattern = "[0-9]+[KMGT]?"},
            {.name = "cache",
             .type = CONF_TYPE_ENUM,
             .flags = CONF_PROP_OPTIONAL,
             .enum_values = caches},
            {.name = "iothread", .type = CONF_TYPE_BOOLEAN, .flags = CONF_PROP_OPTIONAL},
            {.name = "backup",
             .type = CONF_TYPE_BOOLEAN,
             .flags = CONF_PROP_OPTIONAL,
             .default_text = "1"},
            {.name = "tag",
             .type = CONF_TYPE_STRING,
             .flags = CONF_PROP_OPTIONAL,
             .format = "test-word"},
            {.name = NULL},
        },
};

/* net0: model=virtio,bridge=vmbr0,tag=5,firewall=1 (no default key) */
static const struct conf_propstring net = {
    .props =
        (const struct conf_prop[]){
            {.name = "model", .type = CONF_TYPE_ENUM, .enum_values = models},
            {.name = "bridge",
             .type = CONF_TYPE_STRING,
             .flags = CONF_PROP_OPTIONAL,
             .format = "pve-configid"},
            {.name = "tag",
             .type = CONF_TYPE_INTEGER,
             .flags = CONF_PROP_OPTIONAL,
             .has_min = true,
             .min = 1,
             .has_max = true,
             .max = 4094},
            {.name = "firewall", .type = CONF_TYPE_BOOLEAN, .flags = CONF_PROP_OPTIONAL},
            {.name = "rate",
             .type = CONF_TYPE_NUMBER,
             .flags = CONF_PROP_OPTIONAL,
             .has_min = true},
            {.name = NULL},
        },
};

static const struct conf_prop guest_props[] = {
    {.name = "name", .type = CONF_TYPE_STRING, .max_length = 8, .format = "test-word"},
    {.name = "cores",
     .type = CONF_TYPE_INTEGER,
     .has_min = true,
     .min = 1,
     .has_max = true,
     .max = 128},
    {.name = "onboot", .type = CONF_TYPE_BOOLEAN},
    {.name = "tags", .type = CONF_TYPE_STRING, .format = "pve-configid-list"},
    {.name = "net",
     .type = CONF_TYPE_PROPSTRING,
     .flags = CONF_PROP_INDEXED,
     .index_max = 31,
     .sub = &net},
    {.name = "scsi",
     .type = CONF_TYPE_PROPSTRING,
     .flags = CONF_PROP_INDEXED,
     .index_max = 30,
     .sub = &disk},
    {.name = "unknownfmt", .type = CONF_TYPE_STRING, .format = "no-such-format"},
    {.name = NULL},
};

static void test_find(void **state)
{
	static const struct {
		const char *key;
		const char *row; /* NULL: none */
		int index;
	} cases[] = {
	    {"name", "name", -1}, {"net0", "net", 0},          {"net31", "net", 31},
	    {"net32", NULL, 0},   {"net01", NULL, 0},          {"net", NULL, 0},
	    {"netx", NULL, 0},    {"scsi30", "scsi", 30},      {"scsi31", NULL, 0},
	    {"net-1", NULL, 0},   {"net99999999999", NULL, 0}, {"", NULL, 0},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		int idx = -2;
		const struct conf_prop *p = conf_props_find(guest_props, cases[i].key, &idx);
		if (!cases[i].row) {
			if (p)
				fail_msg("'%s' found as '%s'", cases[i].key, p->name);
			continue;
		}
		if (!p)
			fail_msg("'%s' not found", cases[i].key);
		assert_string_equal(p->name, cases[i].row);
		assert_int_equal(idx, cases[i].index);
	}
}

struct vcase {
	const char *key;
	const char *value;
	const char *want; /* the normalised value, or (with err) the reason */
	bool err;
};

static const struct vcase values[] = {
    {"cores", "+04", "4", false},
    {"cores", "0", "value must have a minimum value of 1", true},
    {"cores", "129", "value must have a maximum value of 128", true},
    {"cores", "4.5", "type check ('integer') failed - got '4.5'", true},
    {"cores", NULL, "got undefined value", true},
    {"onboot", NULL, "1", false},
    {"onboot", "Yes", "1", false},
    {"onboot", "off", "0", false},
    {"onboot", "2", "type check ('boolean') failed - got '2'", true},
    {"name", "abc", "abc", false},
    {"name", "abcdefghi", "value may only be 8 characters long", true},
    {"name", "ab1", "invalid format - 'ab1' is no word", true},
    {"name", "a\nb", "property contains a line feed", true},
    {"tags", "ab,bc;cd de", "ab,bc;cd de", false},
    {"tags", "a1,-b", "invalid format - invalid configuration ID '-b'", true},
    {"tags", "ab,a", "invalid format - invalid configuration ID 'a'", true},
    {"tags", "", "", false},
    {"tags", "ab,b!", "invalid format - invalid configuration ID 'b!'", true},
    {"net0", "model=virtio,bridge=vmbr0,tag=5,firewall=1", NULL, false},
    {"net5", "model=rtl",
     "invalid format - format error - model: value 'rtl' does not have a value in the "
     "enumeration 'virtio, e1000'",
     true},
    {"scsi0", "local:vm-100-disk-0,size=32G", NULL, false},
    {"scsi0", "size=32X,file=x",
     "invalid format - format error - size: value does not match the regex pattern", true},
};

static void test_values(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(values); i++) {
		const struct vcase *c = &values[i];
		const struct conf_prop *p = conf_props_find(guest_props, c->key, NULL);
		assert_non_null(p);
		char *norm = NULL;
		struct error *e = NULL;
		int r = conf_prop_check_value(p, formats, c->key, c->value, NULL, &norm, &e);
		if (c->err) {
			if (r >= 0)
				fail_msg("case %zu: '%s' accepted as '%s'", i, c->value, norm);
			assert_int_equal(e->http_status, 400);
			const char *why = json_string_value(json_object_get(e->params, c->key));
			if (!why || !streq(why, c->want))
				fail_msg("case %zu: got '%s'", i, why ? why : e->msg);
		} else {
			if (r < 0)
				fail_msg("case %zu: '%s' refused: %s", i, c->value,
				         json_dumps(e->params, 0));
			assert_string_equal(norm, c->want ? c->want : c->value);
		}
		free(norm);
		error_free(e);
	}
}

/* A narrower check (a storage type's) speaks before the key's format. */
static int only_ab(const char *v, struct error **err)
{
	return strspn(v, "ab,") == strlen(v)
	           ? 0
	           : error_set(err, -EINVAL, 400, "this owner takes only a and b");
}

static void test_narrow_and_unknown(void **state)
{
	const struct conf_prop *p = conf_props_find(guest_props, "tags", NULL);
	char *norm = NULL;
	struct error *e = NULL;
	assert_int_equal(conf_prop_check_value(p, formats, "tags", "a,c!", only_ab, &norm, &e),
	                 -EINVAL);
	assert_string_equal(json_string_value(json_object_get(e->params, "tags")),
	                    "this owner takes only a and b");
	e = error_free(e);

	/* an unknown format fails closed, as the server's fault */
	p = conf_props_find(guest_props, "unknownfmt", NULL);
	assert_int_equal(conf_prop_check_value(p, formats, "unknownfmt", "x", NULL, &norm, &e),
	                 -ENOENT);
	assert_int_equal(e->http_status, 500);
	assert_string_equal(e->msg, "unknown format 'no-such-format'");
	e = error_free(e);
	assert_int_equal(conf_format_check(formats, "no-such-format-list", "a", &e), -ENOENT);
	e = error_free(e);

	/* and the table check names it */
	assert_int_equal(conf_props_check_formats(guest_props, formats, &e), -ENOENT);
	assert_string_equal(e->msg, "key 'unknownfmt': unknown format 'no-such-format'");
	e = error_free(e);
	assert_int_equal(conf_props_check_formats(net.props, formats, NULL), 0);
	assert_int_equal(conf_props_check_formats(disk.props, formats, NULL), 0);
	assert_int_equal(conf_props_check_formats(guest_props, formats, NULL), -ENOENT);

	bool list = false;
	assert_non_null(conf_format_find(formats, "pve-configid-list", &list));
	assert_true(list);
	assert_non_null(conf_format_find(formats, "test-word", &list));
	assert_false(list);
	assert_null(conf_format_find(formats, "-list", NULL));
	assert_null(conf_format_find(formats, "pve-configid-lis", NULL));
}

struct pcase {
	const struct conf_propstring *ps;
	const char *value;
	const char *want; /* JSON of the result, or the message */
	bool err;
};

static const struct pcase pcases[] = {
    {&net, "model=virtio,bridge=vmbr0,tag=5,firewall=1",
     "{\"model\":\"virtio\",\"bridge\":\"vmbr0\",\"tag\":5,\"firewall\":1}", false},
    /* blank parts are skipped; the order of the result is the table's */
    {&net, " ,firewall=on,, model=e1000", NULL, true},
    {&net, "firewall=on,,model=e1000", "{\"model\":\"e1000\",\"firewall\":1}", false},
    {&net, "model=virtio,rate=1.5", "{\"model\":\"virtio\",\"rate\":1.5}", false},
    {&net, "model=virtio,tag=0",
     "invalid format - format error - tag: value must have a minimum value of 1", true},
    {&net, "model=virtio,tag=x",
     "invalid format - format error - tag: type check ('integer') failed - got 'x'", true},
    {&net, "bridge=vmbr0",
     "invalid format - format error - model: property is missing and it is not optional", true},
    {&net, "virtio",
     "invalid format - value without key, but schema does not define a default "
     "key",
     true},
    {&net, "model=virtio,model=e1000",
     "invalid format - duplicate key in comma-separated list property: model", true},
    {&net, "model=virtio,speed=10",
     "invalid format - invalid key in comma-separated list property: speed", true},
    {&net, "model=", "invalid format - missing key in comma-separated list property", true},
    {&net, "=virtio", "invalid format - missing key in comma-separated list property", true},
    {&net, "model=virtio,bridge=a!b",
     "invalid format - format error - bridge: invalid format - invalid configuration ID "
     "'a!b'",
     true},
    /* the default key, its alias, and defaults */
    {&disk, "local:vm-100-disk-0,size=32G", "{\"file\":\"local:vm-100-disk-0\",\"size\":\"32G\"}",
     false},
    {&disk, "size=1T,volume=local:x", "{\"file\":\"local:x\",\"size\":\"1T\"}", false},
    {&disk, "local:a,volume=local:b",
     "invalid format - duplicate key in comma-separated list property: file", true},
    {&disk, "local:a,local:b",
     "invalid format - duplicate key in comma-separated list property: file", true},
    {&disk, "size=1G",
     "invalid format - format error - file: property is missing and it is not optional", true},
    {&disk, "x,cache=writeback,iothread=yes",
     "{\"file\":\"x\",\"cache\":\"writeback\",\"iothread\":1}", false},
    {&disk, "x,tag=A", "invalid format - format error - tag: invalid format - 'A' is no word",
     true},
};

static void test_propstrings(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(pcases); i++) {
		const struct pcase *c = &pcases[i];
		json_t *got = NULL;
		struct error *e = NULL;
		int r = conf_propstring_parse(c->ps, formats, c->value, 0, &got, &e);
		if (c->err) {
			if (r >= 0)
				fail_msg("case %zu: accepted: %s", i, json_dumps(got, 0));
			assert_int_equal(e->http_status, 400);
			if (c->want && !streq(e->msg, c->want))
				fail_msg("case %zu: got '%s'", i, e->msg);
			error_free(e);
			continue;
		}
		if (r < 0)
			fail_msg("case %zu: refused: %s", i, e->msg);
		_cleanup_free_ char *text = json_dumps(got, JSON_COMPACT);
		assert_string_equal(text, c->want);
		json_decref(got);
	}

	/* defaults on request */
	json_t *got = NULL;
	assert_int_equal(
	    conf_propstring_parse(&disk, formats, "x", CONF_PROPSTRING_DEFAULTS, &got, NULL), 0);
	_cleanup_free_ char *text = json_dumps(got, JSON_COMPACT);
	assert_string_equal(text, "{\"file\":\"x\",\"backup\":1}");
	json_decref(got);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_find),
	    cmocka_unit_test(test_values),
	    cmocka_unit_test(test_narrow_and_unknown),
	    cmocka_unit_test(test_propstrings),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
