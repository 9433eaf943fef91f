/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Backup retention: the cases of PVE's prune_backups_test.pm restated as
 * tables (same backup lists, same options, same expected marks), the
 * prune-backups property string with PVE's error texts, and local-time
 * buckets.  TZ is fixed per test (UTC, as PVE's test runner sets it).
 */
#include "common.h"

#include <setjmp.h>
#include <stdarg.h>
#include <time.h>
#include <cmocka.h>

#include "error.h"
#include "prune.h"
#include "storage.h"
#include "xalloc.h"

static void set_tz(const char *tz)
{
	setenv("TZ", tz, 1);
	tzset();
}

/* --- backup lists (PVE's mocked list_volumes) --- */

#define BASE 1577881101LL /* 2020_01_01-12_18_21 UTC */
#define DAY  (24 * 60 * 60LL)
#define HOUR (60 * 60LL)

struct backup {
	const char *name; /* below backup/, "%d" is the vmid */
	long long ctime;
	bool protected_;
};

/* The default list, for each of the two guests.  Its first six rows carry
 * the expected marks of a case in order; row 3 is always protected, the
 * last one always renamed. */
static const struct backup default_list[] = {
    {"vzdump-qemu-%d-2018_05_26-11_18_21.tar.zst", BASE - 585 * DAY - HOUR, false},
    {"vzdump-qemu-%d-2019_12_31-11_18_21.tar.zst", BASE - DAY - HOUR, false},
    {"vzdump-qemu-%d-2019_12_31-11_18_51.tar.zst", BASE - DAY - HOUR + 30, true},
    {"vzdump-qemu-%d-2019_12_31-11_19_21.tar.zst", BASE - DAY - HOUR + 60, false},
    {"vzdump-qemu-%d-2020_01_01-11_18_21.tar.zst", BASE - HOUR, false},
    {"vzdump-qemu-%d-2020_01_01-12_18_21.tar.zst", BASE, false},
    {"vzdump-lxc-%d-2020_01_01-12_18_21.tar.zst", BASE, false},
    {"vzdump-%d-renamed.tar.zst", 1234, false},
};
/* default_list row -> index into a case's marks (-1: fixed mark) */
static const int mark_slot[] = {0, 1, -1, 2, 3, 4, 5, -1};
static const long vmids[] = {1234, 9001};

static void add_volume(struct storage_volume **v, size_t *n, const char *name, long vmid,
                       long long ctime, bool prot)
{
	*v = xrealloc(*v, (*n + 1) * sizeof(**v));
	(*v)[*n] = (struct storage_volume){
	    .volname = xasprintf("backup/%s", name),
	    .vtype = xstrdup("backup"),
	    .format = xstrdup("tar"),
	    .vmid = vmid,
	    .ctime = (time_t)ctime,
	    .protected_ = prot,
	};
	(*n)++;
}

/* PVE's list_volumes with a vmid returns that guest's backups only. */
static void default_volumes(long only_vmid, struct storage_volume **v, size_t *n)
{
	for (size_t g = 0; g < ARRAY_SIZE(vmids); g++) {
		if (only_vmid && vmids[g] != only_vmid)
			continue;
		for (size_t i = 0; i < ARRAY_SIZE(default_list); i++) {
			_cleanup_free_ char *name = NULL;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
			name = xasprintf(default_list[i].name, (int)vmids[g]);
#pragma GCC diagnostic pop
			add_volume(v, n, name, vmids[g], default_list[i].ctime,
			           default_list[i].protected_);
		}
	}
}

/* A case on the default list: marks for rows 0,1,3,4,5 (qemu) and 6 (lxc);
 * NULL: the row is filtered out by type. */
struct default_case {
	const char *desc;
	long vmid;
	const char *type;
	const char *keep;
	const char *marks[6];
};

static const struct default_case default_cases[] = {
    {"last=3, multiple IDs",
     0,
     NULL,
     "keep-last=3",
     {"remove", "remove", "keep", "keep", "keep", "keep"}},
    {"weekly=2, one ID",
     1234,
     NULL,
     "keep-weekly=2",
     {"keep", "remove", "remove", "remove", "keep", "keep"}},
    {"daily=weekly=monthly=1, multiple IDs",
     0,
     NULL,
     "keep-hourly=0,keep-daily=1,keep-weekly=1,keep-monthly=1",
     {"keep", "remove", "keep", "remove", "keep", "keep"}},
    {"hourly=4, one ID",
     1234,
     NULL,
     "keep-hourly=4,keep-daily=0",
     {"keep", "remove", "keep", "keep", "keep", "keep"}},
    {"yearly=2, multiple IDs",
     0,
     NULL,
     "keep-hourly=0,keep-daily=0,keep-weekly=0,keep-monthly=0,keep-yearly=2",
     {"remove", "remove", "keep", "remove", "keep", "keep"}},
    {"last=2,hourly=2 one ID",
     1234,
     NULL,
     "keep-last=2,keep-hourly=2",
     {"keep", "remove", "keep", "keep", "keep", "keep"}},
    {"last=1,monthly=2, multiple IDs",
     0,
     NULL,
     "keep-last=1,keep-monthly=2",
     {"keep", "remove", "keep", "remove", "keep", "keep"}},
    {"monthly=3, one ID",
     1234,
     NULL,
     "keep-monthly=3",
     {"keep", "remove", "keep", "remove", "keep", "keep"}},
    {"last=daily=weekly=1, multiple IDs",
     0,
     NULL,
     "keep-last=1,keep-daily=1,keep-weekly=1",
     {"keep", "remove", "keep", "remove", "keep", "keep"}},
    {"last=daily=weekly=1, others zero, multiple IDs",
     0,
     NULL,
     "keep-hourly=0,keep-last=1,keep-daily=1,keep-weekly=1,keep-monthly=0,keep-yearly=0",
     {"keep", "remove", "keep", "remove", "keep", "keep"}},
    {"daily=2, one ID",
     1234,
     NULL,
     "keep-daily=2",
     {"remove", "remove", "keep", "remove", "keep", "keep"}},
    {"weekly=monthly=1, multiple IDs",
     0,
     NULL,
     "keep-weekly=1,keep-monthly=1",
     {"keep", "remove", "remove", "remove", "keep", "keep"}},
    {"weekly=yearly=1, one ID",
     1234,
     NULL,
     "keep-weekly=1,keep-yearly=1",
     {"keep", "remove", "remove", "remove", "keep", "keep"}},
    {"weekly=yearly=1, one ID, type qemu",
     1234,
     "qemu",
     "keep-weekly=1,keep-yearly=1",
     {"keep", "remove", "remove", "remove", "keep", NULL}},
    {"last=1, one ID, type lxc",
     1234,
     "lxc",
     "keep-last=1",
     {NULL, NULL, NULL, NULL, NULL, "keep"}},
    {"all missing, multiple IDs", 0, NULL, "", {"keep", "keep", "keep", "keep", "keep", "keep"}},
    {"all zero, multiple IDs",
     0,
     NULL,
     "keep-last=0,keep-hourly=0,keep-daily=0,keep-weekly=0,keep-monthly=0,keep-yearly=0",
     {"keep", "keep", "keep", "keep", "keep", "keep"}},
    {"keep-all", 0, NULL, "keep-all=1", {"keep", "keep", "keep", "keep", "keep", "keep"}},
};

static const struct prune_item *find_item(const struct prune_item *items, size_t n,
                                          const char *volid)
{
	for (size_t i = 0; i < n; i++)
		if (streq(items[i].volid, volid))
			return &items[i];
	return NULL;
}

static void test_default_cases(void **state)
{
	(void)state;
	set_tz("UTC");
	for (size_t c = 0; c < ARRAY_SIZE(default_cases); c++) {
		const struct default_case *t = &default_cases[c];
		struct prune_options o;
		struct storage_volume *vols = NULL;
		struct prune_item *items = NULL;
		size_t nv = 0, ni = 0, want = 0;

		print_message("case: %s\n", t->desc);
		assert_int_equal(prune_options_parse(t->keep, &o, NULL), 0);
		default_volumes(t->vmid, &vols, &nv);
		prune_plan("BackTest123", vols, nv, t->vmid, t->type, &o, &items, &ni);
		for (size_t g = 0; g < ARRAY_SIZE(vmids); g++) {
			if (t->vmid && vmids[g] != t->vmid)
				continue;
			for (size_t i = 0; i < ARRAY_SIZE(default_list); i++) {
				_cleanup_free_ char *name = NULL, *volid = NULL;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
				name = xasprintf(default_list[i].name, (int)vmids[g]);
#pragma GCC diagnostic pop
				volid = xasprintf("BackTest123:backup/%s", name);
				const char *mark = mark_slot[i] >= 0 ? t->marks[mark_slot[i]]
				                   : i == 2          ? "protected"
				                                     : "renamed";
				const char *row_type = i < 6 ? "qemu" : i == 6 ? "lxc" : "unknown";
				bool filtered = t->type && !streq(t->type, row_type);
				const struct prune_item *it = find_item(items, ni, volid);
				if (filtered) {
					assert_null(it);
					continue;
				}
				want++;
				if (!it) {
					fail_msg("%s: missing %s", t->desc, volid);
					continue;
				}
				assert_string_equal(prune_mark_to_string(it->mark), mark);
				assert_int_equal(it->vmid, vmids[g]);
				assert_string_equal(it->type, row_type);
				assert_int_equal(it->ctime, default_list[i].ctime);
			}
		}
		assert_int_equal(ni, want);
		prune_items_free(items, ni);
		storage_volume_list_free(vols, nv);
	}
}

/* The other lists of PVE's test, each with one case. */
struct other_case {
	const char *desc;
	const char *keep;
	struct {
		const char *name;
		long long ctime;
		long vmid; /* of the listing */
		const char *type, *mark;
		long want_vmid;
	} rows[4];
};

static const struct other_case other_cases[] = {
    {"yearly=1, year before 2000",
     "keep-yearly=1",
     {{"vzdump-lxc-321-1970_01_01-00_01_23.tar.zst", 83, 321, "lxc", "remove", 321},
      {"vzdump-lxc-321-2070_01_01-00_01_00.tar.zst", DAY *(365 * 100 + 25) + 60, 321, "lxc", "keep",
       321}}},
    {"last=1, no vmid",
     "keep-last=1",
     {{"vzdump-lxc-novmid.tar.gz", 1234, 0, "lxc", "renamed", 0}}},
    {"daily=weekly=monthly=1, three-way",
     "keep-daily=1,keep-weekly=1,keep-monthly=1",
     {{"vzdump-qemu-7654-2019_12_25-12_18_21.tar.zst", BASE - 7 * DAY, 7654, "qemu", "keep", 7654},
      /* the month is already covered by the backup keep-weekly kept */
      {"vzdump-qemu-7654-2019_12_31-12_18_21.tar.zst", BASE - DAY, 7654, "qemu", "remove", 7654},
      {"vzdump-qemu-7654-2020_01_01-12_18_21.tar.zst", BASE, 7654, "qemu", "keep", 7654}}},
    {"daily=weekly=1, week boundary",
     "keep-daily=1,keep-weekly=1",
     {{"vzdump-qemu-7654-2020_12_03-12_18_21.tar.zst", BASE + (366 - 31 + 2) * DAY, 7654, "qemu",
       "remove", 7654},
      {"vzdump-qemu-7654-2020_12_04-12_18_21.tar.zst", BASE + (366 - 31 + 3) * DAY, 7654, "qemu",
       "keep", 7654},
      {"vzdump-qemu-7654-2020_12_07-12_18_21.tar.zst", BASE + (366 - 31 + 6) * DAY, 7654, "qemu",
       "keep", 7654}}},
};

static void test_other_cases(void **state)
{
	(void)state;
	set_tz("UTC");
	for (size_t c = 0; c < ARRAY_SIZE(other_cases); c++) {
		const struct other_case *t = &other_cases[c];
		struct prune_options o;
		struct storage_volume *vols = NULL;
		struct prune_item *items = NULL;
		size_t nv = 0, ni = 0, nr = 0;

		print_message("case: %s\n", t->desc);
		assert_int_equal(prune_options_parse(t->keep, &o, NULL), 0);
		for (; nr < ARRAY_SIZE(t->rows) && t->rows[nr].name; nr++)
			add_volume(&vols, &nv, t->rows[nr].name, t->rows[nr].vmid,
			           t->rows[nr].ctime, false);
		prune_plan("BackTest123", vols, nv, 0, NULL, &o, &items, &ni);
		assert_int_equal(ni, nr);
		for (size_t i = 0; i < nr; i++) {
			_cleanup_free_ char *volid =
			    xasprintf("BackTest123:backup/%s", t->rows[i].name);
			assert_string_equal(items[i].volid, volid);
			assert_string_equal(items[i].volname, volid + strlen("BackTest123:"));
			assert_string_equal(items[i].type, t->rows[i].type);
			assert_string_equal(prune_mark_to_string(items[i].mark), t->rows[i].mark);
			assert_int_equal(items[i].vmid, t->rows[i].want_vmid);
			assert_int_equal(items[i].ctime, t->rows[i].ctime);
		}
		prune_items_free(items, ni);
		storage_volume_list_free(vols, nv);
	}
}

/* --- prune_mark_group directly --- */

static void test_mark_group(void **state)
{
	(void)state;
	set_tz("UTC");
	struct prune_options o = {.keep_last = 2};
	/* equal times: the first in input order wins the bucket */
	struct prune_entry e[] = {{100, 0}, {300, 0}, {300, 0}, {200, PRUNE_MARK_PROTECTED}};
	prune_mark_group(e, ARRAY_SIZE(e), &o);
	assert_int_equal(e[1].mark, PRUNE_MARK_KEEP);
	assert_int_equal(e[2].mark, PRUNE_MARK_REMOVE); /* same keep-last id as e[1] */
	assert_int_equal(e[3].mark, PRUNE_MARK_PROTECTED);
	assert_int_equal(e[0].mark, PRUNE_MARK_KEEP); /* protected did not count */

	/* keep-all keeps a preset remove but not a preset protected */
	struct prune_entry f[] = {{1, PRUNE_MARK_REMOVE}, {2, PRUNE_MARK_PROTECTED}, {3, 0}};
	o = (struct prune_options){.keep_all = true};
	prune_mark_group(f, ARRAY_SIZE(f), &o);
	assert_int_equal(f[0].mark, PRUNE_MARK_KEEP);
	assert_int_equal(f[1].mark, PRUNE_MARK_PROTECTED);
	assert_int_equal(f[2].mark, PRUNE_MARK_KEEP);

	prune_mark_group(NULL, 0, &(struct prune_options){.keep_daily = 3});
}

/* Buckets follow local time: 23:30 and 00:30 local are two days in Vienna
 * but one UTC day. */
static void test_local_time(void **state)
{
	(void)state;
	const long long day = 1590969600LL; /* 2020-06-01T00:00:00Z */
	struct prune_options o = {.keep_daily = 2};
	struct prune_entry e[] = {
	    {day + 20 * HOUR, 0},        /* 22:00 local, June 1 */
	    {day + 21 * HOUR + 1800, 0}, /* 23:30 local, June 1 */
	    {day + 22 * HOUR + 1800, 0}, /* 00:30 local, June 2 */
	};
	set_tz("CET-1CEST,M3.5.0,M10.5.0/3");
	prune_mark_group(e, ARRAY_SIZE(e), &o);
	assert_int_equal(e[2].mark, PRUNE_MARK_KEEP);
	assert_int_equal(e[1].mark, PRUNE_MARK_KEEP);
	assert_int_equal(e[0].mark, PRUNE_MARK_REMOVE);

	for (size_t i = 0; i < ARRAY_SIZE(e); i++)
		e[i].mark = PRUNE_MARK_NONE;
	set_tz("UTC");
	prune_mark_group(e, ARRAY_SIZE(e), &o);
	assert_int_equal(e[2].mark, PRUNE_MARK_KEEP);
	assert_int_equal(e[1].mark, PRUNE_MARK_REMOVE);
	assert_int_equal(e[0].mark, PRUNE_MARK_REMOVE);

	/* a standard name's time is local time, as vzdump wrote it */
	struct storage_volume *vols = NULL;
	struct prune_item *items = NULL;
	size_t nv = 0, ni = 0;
	add_volume(&vols, &nv, "vzdump-qemu-100-2020_06_01-23_30_00.vma.zst", 100, 5, false);
	set_tz("CET-1CEST,M3.5.0,M10.5.0/3");
	prune_plan("s1", vols, nv, 0, NULL, &o, &items, &ni);
	assert_int_equal(ni, 1);
	assert_int_equal(items[0].ctime, day + 21 * HOUR + 1800);
	prune_items_free(items, ni);
	storage_volume_list_free(vols, nv);
	set_tz("UTC");
}

/* ISO weeks: Sunday 2021-01-03 is week 53 of 2020, with 2020-12-28. */
static void test_iso_week(void **state)
{
	(void)state;
	set_tz("UTC");
	const long long mon = 1609113600LL; /* 2020-12-28 Monday */
	struct prune_entry e[] = {
	    {mon, 0},           /* W53 2020 */
	    {mon + 6 * DAY, 0}, /* Sunday 2021-01-03, W53 2020 */
	    {mon + 7 * DAY, 0}, /* Monday 2021-01-04, W01 2021 */
	    {mon - 1 * DAY, 0}, /* Sunday 2020-12-27, W52 2020 */
	};
	struct prune_options o = {.keep_weekly = 3};
	prune_mark_group(e, ARRAY_SIZE(e), &o);
	assert_int_equal(e[2].mark, PRUNE_MARK_KEEP);
	assert_int_equal(e[1].mark, PRUNE_MARK_KEEP);
	assert_int_equal(e[0].mark, PRUNE_MARK_REMOVE);
	assert_int_equal(e[3].mark, PRUNE_MARK_KEEP);
}

/* --- the property string --- */

static const struct {
	const char *in;
	struct prune_options want;
} parse_ok[] = {
    {"keep-last=3", {.keep_last = 3}},
    {"keep-last=3,keep-daily=7", {.keep_last = 3, .keep_daily = 7}},
    {"keep-hourly=1,keep-weekly=2,keep-monthly=3,keep-yearly=4",
     {.keep_hourly = 1, .keep_weekly = 2, .keep_monthly = 3, .keep_yearly = 4}},
    {"keep-all=1", {.keep_all = true}},
    {"keep-all=yes", {.keep_all = true}},
    {"keep-all=0", {.keep_all = true}}, /* nothing positive: keep everything */
    {"keep-all=1,keep-last=0", {.keep_all = true}},
    {"keep-all=off,keep-last=2", {.keep_last = 2}},
    {"", {.keep_all = true}},
    {"keep-last=0", {.keep_all = true}},
    {"keep-last=+5", {.keep_last = 5}},
    {"keep-last=007", {.keep_last = 7}},
    {"keep-last=1,,", {.keep_last = 1}},
    {" ,keep-last=2", {.keep_last = 2}},
    {"keep-last=99999999999999999999", {.keep_last = 4294967295u}},
};

static const struct {
	const char *in;
	const char *msg;
} parse_bad[] = {
    {"keep-forever=1", "invalid format - invalid key in comma-separated list property: "
                       "keep-forever"},
    {"keep-last=1,keep-last=2", "invalid format - duplicate key in comma-separated list "
                                "property: keep-last"},
    {"keep-last", "invalid format - value without key, but schema does not define a default "
                  "key"},
    {"keep-last=", "invalid format - missing key in comma-separated list property"},
    {"=3", "invalid format - missing key in comma-separated list property"},
    {"keep-last=x", "invalid format - format error - keep-last: type check ('integer') "
                    "failed - got 'x'"},
    {"keep-daily=1.5", "invalid format - format error - keep-daily: type check ('integer') "
                       "failed - got '1.5'"},
    {"keep-last=-1", "invalid format - format error - keep-last: value must have a minimum "
                     "value of 0"},
    {"keep-all=maybe", "invalid format - format error - keep-all: type check ('boolean') "
                       "failed - got 'maybe'"},
    {"keep-all=1,keep-last=2", "invalid format - keep-all cannot be set together with other "
                               "options."},
    {" keep-last=1", "invalid format - invalid key in comma-separated list property:  "
                     "keep-last"},
};

static void test_parse(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(parse_ok); i++) {
		struct prune_options o;
		print_message("ok: '%s'\n", parse_ok[i].in);
		assert_int_equal(prune_options_parse(parse_ok[i].in, &o, NULL), 0);
		assert_memory_equal(&o, &parse_ok[i].want, sizeof(o));
	}
	struct prune_options o;
	assert_int_equal(prune_options_parse(NULL, &o, NULL), 0);
	assert_true(o.keep_all);
	for (size_t i = 0; i < ARRAY_SIZE(parse_bad); i++) {
		struct error *e = NULL;
		print_message("bad: '%s'\n", parse_bad[i].in);
		assert_int_equal(prune_options_parse(parse_bad[i].in, &o, &e), -EINVAL);
		assert_non_null(e);
		assert_int_equal(e->http_status, 400);
		assert_string_equal(e->msg, parse_bad[i].msg);
		error_free(e);
	}
}

/* The canonical text the prunebackups task gets: it parses back to the same
 * options, and has nothing of the caller's blanks or spellings. */
static void test_format(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(parse_ok); i++) {
		struct prune_options o;
		_cleanup_free_ char *text = prune_options_format(&parse_ok[i].want);
		print_message("format: '%s' -> '%s'\n", parse_ok[i].in, text);
		assert_null(strpbrk(text, " \t\r\n"));
		assert_int_equal(prune_options_parse(text, &o, NULL), 0);
		assert_memory_equal(&o, &parse_ok[i].want, sizeof(o));
	}
	struct prune_options o = {.keep_last = 3, .keep_daily = 7, .keep_yearly = 1};
	_cleanup_free_ char *a = prune_options_format(&o);
	assert_string_equal(a, "keep-last=3,keep-daily=7,keep-yearly=1");
	o = (struct prune_options){.keep_all = true};
	_cleanup_free_ char *b = prune_options_format(&o);
	assert_string_equal(b, "keep-all=1");
	o = (struct prune_options){0};
	_cleanup_free_ char *c = prune_options_format(&o);
	assert_string_equal(c, "keep-all=1");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_default_cases), cmocka_unit_test(test_other_cases),
	    cmocka_unit_test(test_mark_group),    cmocka_unit_test(test_local_time),
	    cmocka_unit_test(test_iso_week),      cmocka_unit_test(test_parse),
	    cmocka_unit_test(test_format),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
