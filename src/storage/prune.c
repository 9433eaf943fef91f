/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Backup retention: the prune-backups property string and the keep/remove
 * marks, with PVE's semantics (Storage.pm prune_mark_backup_group,
 * Plugin.pm prune_backups and validate_prune_backups, JSONSchema.pm
 * parse_property_string for the error texts).
 */
#include "common.h"

#include <limits.h>
#include <time.h>

#include "error.h"
#include "prune.h"
#include "strbuf.h"
#include "storage.h"
#include "volid.h"
#include "xalloc.h"

/* --- the property string --- */

enum prune_key {
	KEY_ALL,
	KEY_LAST,
	KEY_HOURLY,
	KEY_DAILY,
	KEY_WEEKLY,
	KEY_MONTHLY,
	KEY_YEARLY,
	_KEY_MAX,
};

static const char *const key_names[_KEY_MAX] = {
    "keep-all",    "keep-last",    "keep-hourly", "keep-daily",
    "keep-weekly", "keep-monthly", "keep-yearly",
};

static int invalid(struct error **err, const char *fmt, const char *arg)
{
	return error_set(err, -EINVAL, 400, "invalid format - %s%s", fmt, arg ? arg : "");
}

static bool is_blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strchr(" \t\r\n\f\v", s[i]))
			return false;
	return true;
}

/* PVE's parse_boolean: the canonical "1"/"0", or NULL when it is neither. */
static const char *parse_boolean(const char *v)
{
	static const char *const yes[] = {"1", "on", "yes", "true"};
	static const char *const no[] = {"0", "off", "no", "false"};
	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		if (strcasecmp(v, yes[i]) == 0)
			return "1";
		if (strcasecmp(v, no[i]) == 0)
			return "0";
	}
	return NULL;
}

/* ^[+-]?\d+$, with the value clamped to [0, UINT_MAX]; *neg for a value < 0. */
static bool parse_integer(const char *v, unsigned *ret, bool *neg)
{
	const char *p = v;
	bool minus = false;
	if (*p == '+' || *p == '-')
		minus = *p++ == '-';
	if (!*p)
		return false;
	unsigned long long n = 0;
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			return false;
		if (n <= UINT_MAX)
			n = n * 10 + (unsigned)(*p - '0');
	}
	*neg = minus && n > 0;
	*ret = n > UINT_MAX ? UINT_MAX : (unsigned)n;
	return true;
}

int prune_options_parse(const char *s, struct prune_options *ret, struct error **err)
{
	_cleanup_free_ char *copy = xstrdup(s ? s : "");
	char *val[_KEY_MAX] = {0};

	/* 1. the structure, part by part (PVE dies at the first problem) */
	for (char *part = copy, *next; part; part = next) {
		size_t len = strcspn(part, ",");
		next = part[len] ? part + len + 1 : NULL;
		part[len] = '\0';
		if (is_blank(part, len))
			continue;
		char *eq = strchr(part, '=');
		if (!eq)
			return invalid(
			    err, "value without key, but schema does not define a default key",
			    NULL);
		if (eq == part || !eq[1] || strchr(eq + 1, '\n'))
			return invalid(err, "missing key in comma-separated list property", NULL);
		*eq = '\0';
		size_t k = 0;
		while (k < _KEY_MAX && !streq(key_names[k], part))
			k++;
		if (k < _KEY_MAX && val[k])
			return invalid(err,
			               "duplicate key in comma-separated list property: ", part);
		if (k == _KEY_MAX)
			return invalid(err, "invalid key in comma-separated list property: ", part);
		val[k] = eq + 1;
	}

	/* 2. the types (PVE's check_object on the collected values) */
	struct prune_options o = {0};
	unsigned *num[_KEY_MAX] = {
	    NULL,           &o.keep_last,    &o.keep_hourly, &o.keep_daily,
	    &o.keep_weekly, &o.keep_monthly, &o.keep_yearly,
	};
	for (size_t k = 0; k < _KEY_MAX; k++) {
		if (!val[k])
			continue;
		if (k == KEY_ALL) {
			const char *b = parse_boolean(val[k]);
			if (!b)
				return error_set(err, -EINVAL, 400,
				                 "invalid format - format error - %s: type check "
				                 "('boolean') failed - got '%s'",
				                 key_names[k], val[k]);
			o.keep_all = streq(b, "1");
			continue;
		}
		bool neg = false;
		if (!parse_integer(val[k], num[k], &neg))
			return error_set(err, -EINVAL, 400,
			                 "invalid format - format error - %s: type check "
			                 "('integer') failed - got '%s'",
			                 key_names[k], val[k]);
		if (neg)
			return error_set(err, -EINVAL, 400,
			                 "invalid format - format error - %s: value must have a "
			                 "minimum value of 0",
			                 key_names[k]);
	}

	/* 3. validate_prune_backups: nothing positive means keep everything */
	bool positive = false;
	for (size_t k = KEY_LAST; k < _KEY_MAX; k++)
		positive |= *num[k] > 0;
	if (!positive)
		o = (struct prune_options){.keep_all = true};
	else if (o.keep_all)
		return invalid(err, "keep-all cannot be set together with other options.", NULL);
	*ret = o;
	return 0;
}

char *prune_options_format(const struct prune_options *o)
{
	if (o->keep_all)
		return xstrdup("keep-all=1");
	const unsigned num[_KEY_MAX] = {
	    0,
	    o->keep_last,
	    o->keep_hourly,
	    o->keep_daily,
	    o->keep_weekly,
	    o->keep_monthly,
	    o->keep_yearly,
	};
	_cleanup_strbuf_ struct strbuf out = STRBUF_INIT;
	for (size_t k = KEY_LAST; k < _KEY_MAX; k++)
		if (num[k] > 0)
			strbuf_addf(&out, "%s%s=%u", out.len ? "," : "", key_names[k], num[k]);
	/* nothing positive is keep-all, as the parser reads it */
	return out.len ? strbuf_detach(&out, NULL) : xstrdup("keep-all=1");
}

/* --- marking --- */

const char *prune_mark_to_string(enum prune_mark m)
{
	switch (m) {
	case PRUNE_MARK_KEEP:
		return "keep";
	case PRUNE_MARK_REMOVE:
		return "remove";
	case PRUNE_MARK_PROTECTED:
		return "protected";
	case PRUNE_MARK_RENAMED:
		return "renamed";
	case PRUNE_MARK_NONE:
		break;
	}
	return NULL;
}

/* A set of bucket ids: open addressing, sized for the group. */
struct idset {
	int64_t *v;
	bool *used;
	size_t mask, n;
};

static void idset_init(struct idset *s, size_t max)
{
	size_t cap = 16;
	while (cap < 2 * max + 1)
		cap *= 2;
	s->v = xnew(int64_t, cap);
	s->used = xnew(bool, cap);
	s->mask = cap - 1;
	s->n = 0;
}

static void idset_clear(struct idset *s)
{
	free(s->v);
	free(s->used);
}

static size_t idset_slot(const struct idset *s, int64_t id)
{
	uint64_t h = (uint64_t)id * 0x9E3779B97F4A7C15ull;
	size_t i = (size_t)(h >> 32) & s->mask;
	while (s->used[i] && s->v[i] != id)
		i = (i + 1) & s->mask;
	return i;
}

static bool idset_has(const struct idset *s, int64_t id)
{
	return s->used[idset_slot(s, id)];
}

static void idset_add(struct idset *s, int64_t id)
{
	size_t i = idset_slot(s, id);
	if (!s->used[i]) {
		s->used[i] = true;
		s->v[i] = id;
		s->n++;
	}
}

enum bucket { B_LAST, B_HOURLY, B_DAILY, B_WEEKLY, B_MONTHLY, B_YEARLY, _B_MAX };

/* The entry's bucket of each kind, in local time (PVE's id_func). */
static void buckets_of(int64_t ctime, int64_t ret[_B_MAX])
{
	time_t t = (time_t)ctime;
	struct tm tm = {0};
	char iso[32] = "";
	long long y = 0, w = 0;
	localtime_r(&t, &tm);
	if (strftime(iso, sizeof(iso), "%G %V", &tm) > 0)
		sscanf(iso, "%lld %lld", &y, &w);
	int64_t year = tm.tm_year, mon = tm.tm_mon, day = tm.tm_mday, hour = tm.tm_hour;
	ret[B_LAST] = ctime;
	ret[B_HOURLY] = ((year * 12 + mon) * 32 + day) * 24 + hour;
	ret[B_DAILY] = (year * 12 + mon) * 32 + day;
	ret[B_WEEKLY] = (int64_t)y * 64 + (int64_t)w;
	ret[B_MONTHLY] = year * 12 + mon;
	ret[B_YEARLY] = year;
}

/* PVE's $prune_mark: one option over the list sorted newest first. */
static void mark_pass(struct prune_entry *e, const size_t *order, int64_t (*ids)[_B_MAX], size_t n,
                      unsigned keep, enum bucket b)
{
	struct idset already, newly;
	if (!keep)
		return;
	idset_init(&already, n);
	idset_init(&newly, n);
	for (size_t i = 0; i < n; i++)
		if (e[order[i]].mark == PRUNE_MARK_KEEP)
			idset_add(&already, ids[order[i]][b]);
	for (size_t i = 0; i < n; i++) {
		struct prune_entry *p = &e[order[i]];
		int64_t id = ids[order[i]][b];
		if (p->mark != PRUNE_MARK_NONE || idset_has(&already, id))
			continue;
		if (!idset_has(&newly, id)) {
			if (newly.n >= keep)
				break;
			idset_add(&newly, id);
			p->mark = PRUNE_MARK_KEEP;
		} else {
			p->mark = PRUNE_MARK_REMOVE;
		}
	}
	idset_clear(&already);
	idset_clear(&newly);
}

/* Newest first; equal times keep their input order (the index breaks ties,
 * which makes qsort stable). */
struct by_time {
	int64_t ctime;
	size_t index;
};

static int cmp_newest(const void *a, const void *b)
{
	const struct by_time *x = a, *y = b;
	if (x->ctime != y->ctime)
		return x->ctime > y->ctime ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

static void sort_newest(const struct prune_entry *e, size_t *order, size_t n)
{
	struct by_time *t = xnew(struct by_time, n ? n : 1);
	for (size_t i = 0; i < n; i++)
		t[i] = (struct by_time){.ctime = e[i].ctime, .index = i};
	qsort(t, n, sizeof(*t), cmp_newest);
	for (size_t i = 0; i < n; i++)
		order[i] = t[i].index;
	free(t);
}

void prune_mark_group(struct prune_entry *e, size_t n, const struct prune_options *o)
{
	bool positive = o->keep_last || o->keep_hourly || o->keep_daily || o->keep_weekly ||
	                o->keep_monthly || o->keep_yearly;
	if (o->keep_all || !positive) {
		for (size_t i = 0; i < n; i++)
			if (e[i].mark == PRUNE_MARK_NONE || e[i].mark == PRUNE_MARK_REMOVE)
				e[i].mark = PRUNE_MARK_KEEP;
		return;
	}
	size_t *order = xnew(size_t, n ? n : 1);
	int64_t(*ids)[_B_MAX] = xcalloc(n ? n : 1, sizeof(*ids));
	sort_newest(e, order, n);
	for (size_t i = 0; i < n; i++)
		buckets_of(e[i].ctime, ids[i]);
	mark_pass(e, order, ids, n, o->keep_last, B_LAST);
	mark_pass(e, order, ids, n, o->keep_hourly, B_HOURLY);
	mark_pass(e, order, ids, n, o->keep_daily, B_DAILY);
	mark_pass(e, order, ids, n, o->keep_weekly, B_WEEKLY);
	mark_pass(e, order, ids, n, o->keep_monthly, B_MONTHLY);
	mark_pass(e, order, ids, n, o->keep_yearly, B_YEARLY);
	for (size_t i = 0; i < n; i++)
		if (e[i].mark == PRUNE_MARK_NONE)
			e[i].mark = PRUNE_MARK_REMOVE;
	free(order);
	free(ids);
}

/* --- a storage's backups --- */

/* archive_info_parse reads the name's date as UTC; vzdump wrote it in local
 * time and PVE reads it back with timelocal, so do the same. */
static int64_t name_time_local(int64_t utc)
{
	time_t t = (time_t)utc;
	struct tm tm;
	if (!gmtime_r(&t, &tm))
		return utc;
	tm.tm_isdst = -1;
	time_t l = mktime(&tm);
	return l == (time_t)-1 ? utc : (int64_t)l;
}

struct group_key {
	size_t item;
	const char *type;
	long vmid;
};

static int cmp_group(const void *a, const void *b)
{
	const struct group_key *x = a, *y = b;
	int c = strcmp(x->type, y->type);
	if (c)
		return c;
	if (x->vmid != y->vmid)
		return x->vmid < y->vmid ? -1 : 1;
	return x->item < y->item ? -1 : x->item > y->item;
}

void prune_plan(const char *storeid, const struct storage_volume *vols, size_t n, long vmid,
                const char *type, const struct prune_options *o, struct prune_item **ret,
                size_t *ret_n)
{
	struct prune_item *items = xnew(struct prune_item, n ? n : 1);
	struct group_key *keys = xnew(struct group_key, n ? n : 1);
	size_t ni = 0, nk = 0;

	for (size_t i = 0; i < n; i++) {
		const struct storage_volume *v = &vols[i];
		if (!v->vtype || !streq(v->vtype, "backup") || !v->volname)
			continue;
		struct archive_info ai = {0};
		bool known = archive_info_parse(v->volname, &ai, NULL) == 0;
		const char *btype = known ? ai.type : "unknown";
		long bvmid = known && ai.is_std_name ? ai.vmid : v->vmid;
		if ((type && !streq(type, btype)) || (vmid > 0 && bvmid != vmid)) {
			archive_info_clear(&ai);
			continue;
		}
		struct prune_item *it = &items[ni];
		it->volid = volid_format(storeid, v->volname);
		it->volname = xstrdup(v->volname);
		it->type = xstrdup(btype);
		it->vmid = bvmid > 0 ? bvmid : 0;
		it->ctime = v->ctime;
		if (known && ai.is_std_name) {
			it->ctime = name_time_local(ai.ctime);
			keys[nk++] =
			    (struct group_key){.item = ni, .type = it->type, .vmid = bvmid};
		} else {
			it->mark = PRUNE_MARK_RENAMED;
		}
		if (v->protected_)
			it->mark = PRUNE_MARK_PROTECTED;
		archive_info_clear(&ai);
		ni++;
	}

	/* one group per type and vmid, each in listing order */
	qsort(keys, nk, sizeof(*keys), cmp_group);
	struct prune_entry *e = xnew(struct prune_entry, nk ? nk : 1);
	for (size_t start = 0, end; start < nk; start = end) {
		for (end = start + 1; end < nk && streq(keys[end].type, keys[start].type) &&
		                      keys[end].vmid == keys[start].vmid;
		     end++)
			;
		for (size_t j = start; j < end; j++)
			e[j - start] = (struct prune_entry){.ctime = items[keys[j].item].ctime,
			                                    .mark = items[keys[j].item].mark};
		prune_mark_group(e, end - start, o);
		for (size_t j = start; j < end; j++)
			items[keys[j].item].mark = e[j - start].mark;
	}
	free(e);
	free(keys);
	*ret = items;
	*ret_n = ni;
}

void prune_items_free(struct prune_item *items, size_t n)
{
	for (size_t i = 0; items && i < n; i++) {
		free(items[i].volid);
		free(items[i].volname);
		free(items[i].type);
	}
	free(items);
}
