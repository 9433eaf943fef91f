/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * qemu-server configs: the file's value checks, the API's value check,
 * typed drives and network devices, MAC addresses, the API's typed view
 * (qemu-conf.h).
 */
#include "common.h"

#include <inttypes.h>
#include <sys/random.h>

#include "error.h"
#include "jsonutil.h"
#include "qemu-conf-internal.h"
#include "strbuf.h"
#include "strutil.h"
#include "xalloc.h"

const struct conf_format *const qemu_conf_formats[] = {conf_formats, NULL};

/* --- value formats --- */

int check_mac(const char *value, struct error **err)
{
	if (strlen(value) != 17)
		goto bad;
	for (int i = 0; i < 17; i++) {
		if (i % 3 == 2 ? value[i] != ':' : hex_digit_value(value[i]) < 0)
			goto bad;
	}
	/* the group bit of the first octet: a multicast address is no NIC's */
	if (hex_digit_value(value[1]) & 1)
		goto bad;
	return 0;
bad:
	return error_set(err, -EINVAL, 400, "value does not look like a valid unicast MAC address");
}

int qemu_parse_size(const char *s, uint64_t *ret)
{
	/* PVE: ^(\d+(\.\d+)?)([KMGT])?$ */
	const char *p = s;
	if (!(*p >= '0' && *p <= '9'))
		return -EINVAL;
	while (*p >= '0' && *p <= '9')
		p++;
	if (*p == '.') {
		p++;
		if (!(*p >= '0' && *p <= '9'))
			return -EINVAL;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	size_t numlen = (size_t)(p - s);
	double mult = 1;
	if (*p) {
		const char *units = "KMGT";
		const char *u = strchr(units, *p);
		if (!u || p[1])
			return -EINVAL;
		for (const char *q = units; q <= u; q++)
			mult *= 1024;
	}
	if (numlen > 20)
		return -ERANGE;
	_cleanup_free_ char *num = xstrndup(s, numlen);
	double v = strtod(num, NULL) * mult;
	if (!(v < 18446744073709551616.0))
		return -ERANGE;
	*ret = (uint64_t)v; /* PVE: int() */
	return 0;
}

char *qemu_format_size(uint64_t size)
{
	static const char units[] = "KMGT";
	if (size == 0 || size % 1024)
		return xasprintf("%" PRIu64, size);
	int u = 0;
	size /= 1024;
	while (u < 3 && size % 1024 == 0) {
		size /= 1024;
		u++;
	}
	return xasprintf("%" PRIu64 "%c", size, units[u]);
}

int check_disk_size(const char *value, struct error **err)
{
	uint64_t v;
	if (qemu_parse_size(value, &v) < 0)
		return error_set(err, -EINVAL, 400, "unable to parse size '%s'", value);
	return 0;
}

/* --- the file's checks (PVE's check_type) --- */

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!(*s >= '0' && *s <= '9'))
			return false;
	return true;
}

static int unknown_setting(const char *key, struct error **err)
{
	return error_set(err, -EINVAL, 400, "unknown setting '%s'", key);
}

/* A property string written back as PVE's print_property_string() does:
 * the default key's value first, then the other keys sorted, booleans as
 * 1/0, sizes formatted.  value has passed conf_propstring_parse(). */
static char *print_sorted(const struct conf_propstring *ps, const char *value)
{
	_cleanup_json_ json_t *kv = json_object();
	_cleanup_free_ char *copy = xstrdup(value);
	for (char *part = copy, *next; part; part = next) {
		size_t len = strcspn(part, ",");
		next = part[len] ? part + len + 1 : NULL;
		part[len] = '\0';
		bool blank = true;
		for (const char *q = part; *q && blank; q++)
			blank = *q == ' ' || *q == '\t' || *q == '\n' || *q == '\r' || *q == '\f' ||
			        *q == '\v';
		if (blank)
			continue;
		char *eq = strchr(part, '=');
		const char *key = ps->default_key, *v = part;
		if (eq) {
			*eq = '\0';
			key = part, v = eq + 1;
			const struct conf_prop *p = conf_props_find(ps->props, key, NULL);
			if (p && p->alias)
				key = p->alias;
		}
		const struct conf_prop *p = conf_props_find(ps->props, key, NULL);
		_cleanup_free_ char *norm = NULL;
		uint64_t size;
		if (p && p->type == CONF_TYPE_BOOLEAN)
			norm =
			    xstrdup(strcasecmp(v, "1") == 0 || strcasecmp(v, "on") == 0 ||
			                    strcasecmp(v, "yes") == 0 || strcasecmp(v, "true") == 0
			                ? "1"
			                : "0");
		else if (p && p->check == check_disk_size && qemu_parse_size(v, &size) == 0)
			norm = qemu_format_size(size);
		else
			norm = xstrdup(v);
		json_object_set_new(kv, key, json_string(norm));
	}
	struct strbuf sb;
	strbuf_init(&sb, strlen(value) + 16);
	const char *def = ps->default_key ? guest_conf_get(kv, ps->default_key) : NULL;
	if (def)
		strbuf_addstr(&sb, def);
	size_t n = json_object_size(kv), i = 0;
	_cleanup_free_ const char **keys = xcalloc(n + 1, sizeof(*keys));
	const char *k;
	json_t *v;
	json_object_foreach (kv, k, v)
		keys[i++] = k;
	for (size_t a = 1; a < i; a++) /* insertion sort: a handful of keys */
		for (size_t b = a; b > 0 && strcmp(keys[b - 1], keys[b]) > 0; b--) {
			const char *t = keys[b];
			keys[b] = keys[b - 1];
			keys[b - 1] = t;
		}
	for (size_t j = 0; j < i; j++) {
		if (ps->default_key && streq(keys[j], ps->default_key))
			continue;
		if (sb.len)
			strbuf_addch(&sb, ',');
		strbuf_addf(&sb, "%s=%s", keys[j], guest_conf_get(kv, keys[j]));
	}
	return strbuf_detach(&sb, NULL);
}

/* PVE's check_type() of a string without a format: one pair of surrounding
 * double quotes goes.  ctvm strips them until none are left (and never to
 * an empty value), so that reading is a fixed point. */
static char *strip_quotes(const char *value)
{
	size_t a = 0, n = strlen(value);
	while (n - 2 * a > 2 && value[a] == '"' && value[n - 1 - a] == '"')
		a++;
	return xstrndup(value + a, n - 2 * a);
}

static int propstring_check(const struct conf_prop *p, const char *value, struct error **err)
{
	json_t *obj = NULL;
	int r = conf_propstring_parse(p->sub, qemu_conf_formats, value, 0, &obj, err);
	json_decref(obj);
	return r;
}

static int file_check(const char *key, const char *value, enum guest_conf_where where,
                      const char *special, char **ret_value, struct error **err)
{
	(void)where;
	if (strpbrk(value, "\r\n"))
		return error_set(err, -EINVAL, 400, "property contains a line feed");
	if (special && streq(special, "fleecing")) {
		/* PVE's fleecing section: the fleecing images of the last backup */
		if (!streq(key, "fleecing-images"))
			return unknown_setting(key, err);
		*ret_value = xstrdup(value);
		return 0;
	}
	const struct conf_prop *p = qemu_conf_prop(key);
	if (!p)
		return unknown_setting(key, err);
	switch (p->type) {
	case CONF_TYPE_BOOLEAN:
	case CONF_TYPE_INTEGER:
	case CONF_TYPE_NUMBER:
		return guest_conf_file_scalar(p->type, value, ret_value, err);
	case CONF_TYPE_PROPSTRING: {
		int r = propstring_check(p, value, err);
		if (r < 0)
			return r;
		if (!qemu_conf_is_drive_key(key, true)) {
			*ret_value = xstrdup(value);
			return 0;
		}
		/* a drive needs its file (PVE's parse_drive()) */
		struct qemu_drive d;
		if ((r = qemu_drive_parse(key, value, &d, err)) < 0)
			return r;
		qemu_drive_clear(&d);
		*ret_value = print_sorted(p->sub, value);
		return 0;
	}
	default: {
		_cleanup_free_ char *v = strip_quotes(value);
		/* PVE checks a string's format when it reads the file; ctvm's rows
		 * say it as a pattern.  The enumeration is not checked (PVE does not). */
		if (p->pattern) {
			_cleanup_free_ char *norm = NULL;
			struct error *e = NULL;
			struct conf_prop row = {
			    .name = p->name, .type = CONF_TYPE_STRING, .pattern = p->pattern};
			if (conf_prop_check_value(&row, qemu_conf_formats, key, v, NULL, &norm,
			                          &e) < 0) {
				const char *why =
				    e && e->params
				        ? json_string_value(json_object_get(e->params, key))
				        : NULL;
				int r = error_set(err, -EINVAL, 400, "%s",
				                  why ? why
				                  : e ? e->msg
				                      : "invalid value");
				error_free(e);
				return r;
			}
		}
		*ret_value = TAKE_PTR(v);
		return 0;
	}
	}
}

static const char *const qemu_special_sections[] = {"cloudinit", "fleecing", NULL};

static const char *const qemu_verbatim_keys[] = {"args", NULL};

const struct guest_conf_schema qemu_conf_schema = {
    .special_sections = qemu_special_sections,
    .verbatim_keys = qemu_verbatim_keys,
    .check = file_check,
};

int qemu_conf_parse(const char *data, size_t len, unsigned vmid, unsigned flags,
                    struct guest_conf **ret, char ***ret_warnings, struct error **err)
{
	return guest_conf_parse(&qemu_conf_schema, vmid, data, len, flags, ret, ret_warnings, err);
}

/* the store's view of the files (guest_conf_store_parse() with this schema) */
GUEST_CONF_OPS(qemu_conf_ops, qemu_conf_schema);

const struct conf_prop *qemu_conf_prop(const char *key)
{
	const struct conf_prop *p = conf_props_find(qemu_conf_props, key, NULL);
	return p && !p->alias ? p : NULL;
}

/* --- the API's check --- */

int qemu_conf_check_value(const char *key, const char *value, char **ret_value, struct error **err)
{
	const struct conf_prop *p = qemu_conf_prop(key);
	_cleanup_free_ char *norm = NULL;
	int r = guest_conf_check_prop(p, qemu_conf_formats, QEMU_CONF_DESCRIPTION_MAX, key, value,
	                              &norm, err);
	if (r < 0)
		return r;
	if (r > 0) { /* the description, as it is */
		*ret_value = TAKE_PTR(norm);
		return 0;
	}
	if (str_startswith(key, "net") && p->sub) {
		struct qemu_net n;
		struct error *e = NULL;
		if ((r = qemu_net_parse(key, norm, &n, &e)) < 0) {
			error_param(err, key, "%s", e ? e->msg : "invalid format");
			error_free(e);
			return r;
		}
		qemu_net_clear(&n);
	}
	if (qemu_conf_is_drive_key(key, true)) {
		struct qemu_drive drive;
		struct error *e = NULL;
		if ((r = qemu_drive_parse(key, norm, &drive, &e)) < 0) {
			error_param(err, key, "%s", e ? e->msg : "invalid format");
			error_free(e);
			return r;
		}
		qemu_drive_clear(&drive);
		char *d = print_sorted(p->sub, norm);
		free(norm);
		norm = d;
	}
	*ret_value = TAKE_PTR(norm);
	return 0;
}

bool qemu_conf_needs_root(const char *key, const char *value)
{
	const struct conf_prop *p = qemu_conf_prop(key);
	if (p && (p->flags & CONF_PROP_ROOT_ONLY))
		return true;
	if (!value)
		return false;
	if (p && streq(p->name, "serial"))
		return !streq(value, "socket");
	if (qemu_conf_is_drive_key(key, true)) {
		/* a host path or the host's CD-ROM; a value that does not parse
		 * is refused by the check anyway, so it may as well need root */
		struct qemu_drive d;
		if (qemu_drive_parse(key, value, &d, NULL) < 0)
			return true;
		bool host = d.file[0] == '/' || streq(d.file, "cdrom");
		qemu_drive_clear(&d);
		return host;
	}
	return false;
}

/* --- drives --- */

static const struct {
	const char *prefix;
	enum qemu_drive_bus bus;
	int max;
} drive_families[] = {
    {"ide", QEMU_BUS_IDE, 3},         {"sata", QEMU_BUS_SATA, 5},
    {"scsi", QEMU_BUS_SCSI, 30},      {"virtio", QEMU_BUS_VIRTIO, 15},
    {"efidisk", QEMU_BUS_EFIDISK, 0}, {"tpmstate", QEMU_BUS_TPMSTATE, 0},
    {"unused", QEMU_BUS_UNUSED, 255},
};

/* The family of key and its index, or -1. */
static int drive_family(const char *key, int *ret_index)
{
	for (size_t i = 0; i < ARRAY_SIZE(drive_families); i++) {
		size_t n = strlen(drive_families[i].prefix);
		const char *d = key + n;
		if (strncmp(key, drive_families[i].prefix, n) != 0 || !all_digits(d) ||
		    (d[0] == '0' && d[1]) || strlen(d) > 3)
			continue;
		int idx = atoi(d);
		if (idx > drive_families[i].max)
			return -1;
		*ret_index = idx;
		return (int)i;
	}
	return -1;
}

bool qemu_conf_is_drive_key(const char *key, bool with_unused)
{
	int idx;
	int f = drive_family(key, &idx);
	return f >= 0 && (with_unused || drive_families[f].bus != QEMU_BUS_UNUSED);
}

static const char *opt_str(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static bool opt_bool(const json_t *o, const char *k, bool def)
{
	json_t *v = json_object_get(o, k);
	return v ? json_integer_value(v) != 0 : def;
}

int qemu_drive_parse(const char *key, const char *value, struct qemu_drive *ret, struct error **err)
{
	int idx;
	int f = drive_family(key, &idx);
	const struct conf_prop *p = f >= 0 ? qemu_conf_prop(key) : NULL;
	if (!p || !p->sub)
		return error_set(err, -EINVAL, 400, "invalid drive key '%s'", key);
	json_t *opts = NULL;
	int r = conf_propstring_parse(p->sub, qemu_conf_formats, value, 0, &opts, err);
	if (r < 0)
		return r;
	if (!opt_str(opts, "file")) {
		json_decref(opts);
		return error_set(err, -EINVAL, 400,
		                 "invalid format - format error - file: property is missing and it "
		                 "is not optional");
	}
	struct qemu_drive d = {.bus = drive_families[f].bus, .index = idx, .opts = opts};
	snprintf(d.key, sizeof(d.key), "%s", key);
	d.file = opt_str(opts, "file");
	d.cdrom = streq_ptr(opt_str(opts, "media"), "cdrom");
	const char *size = opt_str(opts, "size");
	if (size)
		(void)qemu_parse_size(size, &d.size);
	d.format = opt_str(opts, "format");
	d.cache = opt_str(opts, "cache");
	d.discard = opt_str(opts, "discard");
	d.aio = opt_str(opts, "aio");
	d.serial = opt_str(opts, "serial");
	d.efitype = opt_str(opts, "efitype");
	d.version = opt_str(opts, "version");
	d.iothread = opt_bool(opts, "iothread", false);
	d.ssd = opt_bool(opts, "ssd", false);
	d.ro = opt_bool(opts, "ro", false);
	d.backup_off = !opt_bool(opts, "backup", true);
	*ret = d;
	return 0;
}

void qemu_drive_clear(struct qemu_drive *d)
{
	json_decref(d->opts);
	*d = (struct qemu_drive){0};
}

int qemu_conf_foreach_drive(const json_t *section, bool with_unused, qemu_drive_fn *fn,
                            void *userdata, struct error **err)
{
	for (size_t i = 0; i < ARRAY_SIZE(drive_families); i++) {
		if (drive_families[i].bus == QEMU_BUS_UNUSED && !with_unused)
			continue;
		for (int idx = 0; idx <= drive_families[i].max; idx++) {
			char key[16];
			snprintf(key, sizeof(key), "%s%d", drive_families[i].prefix, idx);
			const char *v = guest_conf_get(section, key);
			if (!v)
				continue;
			struct qemu_drive d;
			struct error *e = NULL;
			int r = qemu_drive_parse(key, v, &d, &e);
			if (r < 0) {
				error_param(err, key, "%s", e ? e->msg : "invalid format");
				error_free(e);
				return r;
			}
			r = fn(&d, userdata, err);
			qemu_drive_clear(&d);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

/* --- network devices --- */

int qemu_net_parse(const char *key, const char *value, struct qemu_net *ret, struct error **err)
{
	const struct conf_prop *p = qemu_conf_prop(key);
	if (!p || !streq(p->name, "net"))
		return error_set(err, -EINVAL, 400, "invalid network key '%s'", key);
	json_t *opts = NULL;
	int r = conf_propstring_parse(p->sub, qemu_conf_formats, value, 0, &opts, err);
	if (r < 0)
		return r;
	/* "<model>=<mac>" (PVE's keyAlias): the model and the address at once */
	const char *model = opt_str(opts, "model");
	const char *mac = opt_str(opts, "macaddr");
	static const char *const models[] = {
	    "e1000",  "e1000-82540em", "e1000-82544gc", "e1000-82545em", "e1000e",
	    "i82551", "i82557b",       "i82559er",      "ne2k_isa",      "ne2k_pci",
	    "pcnet",  "rtl8139",       "virtio",        "vmxnet3",
	};
	const char *given = NULL;
	for (size_t i = 0; i < ARRAY_SIZE(models); i++) {
		if (!opt_str(opts, models[i]))
			continue;
		if (given || (model && !streq(model, models[i]))) {
			json_decref(opts);
			return error_set(
			    err, -EINVAL, 400,
			    "invalid format - format error - model: more than one model");
		}
		given = models[i];
	}
	if (given) {
		model = given;
		json_object_set_new(opts, "model", json_string(model));
		json_object_set(opts, "macaddr", json_object_get(opts, given));
		json_object_del(opts, given);
		mac = opt_str(opts, "macaddr");
	}
	if (!model) {
		json_decref(opts);
		return error_set(
		    err, -EINVAL, 400,
		    "invalid format - format error - model: property is missing and it "
		    "is not optional");
	}
	struct qemu_net n = {.opts = opts};
	const char *d = key + 3;
	n.index = atoi(d);
	n.model = opt_str(opts, "model");
	n.bridge = opt_str(opts, "bridge");
	if (mac)
		snprintf(n.macaddr, sizeof(n.macaddr), "%s", mac);
	n.tag = (int)json_integer_value(json_object_get(opts, "tag"));
	n.mtu = (int)json_integer_value(json_object_get(opts, "mtu"));
	n.queues = (int)json_integer_value(json_object_get(opts, "queues"));
	n.rate = json_number_value(json_object_get(opts, "rate"));
	n.firewall = opt_bool(opts, "firewall", false);
	n.link_down = opt_bool(opts, "link_down", false);
	n.trunks = opt_str(opts, "trunks");
	*ret = n;
	return 0;
}

void qemu_net_clear(struct qemu_net *n)
{
	json_decref(n->opts);
	*n = (struct qemu_net){0};
}

void qemu_conf_random_mac(char ret[18])
{
	unsigned char b[3];
	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
		abort(); /* getrandom() of 3 bytes does not fail once the pool is up */
	snprintf(ret, 18, "BC:24:11:%02X:%02X:%02X", b[0], b[1], b[2]);
}

/* --- the API's view --- */

json_t *qemu_conf_to_api(const json_t *section)
{
	json_t *out = json_object();
	const char *k;
	json_t *v;
	json_object_foreach ((json_t *)section, k, v) {
		const char *s = json_string_value(v);
		const struct conf_prop *p = qemu_conf_prop(k);
		json_t *t = NULL;
		if (s && p) {
			if ((p->type == CONF_TYPE_INTEGER || p->type == CONF_TYPE_BOOLEAN) &&
			    all_digits(s))
				t = json_integer(strtoll(s, NULL, 10));
			else if (p->type == CONF_TYPE_NUMBER)
				t = json_real(strtod(s, NULL));
		}
		json_object_set_new(out, k, t ? t : json_deep_copy(v));
	}
	return out;
}
