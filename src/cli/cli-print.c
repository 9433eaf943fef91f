/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include "common.h"

#include <time.h>

#include "cli-print.h"
#include "cli.h"
#include "jsonutil.h"
#include "strbuf.h"
#include "xalloc.h"

static const char *str_or(json_t *o, const char *key, const char *def)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : def;
}

static double num(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	if (json_is_string(v))
		return strtod(json_string_value(v), NULL);
	return json_is_number(v) ? json_number_value(v) : 0;
}

/* A value as Perl interpolates it: integers plain, strings as they are. */
static void add_perl(struct strbuf *sb, json_t *v)
{
	if (json_is_string(v))
		strbuf_addstr(sb, json_string_value(v));
	else if (json_is_integer(v))
		strbuf_addf(sb, "%lld", (long long)json_integer_value(v));
	else if (json_is_real(v))
		strbuf_addf(sb, "%.15g", json_real_value(v));
	else if (json_is_true(v))
		strbuf_addch(sb, '1');
	else if (json_is_false(v))
		strbuf_addch(sb, '0');
}

static char *perl_str(json_t *v)
{
	struct strbuf sb = STRBUF_INIT;
	add_perl(&sb, v);
	return strbuf_detach(&sb, NULL);
}

static bool truthy(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	if (json_is_string(v))
		return *json_string_value(v) && !streq(json_string_value(v), "0");
	return json_is_true(v) || (json_is_number(v) && json_number_value(v) != 0);
}

static int cmp_vmid(const void *a, const void *b)
{
	double x = num(*(json_t *const *)a, "vmid"), y = num(*(json_t *const *)b, "vmid");
	return (x > y) - (x < y);
}

/* The array's objects sorted with cmp (a new array of borrowed pointers). */
static json_t **sorted(json_t *list, int (*cmp)(const void *, const void *), size_t *ret_n)
{
	size_t n = json_array_size(list);
	json_t **v = xnew(json_t *, n + 1);
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (json_is_object(json_array_get(list, i)))
			v[k++] = json_array_get(list, i);
	qsort(v, k, sizeof(*v), cmp);
	*ret_n = k;
	return v;
}

int cli_print_qm_list(struct cli *c, json_t *data, json_t *params, json_t *local)
{
	(void)c, (void)params, (void)local;
	size_t n;
	_cleanup_free_ json_t **vms = sorted(data, cmp_vmid, &n);
	if (!n)
		return 0;
	printf("%10s %-20s %-10s %-10s %12s %-10s\n", "VMID", "NAME", "STATUS", "MEM(MB)",
	       "BOOTDISK(GB)", "PID");
	for (size_t i = 0; i < n; i++) {
		json_t *vm = vms[i];
		_cleanup_free_ char *vmid = perl_str(json_object_get(vm, "vmid"));
		const char *status = str_or(vm, "qmpstatus", NULL);
		if (!status || !*status)
			status = str_or(vm, "status", "");
		/* Perl prints the quotient as "%.15g": 2048, or 0.5 */
		char mem[64];
		snprintf(mem, sizeof(mem), "%.15g", num(vm, "maxmem") / (1024.0 * 1024.0));
		long long pid = (long long)num(vm, "pid");
		printf("%10s %-20s %-10s %-10s %12.2f %-10lld\n", vmid, str_or(vm, "name", ""),
		       status, mem, num(vm, "maxdisk") / (1024.0 * 1024.0 * 1024.0), pid);
	}
	return 0;
}

int cli_print_pct_list(struct cli *c, json_t *data, json_t *params, json_t *local)
{
	(void)c, (void)params, (void)local;
	size_t n;
	_cleanup_free_ json_t **cts = sorted(data, cmp_vmid, &n);
	if (!n)
		return 0;
	printf("%-10s %-10s %-12s %-20s\n", "VMID", "Status", "Lock", "Name");
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *vmid = perl_str(json_object_get(cts[i], "vmid"));
		printf("%-10s %-10s %-12s %-20s\n", vmid, str_or(cts[i], "status", ""),
		       str_or(cts[i], "lock", ""), str_or(cts[i], "name", ""));
	}
	return 0;
}

/* PVE::Tools::encode_text: control and high-bit characters and ':' as %XX. */
static void add_encoded(struct strbuf *sb, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p < 0x20 || *p > 0x7e || *p == ':')
			strbuf_addf(sb, "%%%02X", *p);
		else
			strbuf_addch(sb, *p);
	}
}

static int cmp_key(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int cli_print_config(struct cli *c, json_t *data, json_t *params, json_t *local)
{
	(void)c, (void)params, (void)local;
	size_t n = 0;
	const char **keys = xnew(const char *, json_object_size(data) + 1);
	const char *k;
	json_t *v;
	json_object_foreach (data, k, v)
		if (!streq(k, "digest") && !streq(k, "lxc"))
			keys[n++] = k;
	qsort(keys, n, sizeof(*keys), cmp_key);
	for (size_t i = 0; i < n; i++) {
		struct strbuf sb = STRBUF_INIT;
		v = json_object_get(data, keys[i]);
		if (streq(keys[i], "description") && json_is_string(v))
			add_encoded(&sb, json_string_value(v));
		else
			add_perl(&sb, v);
		printf("%s: %s\n", keys[i], sb.buf);
		strbuf_release(&sb);
	}
	free(keys);
	return 0;
}

static int cmp_item_key(const void *a, const void *b)
{
	return strcmp(str_or(*(json_t *const *)a, "key", ""),
	              str_or(*(json_t *const *)b, "key", ""));
}

/* PVE::GuestHelpers::format_pending */
int cli_print_pending(struct cli *c, json_t *data, json_t *params, json_t *local)
{
	(void)c, (void)params, (void)local;
	size_t n;
	_cleanup_free_ json_t **items = sorted(data, cmp_item_key, &n);
	for (size_t i = 0; i < n; i++) {
		const char *k = str_or(items[i], "key", "");
		if (streq(k, "digest"))
			continue;
		json_t *jv = json_object_get(items[i], "value");
		json_t *jp = json_object_get(items[i], "pending");
		struct strbuf v = STRBUF_INIT, p = STRBUF_INIT;
		if (streq(k, "description")) {
			if (json_is_string(jv))
				add_encoded(&v, json_string_value(jv));
			if (json_is_string(jp))
				add_encoded(&p, json_string_value(jp));
		} else {
			add_perl(&v, jv);
			add_perl(&p, jp);
		}
		bool has_v = jv && !json_is_null(jv), has_p = jp && !json_is_null(jp);
		if (has_v) {
			if (truthy(items[i], "delete"))
				printf("del %s: %s\n", k, v.buf);
			else if (has_p)
				printf("cur %s: %s\nnew %s: %s\n", k, v.buf, k, p.buf);
			else
				printf("cur %s: %s\n", k, v.buf);
		} else if (has_p) {
			printf("new %s: %s\n", k, p.buf);
		}
		strbuf_release(&v);
		strbuf_release(&p);
	}
	return 0;
}

/* qm/pct status: "status: running"; --verbose: every key, sorted. */
int cli_print_status(struct cli *c, json_t *data, json_t *params, json_t *local)
{
	json_t *verbose = json_array_get(json_object_get(local, "verbose"), 0);
	const char *vs = json_string_value(verbose);
	if (vs && !streq(vs, "0") && !streq(vs, "no") && !streq(vs, "false") && !streq(vs, "off"))
		return cli_print_config(c, data, params, local);
	printf("status: %s\n", str_or(data, "status", "unknown"));
	return 0;
}

/* print_snapshot_tree: children under their parent, oldest first, "current"
 * (no snaptime) last. */
struct snap_tree {
	json_t *by_name;  /* name -> snapshot object */
	json_t *children; /* name -> array of names */
};

static json_t *snap_tree_by;

static int cmp_snaptime(const void *a, const void *b)
{
	json_t *x = json_object_get(snap_tree_by, json_string_value(*(json_t *const *)a));
	json_t *y = json_object_get(snap_tree_by, json_string_value(*(json_t *const *)b));
	json_t *tx = json_object_get(x, "snaptime"), *ty = json_object_get(y, "snaptime");
	if (!tx || json_is_null(tx))
		return 1;
	if (!ty || json_is_null(ty))
		return -1;
	double dx = json_number_value(tx), dy = json_number_value(ty);
	return (dx > dy) - (dx < dy);
}

static void print_snap(struct snap_tree *t, const char *prefix, const char *name)
{
	json_t *e = json_object_get(t->by_name, name);
	const char *desc = str_or(e, "description", "");
	if (!*desc)
		desc = "no-description";
	_cleanup_free_ char *first = xstrndup(desc, strcspn(desc, "\n"));
	char when[32] = "";
	json_t *st = json_object_get(e, "snaptime");
	if (json_is_number(st)) {
		time_t tt = (time_t)json_number_value(st);
		struct tm tm;
		localtime_r(&tt, &tm);
		strftime(when, sizeof(when), "%F %H:%M:%S", &tm);
	}
	int len = 30 - (int)strlen(prefix);
	if (len < 0)
		len = 0;
	printf("%s %-*s %-23s %s\n", prefix, len, name, when, first);
	json_t *kids = json_object_get(t->children, name);
	size_t n = json_array_size(kids);
	if (!n)
		return;
	json_t **v = xnew(json_t *, n);
	for (size_t i = 0; i < n; i++)
		v[i] = json_array_get(kids, i);
	qsort(v, n, sizeof(*v), cmp_snaptime);
	_cleanup_free_ char *deeper = xasprintf("    %s", prefix);
	for (size_t i = 0; i < n; i++)
		print_snap(t, deeper, json_string_value(v[i]));
	free(v);
}

int cli_print_snapshot_tree(struct cli *c, json_t *data, json_t *params, json_t *local)
{
	(void)c, (void)params, (void)local;
	_cleanup_json_ json_t *by = json_object();
	_cleanup_json_ json_t *children = json_object();
	_cleanup_json_ json_t *roots = json_array();
	size_t i;
	json_t *e;
	json_array_foreach (data, i, e) {
		const char *name = str_or(e, "name", NULL);
		if (name)
			json_object_set(by, name, e);
	}
	json_array_foreach (data, i, e) {
		const char *name = str_or(e, "name", NULL);
		if (!name)
			continue;
		const char *parent = str_or(e, "parent", NULL);
		if (parent && *parent && json_object_get(by, parent)) {
			json_t *a = json_object_get(children, parent);
			if (!a) {
				a = json_array();
				json_object_set_new(children, parent, a);
			}
			json_array_append_new(a, json_string(name));
		} else {
			json_array_append_new(roots, json_string(name));
		}
	}
	struct snap_tree t = {by, children};
	snap_tree_by = by;
	size_t n = json_array_size(roots);
	json_t **v = xnew(json_t *, n + 1);
	for (i = 0; i < n; i++)
		v[i] = json_array_get(roots, i);
	qsort(v, n, sizeof(*v), cmp_snaptime);
	for (i = 0; i < n; i++)
		print_snap(&t, "`->", json_string_value(v[i]));
	free(v);
	snap_tree_by = NULL;
	return 0;
}

static int cmp_storage(const void *a, const void *b)
{
	return strcmp(str_or(*(json_t *const *)a, "storage", ""),
	              str_or(*(json_t *const *)b, "storage", ""));
}

int cli_print_pvesm_status(struct cli *c, json_t *data, json_t *params, json_t *local)
{
	(void)c, (void)params, (void)local;
	size_t n;
	_cleanup_free_ json_t **st = sorted(data, cmp_storage, &n);
	int maxlen = 0;
	for (size_t i = 0; i < n; i++) {
		int l = (int)strlen(str_or(st[i], "storage", ""));
		if (l > maxlen)
			maxlen = l;
	}
	maxlen++;
	printf("%-*s %10s %10s %15s %15s %15s %8s\n", maxlen, "Name", "Type", "Status", "Total",
	       "Used", "Available", "%");
	for (size_t i = 0; i < n; i++) {
		json_t *s = st[i];
		double total = num(s, "total"), used = num(s, "used");
		printf("%-*s %10s %10s %15lld %15lld %15lld ", maxlen, str_or(s, "storage", ""),
		       str_or(s, "type", ""),
		       !truthy(s, "enabled") ? "disabled"
		       : truthy(s, "active") ? "active"
		                             : "inactive",
		       (long long)(total / 1024), (long long)(used / 1024),
		       (long long)(num(s, "avail") / 1024));
		if (!truthy(s, "enabled"))
			printf("%8s\n", "N/A"); /* Perl's "% 8s" */
		else
			printf("% 7.2f%%\n", total > 0 ? used * 100 / total : 0.0);
	}
	return 0;
}

static int cmp_format(const void *a, const void *b)
{
	return strcmp(str_or(*(json_t *const *)a, "format", ""),
	              str_or(*(json_t *const *)b, "format", ""));
}

int cli_print_pvesm_list(struct cli *c, json_t *data, json_t *params, json_t *local)
{
	(void)c, (void)params, (void)local;
	int maxname = 0;
	long long maxsize = 0;
	size_t i;
	json_t *e;
	json_array_foreach (data, i, e) {
		int l = (int)strlen(str_or(e, "volid", ""));
		if (l > maxname)
			maxname = l;
		if ((long long)num(e, "size") > maxsize)
			maxsize = (long long)num(e, "size");
	}
	char digits[32];
	int sizew = snprintf(digits, sizeof(digits), "%lld", maxsize);
	printf("%-*s %-7s %-9s %*s %s\n", maxname, "Volid", "Format", "Type", sizew, "Size",
	       "VMID");
	json_array_foreach (data, i, e) {
		if (!truthy(e, "vmid"))
			continue;
		printf("%-*s %-7s %-9s %*lld %lld\n", maxname, str_or(e, "volid", ""),
		       str_or(e, "format", ""), str_or(e, "content", ""), sizew,
		       (long long)num(e, "size"), (long long)num(e, "vmid"));
	}
	size_t n;
	_cleanup_free_ json_t **rest = sorted(data, cmp_format, &n);
	for (i = 0; i < n; i++) {
		if (truthy(rest[i], "vmid"))
			continue;
		printf("%-*s %-7s %-9s %*lld\n", maxname, str_or(rest[i], "volid", ""),
		       str_or(rest[i], "format", ""), str_or(rest[i], "content", ""), sizew,
		       (long long)num(rest[i], "size"));
	}
	return 0;
}

int cli_print_alloc(struct cli *c, json_t *data, json_t *params, json_t *local)
{
	(void)c, (void)params, (void)local;
	printf("successfully created '%s'\n", json_string_value(data) ?: "");
	return 0;
}

int cli_print_path(struct cli *c, json_t *data, json_t *params, json_t *local)
{
	(void)params, (void)local;
	const char *path = str_or(data, "path", NULL);
	if (!path) {
		fprintf(stderr, "%s: the volume has no path on this host\n", c->prog);
		return CLI_ERROR;
	}
	printf("%s\n", path);
	return 0;
}

/* pvesm scan lvm|lvmthin|zfs: one name a line, as pvesm.pm prints them. */
static int print_field_lines(json_t *data, const char *key)
{
	size_t i;
	json_t *row;
	json_array_foreach (data, i, row) {
		const char *v = str_or(row, key, NULL);
		if (v)
			printf("%s\n", v);
	}
	return 0;
}

int cli_print_scan_vg(struct cli *c, json_t *data, json_t *params, json_t *local)
{
	(void)c, (void)params, (void)local;
	return print_field_lines(data, "vg");
}

int cli_print_scan_lv(struct cli *c, json_t *data, json_t *params, json_t *local)
{
	(void)c, (void)params, (void)local;
	return print_field_lines(data, "lv");
}

int cli_print_scan_pool(struct cli *c, json_t *data, json_t *params, json_t *local)
{
	(void)c, (void)params, (void)local;
	return print_field_lines(data, "pool");
}

/* qm showcmd: the line; --pretty breaks it before each " -", as qm.pm's
 * s/ -/ \\\n  -/g does. */
int cli_print_showcmd(struct cli *c, json_t *data, json_t *params, json_t *local)
{
	(void)c, (void)params;
	const char *line = json_string_value(data);
	const char *ps = json_string_value(json_array_get(json_object_get(local, "pretty"), 0));
	bool pretty =
	    ps && !streq(ps, "0") && !streq(ps, "no") && !streq(ps, "false") && !streq(ps, "off");
	for (const char *p = line ? line : ""; *p; p++) {
		if (pretty && p[0] == ' ' && p[1] == '-')
			fputs(" \\\n ", stdout);
		putchar(*p);
	}
	putchar('\n');
	return 0;
}

int cli_print_task_log(struct cli *c, json_t *data, json_t *params, json_t *local)
{
	(void)c, (void)params, (void)local;
	size_t i;
	json_t *e;
	json_array_foreach (data, i, e)
		printf("%s\n", str_or(e, "t", ""));
	return 0;
}
