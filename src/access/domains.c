/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include "common.h"

#include <strings.h>

#include "domains.h"
#include "error.h"
#include "section-config.h"
#include "strbuf.h"
#include "usercfg.h"
#include "xalloc.h"

struct domains {
	struct section_config *cfg;
};

static int validate_realm(const char *id, struct error **err)
{
	if (strlen(id) > 32 || !usercfg_verify_realm(id))
		return error_set(err, -EINVAL, 400, "value does not look like a valid realm");
	return 0;
}

static int validate_tfa(const char *v, struct error **err)
{
	/* property string "type=oath|yubico[,key=value...]"; we only check the shape */
	if (!str_startswith(v, "type=oath") && !str_startswith(v, "type=yubico"))
		return error_set(err, -EINVAL, 400, "invalid tfa type");
	if (strlen(v) > 128)
		return error_set(err, -EINVAL, 400, "value may only be 128 characters long");
	return 0;
}

/* domains.cfg's keys, each described once (property.h). */
static const struct conf_prop realm_keys[] = {
    {.name = "comment", .type = CONF_TYPE_STRING},
    {.name = "default", .type = CONF_TYPE_BOOLEAN},
    {.name = "tfa", .type = CONF_TYPE_STRING, .check = validate_tfa},
    {.name = NULL},
};

static const struct section_prop realm_props[] = {
    {.prop = &realm_keys[0], .optional = true},
    {.prop = &realm_keys[1], .optional = true},
    {.prop = &realm_keys[2], .optional = true},
};

static const struct section_type realm_types[] = {
    {"pam", realm_props, ARRAY_SIZE(realm_props)},
    {"pve", realm_props, ARRAY_SIZE(realm_props)},
};

static const struct section_schema schema = {
    .types = realm_types,
    .n_types = ARRAY_SIZE(realm_types),
    .allow_unknown = true,
    .lowercase_type = true,
    .validate_id = validate_realm,
};

const struct section_schema *domains_schema(void)
{
	return &schema;
}

struct section_config *domains_config(struct domains *d)
{
	return d->cfg;
}

static void force_realm(struct section_config *c, const char *realm, const char *comment)
{
	struct section *s = section_config_find(c, realm);
	if (!s)
		section_config_add(c, realm, realm, &s, NULL);
	if (!streq(s->type, realm)) {
		free(s->type);
		s->type = xstrdup(realm);
	}
	s->unknown = false;
	const char *cur = section_get(s, "comment");
	if (!cur || !*cur)
		section_set(s, "comment", comment);
}

void domains_fixup(struct domains *d)
{
	force_realm(d->cfg, "pam", "Linux PAM standard authentication");
	force_realm(d->cfg, "pve", "Proxmox VE authentication server");
	bool seen = false;
	for (size_t i = 0; i < d->cfg->n_sections; i++) {
		struct section *s = d->cfg->sections[i];
		const char *v = section_get(s, "default");
		if (!section_has(s, "default"))
			continue;
		if (v && streq(v, "0"))
			continue;
		if (seen)
			section_unset(s, "default");
		seen = true;
	}
}

struct domains *domains_new(void)
{
	struct domains *d = xnew(struct domains, 1);
	d->cfg = section_config_new();
	domains_fixup(d);
	return d;
}

struct domains *domains_free(struct domains *d)
{
	if (d) {
		section_config_free(d->cfg);
		free(d);
	}
	return NULL;
}

int domains_parse(const char *data, size_t len, struct domains **ret, struct error **err)
{
	struct section_config *c = NULL;
	int r = section_config_parse(data, len, &schema, 0, &c, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < c->n_sections; i++) {
		struct section *s = c->sections[i];
		const char *cm = section_get(s, "comment");
		if (cm) {
			_cleanup_free_ char *dec = usercfg_decode_text(cm);
			section_set(s, "comment", dec);
		}
	}
	struct domains *d = xnew(struct domains, 1);
	d->cfg = c;
	domains_fixup(d);
	*ret = d;
	return 0;
}

static struct section_config *copy_config(const struct section_config *c, bool encode)
{
	struct section_config *n = section_config_new();
	memcpy(n->digest, c->digest, sizeof(n->digest));
	for (size_t i = 0; i < c->n_sections; i++) {
		const struct section *s = c->sections[i];
		struct section *ns = NULL;
		section_config_add(n, s->type, s->id, &ns, NULL);
		ns->unknown = s->unknown;
		for (size_t k = 0; k < s->n_kv; k++) {
			const struct section_kv *kv = &s->kv[k];
			if (encode && kv->value && streq(kv->key, "comment")) {
				_cleanup_free_ char *e = usercfg_encode_text(kv->value);
				section_append(ns, kv->key, e);
			} else {
				section_append(ns, kv->key, kv->value);
			}
		}
	}
	return n;
}

struct domains *domains_dup(const struct domains *d)
{
	struct domains *n = xnew(struct domains, 1);
	n->cfg = copy_config(d->cfg, false);
	return n;
}

int domains_write(const struct domains *d, struct strbuf *out, struct error **err)
{
	_cleanup_section_config_ struct section_config *enc = copy_config(d->cfg, true);
	return section_config_write(enc, &schema, out, err);
}

size_t domains_count(const struct domains *d)
{
	return d->cfg->n_sections;
}

static void fill_info(const struct section *s, struct realm_info *ret)
{
	const char *def = section_get(s, "default");
	ret->realm = s->id;
	ret->type = s->type;
	ret->comment = section_get(s, "comment");
	ret->tfa = section_get(s, "tfa");
	ret->is_default = section_has(s, "default") && !(def && streq(def, "0"));
	ret->supported = streq(s->type, "pam") || streq(s->type, "pve");
}

bool domains_get(const struct domains *d, size_t i, struct realm_info *ret)
{
	if (i >= d->cfg->n_sections)
		return false;
	fill_info(d->cfg->sections[i], ret);
	return true;
}

bool domains_find(const struct domains *d, const char *realm, bool ignore_case,
                  struct realm_info *ret)
{
	const struct section *s = section_config_find(d->cfg, realm);
	if (!s && ignore_case) {
		for (size_t i = 0; i < d->cfg->n_sections; i++) {
			if (strcasecmp(d->cfg->sections[i]->id, realm) != 0)
				continue;
			if (s)
				return false; /* ambiguous */
			s = d->cfg->sections[i];
		}
	}
	if (!s)
		return false;
	fill_info(s, ret);
	return true;
}
