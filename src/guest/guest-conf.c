/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The guest config file: parser and writer (guest-conf.h).  The rules are
 * PVE's parse_vm_config() and write_vm_config(), line for line; the comments
 * name the places where ctvm differs and why.
 */
#include "common.h"

#include "error.h"
#include "guest-conf.h"
#include "jsonutil.h"
#include "property.h"
#include "strbuf.h"
#include "strutil.h"
#include "strv.h"
#include "xalloc.h"
#include "utf8.h"

/* --- the shape --- */

struct guest_conf *guest_conf_new(void)
{
	struct guest_conf *c = xcalloc(1, sizeof(*c));
	c->conf = json_object();
	c->pending = json_object();
	c->snapshots = json_object();
	c->special = json_object();
	if (!c->conf || !c->pending || !c->snapshots || !c->special)
		abort();
	return c;
}

struct guest_conf *guest_conf_free(struct guest_conf *c)
{
	if (!c)
		return NULL;
	json_decref(c->conf);
	json_decref(c->pending);
	json_decref(c->snapshots);
	json_decref(c->special);
	free(c);
	return NULL;
}

static json_t *deep_copy(const json_t *j)
{
	json_t *r = j ? json_deep_copy(j) : json_object();
	if (!r)
		abort();
	return r;
}

struct guest_conf *guest_conf_dup(const struct guest_conf *c)
{
	struct guest_conf *d = xcalloc(1, sizeof(*d));
	d->conf = deep_copy(c->conf);
	d->pending = deep_copy(c->pending);
	d->snapshots = deep_copy(c->snapshots);
	d->special = deep_copy(c->special);
	return d;
}

const char *guest_conf_get(const json_t *section, const char *key)
{
	return json_string_value(json_object_get(section, key));
}

void guest_conf_set(json_t *section, const char *key, const char *value)
{
	if (!value)
		json_object_del(section, key);
	else if (json_object_set_new(section, key, json_string(value)) < 0)
		abort(); /* callers pass valid UTF-8 (our parser's output or the API's) */
}

/* --- text helpers --- */

/* Perl's \s. */
static bool is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* data as valid UTF-8 (malloc'd): every byte that does not start a valid
 * sequence (and NUL) becomes U+FFFD, as Perl's Encode::decode() does.
 * jansson keeps only valid UTF-8. */
static char *utf8_clean(const char *data, size_t len)
{
	struct strbuf sb;
	strbuf_init(&sb, len + 1);
	const unsigned char *s = (const unsigned char *)data;
	for (size_t i = 0; i < len;) {
		size_t n = s[i] ? utf8_seq_len(s + i, len - i) : 0; /* NUL: invalid here */
		if (n) {
			strbuf_add(&sb, s + i, n);
			i += n;
		} else {
			strbuf_addstr(&sb, "\xef\xbf\xbd");
			i++;
		}
	}
	return strbuf_detach(&sb, NULL);
}

char *guest_conf_encode_text(const char *text)
{
	struct strbuf sb;
	strbuf_init(&sb, strlen(text) + 1);
	for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
		/* PVE: everything outside 0x20-0x39 and 0x3b-0x7e; ctvm: '%' too */
		if (*p < 0x20 || *p > 0x7e || *p == ':' || *p == '%')
			strbuf_addf(&sb, "%%%02X", *p);
		else
			strbuf_addch(&sb, *p);
	}
	return strbuf_detach(&sb, NULL);
}

char *guest_conf_decode_text(const char *data, size_t len)
{
	_cleanup_free_ char *raw = xmalloc(len + 1);
	size_t n = 0;
	for (size_t i = 0; i < len; i++) {
		int hi, lo;
		if (data[i] == '%' && i + 2 < len && (hi = hex_digit_value(data[i + 1])) >= 0 &&
		    (lo = hex_digit_value(data[i + 2])) >= 0) {
			raw[n++] = (char)(hi << 4 | lo);
			i += 2;
		} else {
			raw[n++] = data[i];
		}
	}
	return utf8_clean(raw, n);
}

/* --- parser --- */

enum section_type {
	SECTION_NONE, /* after an unknown section header: lines are skipped */
	SECTION_MAIN,
	SECTION_PENDING,
	SECTION_SPECIAL,
	SECTION_SNAPSHOT,
};

struct parser {
	const struct guest_conf_schema *schema;
	unsigned vmid;
	bool strict;
	struct guest_conf *c;
	char **warnings;
	enum section_type type;
	json_t *obj;         /* the current section's object (borrowed) */
	char *special;       /* the current special section's name */
	bool pending_seen;   /* PVE: defined($res->{pending}) */
	struct strbuf descr; /* the description being collected */
	bool has_descr;
	size_t sections;
};

/* A problem: a warning, or with strict the error.  Returns 0 or -EINVAL. */
_printf_(3, 4) static int problem(struct parser *p, struct error **err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	_cleanup_free_ char *msg = xvasprintf(fmt, ap);
	va_end(ap);
	/* one line, as error_set() makes the strict message: a warning reads the same */
	for (char *c = msg; *c; c++)
		if (*c == '\n' || *c == '\r')
			*c = ' ';
	if (p->strict)
		return error_set(err, -EINVAL, 500, "vm %u - %s", p->vmid, msg);
	strv_push(&p->warnings, xasprintf("vm %u - %s", p->vmid, msg));
	return 0;
}

/* PVE's $finish_description: into the section that was current. */
static void finish_description(struct parser *p)
{
	if (!p->has_descr)
		return;
	size_t n = p->descr.len;
	while (n > 0 && is_space((unsigned char)p->descr.buf[n - 1]))
		n--;
	_cleanup_free_ char *d = xstrndup(p->descr.buf, n);
	guest_conf_set(p->obj, "description", d);
	strbuf_reset(&p->descr);
	p->has_descr = false;
}

/* "[name]" followed by blanks: the name (malloc'd) or NULL. */
static char *section_header(const char *line, size_t len)
{
	while (len > 0 && is_space((unsigned char)line[len - 1]))
		len--;
	if (len < 2 || line[0] != '[' || line[len - 1] != ']')
		return NULL;
	const char *name = line + 1;
	size_t n = len - 2;
	if (memchr(name, ']', n)) /* PVE: \[([^\]]*)\] */
		return NULL;
	return xstrndup(name, n);
}

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* PVE: [a-z][a-z0-9_\-]+, case-insensitive */
static bool is_snapshot_name(const char *s)
{
	if (!is_alpha(s[0]) || !s[1])
		return false;
	for (const char *q = s + 1; *q; q++)
		if (!is_alpha(*q) && !(*q >= '0' && *q <= '9') && *q != '_' && *q != '-')
			return false;
	return true;
}

static const char *known_special(const struct guest_conf_schema *schema, const char *name)
{
	for (const char *const *s = schema->special_sections; s && *s; s++)
		if (strcasecmp(*s, name) == 0)
			return *s;
	return NULL;
}

static int start_section(struct parser *p, const char *name, struct error **err)
{
	finish_description(p);
	free(p->special);
	p->special = NULL;
	if (++p->sections > GUEST_CONF_MAX_SECTIONS)
		return error_set(err, -E2BIG, 500, "vm %u - too many sections (at most %u)",
		                 p->vmid, GUEST_CONF_MAX_SECTIONS);
	const char *special;
	if (strcasecmp(name, "PENDING") == 0 ||
	    (p->schema->pending_header && strcasecmp(name, p->schema->pending_header) == 0)) {
		p->type = SECTION_PENDING;
		if (p->pending_seen && problem(p, err, "duplicate section: pending") < 0)
			return -EINVAL;
		p->pending_seen = true;
		json_object_clear(p->c->pending);
		p->obj = p->c->pending;
	} else if (strncasecmp(name, "special:", 8) == 0 &&
	           (special = known_special(p->schema, name + 8))) {
		p->type = SECTION_SPECIAL;
		p->special = xstrdup(special);
		if (json_object_get(p->c->special, special) &&
		    problem(p, err, "duplicate special section: %s", special) < 0)
			return -EINVAL;
		p->obj = json_object();
		json_object_set_new(p->c->special, special, p->obj);
	} else if (is_snapshot_name(name)) {
		p->type = SECTION_SNAPSHOT;
		if (json_object_get(p->c->snapshots, name) &&
		    problem(p, err, "duplicate snapshot section: %s", name) < 0)
			return -EINVAL;
		p->obj = json_object();
		json_object_set_new(p->c->snapshots, name, p->obj);
	} else {
		p->type = SECTION_NONE;
		if (problem(p, err, "skipping unknown section: '%s'", name) < 0)
			return -EINVAL;
	}
	return 0;
}

/* "key: value" as PVE's ^([a-z][a-z_\-]*\d*):\s*(.+?)\s*$ reads it: 0 and
 * the key and value (malloc'd), or -1. */
static int split_key(const char *line, size_t len, char **ret_key, char **ret_value)
{
	size_t i = 0;
	if (len == 0 || !(line[0] >= 'a' && line[0] <= 'z'))
		return -1;
	while (i < len && ((line[i] >= 'a' && line[i] <= 'z') || line[i] == '_' || line[i] == '-'))
		i++;
	while (i < len && line[i] >= '0' && line[i] <= '9')
		i++;
	if (i >= len || line[i] != ':')
		return -1;
	size_t klen = i++;
	size_t start = i, end = len;
	if (start >= end)
		return -1;
	while (start < end && is_space((unsigned char)line[start]))
		start++;
	while (end > start && is_space((unsigned char)line[end - 1]))
		end--;
	if (start == end) /* only blanks: the lazy (.+?) takes the last one */
		start = len - 1, end = len;
	*ret_key = xstrndup(line, klen);
	*ret_value = utf8_clean(line + start, end - start);
	return 0;
}

static bool in_list(const char *const *list, const char *s)
{
	for (; list && *list; list++)
		if (streq(*list, s))
			return true;
	return false;
}

/* PVE's container parser: ^(lxc\.[a-z0-9_\-\.]+)(:|\s*=)\s*(.*?)\s*$ with
 * the schema's prefix.  0 and the key and value (malloc'd; the value may
 * be empty), or -1. */
static int split_raw_key(const char *prefix, const char *line, size_t len, char **ret_key,
                         char **ret_value)
{
	size_t pl = strlen(prefix), i = pl;
	if (len <= pl || memcmp(line, prefix, pl) != 0)
		return -1;
	while (i < len &&
	       ((line[i] >= 'a' && line[i] <= 'z') || (line[i] >= '0' && line[i] <= '9') ||
	        line[i] == '_' || line[i] == '-' || line[i] == '.'))
		i++;
	if (i == pl)
		return -1;
	size_t klen = i;
	while (i < len && line[i] != ':' && is_space((unsigned char)line[i]))
		i++;
	if (i >= len || (line[i] != ':' && line[i] != '='))
		return -1;
	if (line[i] == ':' && i != klen) /* "key :" is no raw key (PVE: (:|\s*=)) */
		return -1;
	size_t start = i + 1, end = len;
	while (start < end && is_space((unsigned char)line[start]))
		start++;
	while (end > start && is_space((unsigned char)line[end - 1]))
		end--;
	*ret_key = xstrndup(line, klen);
	*ret_value = utf8_clean(line + start, end - start);
	return 0;
}

static void raw_append(json_t *section, const char *key, const char *value)
{
	json_t *a = json_object_get(section, GUEST_CONF_RAW_KEY);
	if (!json_is_array(a)) {
		a = json_array();
		json_object_set_new(section, GUEST_CONF_RAW_KEY, a);
	}
	if (json_array_append_new(a, json_pack("[ss]", key, value)) < 0)
		abort();
}

/* A raw key line: 1 when it was one (kept or a problem), 0 when not, or
 * -EINVAL. */
static int parse_raw(struct parser *p, const char *line, size_t len, struct error **err)
{
	_cleanup_free_ char *key = NULL, *value = NULL;
	if (!p->schema->raw_prefix || memchr(line, '\0', len) ||
	    split_raw_key(p->schema->raw_prefix, line, len, &key, &value) < 0)
		return 0;
	if (strpbrk(value, "\r\n")) { /* would not write back */
		_cleanup_free_ char *shown = utf8_clean(line, len);
		return problem(p, err, "unable to parse config: %s", shown) < 0 ? -EINVAL : 1;
	}
	_cleanup_free_ char *msg = NULL;
	int keep = p->schema->raw_check(key, &msg);
	if (keep && msg && problem(p, err, "%s", msg) < 0)
		return -EINVAL;
	if (keep) {
		raw_append(p->obj, key, value);
		return 1;
	}
	if (msg)
		return problem(p, err, "%s: %s", key, msg) < 0 ? -EINVAL : 1;
	_cleanup_free_ char *shown = utf8_clean(line, len);
	return problem(p, err, "unable to parse config: %s", shown) < 0 ? -EINVAL : 1;
}

static int parse_line(struct parser *p, const char *line, size_t len, struct error **err)
{
	bool blank = true;
	for (size_t i = 0; i < len && blank; i++)
		blank = is_space((unsigned char)line[i]);
	if (blank)
		return 0;

	_cleanup_free_ char *name = line[0] == '[' ? section_header(line, len) : NULL;
	if (name)
		return start_section(p, name, err);
	if (p->type == SECTION_NONE)
		return 0;

	if (line[0] == '#') {
		_cleanup_free_ char *d = guest_conf_decode_text(line + 1, len - 1);
		strbuf_addstr(&p->descr, d);
		strbuf_addch(&p->descr, '\n');
		p->has_descr = true;
		return 0;
	}
	int r = parse_raw(p, line, len, err);
	if (r != 0)
		return r < 0 ? r : 0;
	/* NUL bytes: PVE would keep them in a value; no JSON string can */
	_cleanup_free_ char *key = NULL, *value = NULL;
	if (memchr(line, '\0', len) || split_key(line, len, &key, &value) < 0) {
		_cleanup_free_ char *shown = utf8_clean(line, len);
		return problem(p, err, "unable to parse config: %s", shown);
	}

	if (streq(key, "description")) {
		/* PVE: ^(description):\s*(.*\S)\s*$, decoded, without a newline */
		_cleanup_free_ char *d = guest_conf_decode_text(value, strlen(value));
		strbuf_addstr(&p->descr, d);
		p->has_descr = true;
		return 0;
	}
	if (streq(key, "snapstate") && (streq(value, "prepare") || streq(value, "delete"))) {
		guest_conf_set(p->obj, key, value);
		return 0;
	}
	if (in_list(p->schema->verbatim_keys, key)) {
		guest_conf_set(p->obj, key, value);
		return 0;
	}
	if (streq(key, "delete")) {
		if (p->type != SECTION_PENDING)
			return problem(p, err, "property 'delete' is only allowed in [PENDING]");
		if (!*value || strpbrk(value, "\r\n")) /* would not write back */
			return problem(p, err, "unable to parse value of 'delete' - invalid list");
		guest_conf_set(p->obj, key, value);
		return 0;
	}

	static const enum guest_conf_where where[] = {
	    [SECTION_MAIN] = GUEST_CONF_MAIN,
	    [SECTION_PENDING] = GUEST_CONF_PENDING,
	    [SECTION_SPECIAL] = GUEST_CONF_SPECIAL,
	    [SECTION_SNAPSHOT] = GUEST_CONF_SNAPSHOT,
	};
	_cleanup_free_ char *norm = NULL;
	struct error *e = NULL;
	if (p->schema->raw_prefix && streq(key, GUEST_CONF_RAW_KEY))
		/* the raw keys' member is no key of its own */
		return problem(p, err, "unable to parse value of '%s' - unknown setting '%s'", key,
		               key);
	if (p->schema->check(key, value, where[p->type], p->special, &norm, &e) < 0) {
		if (e && e->http_status >= 500 && !p->strict) {
			error_propagate(err, e);
			return -EINVAL;
		}
		r = problem(p, err, "unable to parse value of '%s' - %s", key,
		            e ? e->msg : "invalid value");
		error_free(e);
		/* PVE's pct: warned, and kept -- but never what would not write back */
		if (r == 0 && p->schema->keep_invalid && !strpbrk(value, "\r\n"))
			guest_conf_set(p->obj, key, value);
		return r;
	}
	/* A line's value is read without the blanks around it (but a value of
	 * blanks alone, PVE's "boot: " read as " ", stays), so a normal form
	 * with them ("scsi0: , x" gives " x") is stored trimmed: parse and
	 * write stay a fixed point. */
	size_t start = 0, end = strlen(norm);
	while (start < end && is_space((unsigned char)norm[start]))
		start++;
	while (end > start && is_space((unsigned char)norm[end - 1]))
		end--;
	if (end > start) {
		norm[end] = '\0';
		guest_conf_set(p->obj, key, norm + start);
	} else {
		guest_conf_set(p->obj, key, norm);
	}
	return 0;
}

int guest_conf_parse(const struct guest_conf_schema *schema, unsigned vmid, const char *data,
                     size_t len, unsigned flags, struct guest_conf **ret, char ***ret_warnings,
                     struct error **err)
{
	if (len > GUEST_CONF_MAX_SIZE)
		return error_set(err, -EFBIG, 500, "vm %u - config file too big (at most %u bytes)",
		                 vmid, GUEST_CONF_MAX_SIZE);
	_cleanup_guest_conf_ struct guest_conf *c = guest_conf_new();
	struct parser p = {
	    .schema = schema,
	    .vmid = vmid,
	    .strict = flags & GUEST_CONF_STRICT,
	    .c = c,
	    .type = SECTION_MAIN,
	    .obj = c->conf,
	};
	strbuf_init(&p.descr, 0);
	int r = 0;
	for (size_t pos = 0; pos < len && r >= 0;) {
		const char *nl = memchr(data + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (data + pos)) : len - pos;
		if (n > GUEST_CONF_MAX_LINE)
			r = error_set(err, -E2BIG, 500, "vm %u - line too long (at most %u bytes)",
			              vmid, GUEST_CONF_MAX_LINE);
		else
			r = parse_line(&p, data + pos, n, err);
		pos += n + 1;
	}
	if (r >= 0) {
		finish_description(&p);
		json_object_del(c->conf, "snapstate"); /* PVE: "just to be sure" */
	}
	strbuf_release(&p.descr);
	free(p.special);
	if (r < 0) {
		strv_free(p.warnings);
		return r;
	}
	if (ret_warnings)
		*ret_warnings = p.warnings;
	else
		strv_free(p.warnings);
	*ret = TAKE_PTR(c);
	return 0;
}

/* --- writer --- */

static bool is_key(const char *k)
{
	const char *q = k;
	if (!(*q >= 'a' && *q <= 'z'))
		return false;
	while ((*q >= 'a' && *q <= 'z') || *q == '_' || *q == '-')
		q++;
	while (*q >= '0' && *q <= '9')
		q++;
	return *q == '\0';
}

/* What split_raw_key() reads back as the same key: a prefix "x." and
 * [a-z0-9_.-] after it. */
static bool is_raw_key(const char *k)
{
	const char *dot = strchr(k, '.');
	if (!dot || dot == k || !dot[1])
		return false;
	for (const char *q = k; q < dot; q++)
		if (!(*q >= 'a' && *q <= 'z'))
			return false;
	for (const char *q = dot + 1; *q; q++)
		if (!((*q >= 'a' && *q <= 'z') || (*q >= '0' && *q <= '9') || *q == '_' ||
		      *q == '-' || *q == '.'))
			return false;
	return true;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The keys of obj, sorted (the array only; the keys stay obj's). */
static const char **sorted_keys(const json_t *obj, size_t *ret_n)
{
	size_t n = json_object_size(obj), i = 0;
	const char **keys = xcalloc(n + 1, sizeof(*keys));
	const char *k;
	json_t *v;
	json_object_foreach ((json_t *)obj, k, v)
		keys[i++] = k;
	qsort(keys, i, sizeof(*keys), cmp_str);
	*ret_n = i;
	return keys;
}

/* PVE's $generate_raw_config. */
static int write_section(const json_t *obj, bool pending, bool main, struct strbuf *out,
                         struct error **err)
{
	if (!json_is_object(obj))
		return error_set(err, -EINVAL, 500, "config section is not an object");
	const char *descr = guest_conf_get(obj, "description");
	if (descr && *descr && !streq(descr, "0")) { /* Perl's truth */
		/* Perl's split(/\n/): trailing empty fields are dropped */
		size_t end = strlen(descr);
		while (end > 0 && descr[end - 1] == '\n')
			end--;
		for (size_t pos = 0; pos < end;) {
			size_t n = strcspn(descr + pos, "\n");
			if (pos + n > end)
				n = end - pos;
			_cleanup_free_ char *line = xstrndup(descr + pos, n);
			_cleanup_free_ char *enc = guest_conf_encode_text(line);
			strbuf_addf(out, "#%s\n", enc);
			pos += n + 1;
		}
	} else if (descr && pending) {
		strbuf_addstr(out, "#\n");
	}

	size_t n;
	_cleanup_free_ const char **keys = sorted_keys(obj, &n);
	const json_t *raw = NULL;
	for (size_t i = 0; i < n; i++) {
		const char *k = keys[i];
		if (streq(k, "description") || streq(k, "digest") ||
		    (main && streq(k, "snapstate")))
			continue;
		if (streq(k, GUEST_CONF_RAW_KEY) && json_is_array(json_object_get(obj, k))) {
			raw = json_object_get(obj, k);
			continue;
		}
		const char *v = guest_conf_get(obj, k);
		if (!is_key(k))
			return error_set(err, -EINVAL, 500, "invalid config key '%s'", k);
		if (!v || !*v || strpbrk(v, "\r\n"))
			return error_set(err, -EINVAL, 500, "invalid value of config key '%s'", k);
		strbuf_addf(out, "%s: %s\n", k, v);
	}
	/* PVE's pct writer: the raw keys last, in their order */
	size_t i;
	json_t *pair;
	json_array_foreach (raw, i, pair) {
		const char *k = json_string_value(json_array_get(pair, 0));
		const char *v = json_string_value(json_array_get(pair, 1));
		if (!k || !v || json_array_size(pair) != 2)
			return error_set(err, -EINVAL, 500, "invalid raw config entry");
		if (!is_raw_key(k) || strpbrk(v, "\r\n"))
			return error_set(err, -EINVAL, 500, "invalid raw config key '%s'", k);
		strbuf_addf(out, "%s: %s\n", k, v);
	}
	return 0;
}

static bool is_special_name(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!(*s >= 'a' && *s <= 'z'))
			return false;
	return true;
}

/* PVE leaves out an empty cloudinit section; one holding only a description
 * that is not written (empty) is empty too, or the text would not read back
 * to itself. */
static bool has_written_keys(const json_t *obj)
{
	const char *k;
	json_t *v;
	json_object_foreach ((json_t *)obj, k, v) {
		const char *s = json_string_value(v);
		if (!streq(k, "description") || (s && *s && !streq(s, "0")))
			return true;
	}
	return false;
}

int guest_conf_store_parse(const struct guest_conf_schema *schema, const char *data, size_t len,
                           void **ret, struct error **err)
{
	struct guest_conf *c = NULL;
	int r = guest_conf_parse(schema, 0, data, len, 0, &c, NULL, err);
	if (r < 0)
		return r;
	*ret = c;
	return 0;
}

void guest_conf_store_free(void *obj)
{
	guest_conf_free(obj);
}

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!(*s >= '0' && *s <= '9'))
			return false;
	return true;
}

int guest_conf_file_scalar(int t, const char *value, char **ret_value, struct error **err)
{
	switch (t) {
	case CONF_TYPE_BOOLEAN:
		if (streq(value, "1") || strcasecmp(value, "on") == 0 ||
		    strcasecmp(value, "yes") == 0 || strcasecmp(value, "true") == 0)
			*ret_value = xstrdup("1");
		else if (streq(value, "0") || strcasecmp(value, "off") == 0 ||
		         strcasecmp(value, "no") == 0 || strcasecmp(value, "false") == 0)
			*ret_value = xstrdup("0");
		else
			return error_set(err, -EINVAL, 400,
			                 "type check ('boolean') failed - got '%s'", value);
		return 0;
	case CONF_TYPE_INTEGER:
		if (!all_digits(value) || strlen(value) > 18)
			return error_set(err, -EINVAL, 400,
			                 "type check ('integer') failed - got '%s'", value);
		*ret_value = xasprintf("%lld", strtoll(value, NULL, 10));
		return 0;
	case CONF_TYPE_NUMBER: {
		const char *dot = strchr(value, '.');
		_cleanup_free_ char *ip = dot ? xstrndup(value, (size_t)(dot - value)) : NULL;
		if (!all_digits(dot ? ip : value) || (dot && !all_digits(dot + 1)))
			return error_set(err, -EINVAL, 400,
			                 "type check ('number') failed - got '%s'", value);
		*ret_value = xstrdup(value);
		return 0;
	}
	default:
		return error_set(err, -EINVAL, 500, "not a scalar type");
	}
}

int guest_conf_check_prop(const struct conf_prop *p, const struct conf_format *const *formats,
                          size_t description_max, const char *key, const char *value,
                          char **ret_value, struct error **err)
{
	if (!p)
		return error_param(
		    err, key,
		    "property is not defined in schema and the schema does not allow "
		    "additional properties");
	if (streq(key, "description")) {
		/* the one value with line breaks: the writer encodes it line by line */
		if (!value)
			return error_param(err, key, "got undefined value");
		if (strlen(value) > description_max)
			return error_param(err, key, "value may only be %zu characters long",
			                   description_max);
		*ret_value = xstrdup(value);
		return 1;
	}
	return conf_prop_check_value(p, formats, key, value, NULL, ret_value, err);
}

int guest_conf_write(const struct guest_conf *c, struct strbuf *out, struct error **err)
{
	return guest_conf_write_schema(NULL, c, out, err);
}

int guest_conf_write_schema(const struct guest_conf_schema *schema, const struct guest_conf *c,
                            struct strbuf *out, struct error **err)
{
	int r = write_section(c->conf, false, true, out, err);
	if (r < 0)
		return r;
	/* a [PENDING] of a digest alone writes no line (the digest is never
	 * written), so it goes without its header too: a fixed point */
	if (json_object_size(c->pending) > (json_object_get(c->pending, "digest") ? 1u : 0u)) {
		strbuf_addf(out, "\n[%s]\n",
		            schema && schema->pending_header ? schema->pending_header : "PENDING");
		if ((r = write_section(c->pending, true, false, out, err)) < 0)
			return r;
	}
	size_t n;
	_cleanup_free_ const char **specials = sorted_keys(c->special, &n);
	for (size_t i = 0; i < n; i++) {
		const json_t *s = json_object_get(c->special, specials[i]);
		if (streq(specials[i], "cloudinit") && !has_written_keys(s))
			continue;
		if (!is_special_name(specials[i]))
			return error_set(err, -EINVAL, 500, "invalid special section name '%s'",
			                 specials[i]);
		strbuf_addf(out, "\n[special:%s]\n", specials[i]);
		if ((r = write_section(s, false, false, out, err)) < 0)
			return r;
	}
	_cleanup_free_ const char **snaps = sorted_keys(c->snapshots, &n);
	for (size_t i = 0; i < n; i++) {
		if (!is_snapshot_name(snaps[i]) || strcasecmp(snaps[i], "pending") == 0)
			return error_set(err, -EINVAL, 500, "invalid snapshot name '%s'", snaps[i]);
		strbuf_addf(out, "\n[%s]\n", snaps[i]);
		if ((r = write_section(json_object_get(c->snapshots, snaps[i]), false, false, out,
		                       err)) < 0)
			return r;
	}
	return 0;
}
