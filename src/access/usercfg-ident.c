/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Identifier syntax, ACL paths and the text encoding of user.cfg (pve-api.md 4.1, 4.6). */
#include "common.h"

#include "strbuf.h"
#include "usercfg.h"
#include "xalloc.h"
#include "strutil.h"
#include "utf8.h"

/* --- identifiers --- */

static bool is_perl_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* [A-Za-z0-9.\-_]+ over [s, s+n) */
static bool is_word(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_alnum(s[i]) && s[i] != '.' && s[i] != '-' && s[i] != '_')
			return false;
	return true;
}

/* [A-Za-z][A-Za-z0-9.\-_]+ : the realm and token name syntax */
static bool is_realm_word(const char *s, size_t n)
{
	return n >= 2 && is_alpha(s[0]) && is_word(s + 1, n - 1);
}

bool usercfg_verify_realm(const char *realm)
{
	return is_realm_word(realm, strlen(realm));
}

bool usercfg_verify_token_name(const char *name)
{
	return is_realm_word(name, strlen(name));
}

/* ^[^\s:/]+@realm$ without the length rule */
static bool split_userid(const char *s, size_t n, size_t *ret_at)
{
	const char *at = NULL;
	for (size_t i = 0; i < n; i++)
		if (s[i] == '@')
			at = s + i;
	if (!at || at == s)
		return false;
	for (const char *p = s; p < at; p++)
		if (is_perl_space(*p) || *p == ':' || *p == '/')
			return false;
	if (!is_realm_word(at + 1, n - (size_t)(at + 1 - s)))
		return false;
	*ret_at = (size_t)(at - s);
	return true;
}

bool usercfg_verify_userid(const char *userid, char **ret_name, char **ret_realm)
{
	size_t n = strlen(userid), at;
	if (n < 3 || n > 64 || !split_userid(userid, n, &at))
		return false;
	if (ret_name)
		*ret_name = xstrndup(userid, at);
	if (ret_realm)
		*ret_realm = xstrdup(userid + at + 1);
	return true;
}

bool usercfg_split_tokenid(const char *tokenid, char **ret_userid, char **ret_name)
{
	const char *bang = strrchr(tokenid, '!');
	size_t at;
	if (!bang || !usercfg_verify_token_name(bang + 1) ||
	    !split_userid(tokenid, (size_t)(bang - tokenid), &at))
		return false;
	if (ret_userid)
		*ret_userid = xstrndup(tokenid, (size_t)(bang - tokenid));
	if (ret_name)
		*ret_name = xstrdup(bang + 1);
	return true;
}

bool usercfg_verify_groupid(const char *groupid)
{
	return is_word(groupid, strlen(groupid));
}

bool usercfg_verify_roleid(const char *roleid)
{
	return is_word(roleid, strlen(roleid));
}

bool usercfg_verify_poolid(const char *poolid)
{
	int levels = 0;
	const char *s = poolid;
	for (;;) {
		const char *slash = strchr(s, '/');
		size_t n = slash ? (size_t)(slash - s) : strlen(s);
		if (!is_word(s, n) || ++levels > 3)
			return false;
		if (!slash)
			return true;
		s = slash + 1;
	}
}

bool usercfg_verify_storeid(const char *storeid)
{
	/* ^[a-z][a-z0-9\-\_\.]*[a-z0-9]$ case-insensitively */
	size_t n = strlen(storeid);
	if (n < 2 || !is_alpha(storeid[0]) || !is_alnum(storeid[n - 1]))
		return false;
	return is_word(storeid, n);
}

char *acl_path_normalize(const char *path)
{
	if (!path || !*path)
		return NULL;
	struct strbuf sb = STRBUF_INIT;
	if (path[0] != '/')
		strbuf_addch(&sb, '/');
	for (const char *p = path; *p; p++) {
		if (*p == '/' && sb.len && sb.buf[sb.len - 1] == '/')
			continue;
		if (*p != '/' && !is_alnum(*p) && *p != '.' && *p != '-' && *p != '_') {
			strbuf_release(&sb);
			return NULL;
		}
		strbuf_addch(&sb, *p);
	}
	if (sb.len > 1 && sb.buf[sb.len - 1] == '/')
		sb.buf[--sb.len] = '\0';
	return strbuf_detach(&sb, NULL);
}

int acl_path_cmp(const char *a, const char *b)
{
	/* '/' sorts before every other byte: component-wise order */
	for (;; a++, b++) {
		unsigned ca = (unsigned char)*a, cb = (unsigned char)*b;
		if (ca == cb) {
			if (!ca)
				return 0;
			continue;
		}
		if (!ca || !cb)
			return ca ? 1 : -1;
		if (ca == '/')
			return -1;
		if (cb == '/')
			return 1;
		return ca < cb ? -1 : 1;
	}
}

enum comp_kind {
	C_WORD,  /* [[:alnum:].\-_]+ */
	C_ALNUM, /* [[:alnum:]]+ */
	C_CTRL,  /* [[:alnum:]_\-]+ */
	C_VMID,  /* [1-9][0-9]{2,} */
	C_VLAN,  /* [1-9][0-9]{0,3} */
	C_LIT,   /* literal */
};

struct path_rule {
	const char *lit0;
	int n; /* components after lit0 */
	enum comp_kind kinds[3];
	const char *lit1; /* literal for kinds[0] == C_LIT */
};

static bool comp_ok(enum comp_kind k, const char *s, size_t n, const char *lit)
{
	switch (k) {
	case C_WORD:
		return is_word(s, n);
	case C_ALNUM:
		if (!n)
			return false;
		for (size_t i = 0; i < n; i++)
			if (!is_alnum(s[i]))
				return false;
		return true;
	case C_CTRL:
		if (!n)
			return false;
		for (size_t i = 0; i < n; i++)
			if (!is_alnum(s[i]) && s[i] != '_' && s[i] != '-')
				return false;
		return true;
	case C_VMID:
	case C_VLAN:
		if (n == 0 || s[0] < '1' || s[0] > '9')
			return false;
		if (k == C_VMID ? n < 3 : n > 4)
			return false;
		for (size_t i = 0; i < n; i++)
			if (s[i] < '0' || s[i] > '9')
				return false;
		return true;
	case C_LIT:
		return strlen(lit) == n && strncmp(s, lit, n) == 0;
	}
	return false;
}

bool acl_check_path(const char *path)
{
	static const struct path_rule rules[] = {
	    {"access", 0, {0}, NULL},
	    {"access", 1, {C_LIT}, "groups"},
	    {"access", 2, {C_LIT, C_WORD}, "groups"},
	    {"access", 1, {C_LIT}, "realm"},
	    {"access", 2, {C_LIT, C_WORD}, "realm"},
	    {"nodes", 0, {0}, NULL},
	    {"nodes", 1, {C_WORD}, NULL},
	    {"pool", 0, {0}, NULL},
	    {"pool", 1, {C_WORD}, NULL},
	    {"pool", 2, {C_WORD, C_WORD}, NULL},
	    {"pool", 3, {C_WORD, C_WORD, C_WORD}, NULL},
	    {"sdn", 0, {0}, NULL},
	    {"sdn", 1, {C_LIT}, "controllers"},
	    {"sdn", 2, {C_LIT, C_CTRL}, "controllers"},
	    {"sdn", 1, {C_LIT}, "dns"},
	    {"sdn", 2, {C_LIT, C_ALNUM}, "dns"},
	    {"sdn", 1, {C_LIT}, "fabrics"},
	    {"sdn", 2, {C_LIT, C_ALNUM}, "fabrics"},
	    {"sdn", 1, {C_LIT}, "ipams"},
	    {"sdn", 2, {C_LIT, C_ALNUM}, "ipams"},
	    {"sdn", 1, {C_LIT}, "prefix-lists"},
	    {"sdn", 2, {C_LIT, C_ALNUM}, "prefix-lists"},
	    {"sdn", 1, {C_LIT}, "route-maps"},
	    {"sdn", 2, {C_LIT, C_ALNUM}, "route-maps"},
	    {"sdn", 1, {C_LIT}, "zones"},
	    {"sdn", 2, {C_LIT, C_WORD}, "zones"},
	    {"sdn", 3, {C_LIT, C_WORD, C_WORD}, "zones"},
	    {"storage", 0, {0}, NULL},
	    {"storage", 1, {C_WORD}, NULL},
	    {"vms", 0, {0}, NULL},
	    {"vms", 1, {C_VMID}, NULL},
	    {"mapping", 0, {0}, NULL},
	    {"mapping", 1, {C_WORD}, NULL},
	    {"mapping", 2, {C_WORD, C_WORD}, NULL},
	};
	if (!path || path[0] != '/')
		return false;
	if (streq(path, "/"))
		return true;
	/* split into at most 5 components */
	const char *comp[6];
	size_t len[6];
	int n = 0;
	const char *s = path + 1;
	for (;;) {
		if (n == 6)
			return false;
		const char *slash = strchr(s, '/');
		comp[n] = s;
		len[n] = slash ? (size_t)(slash - s) : strlen(s);
		n++;
		if (!slash)
			break;
		s = slash + 1;
	}
	/* /sdn/zones/<zone>/<vnet>/<vlan> is the one 5-component path */
	if (n == 5) {
		return comp_ok(C_LIT, comp[0], len[0], "sdn") &&
		       comp_ok(C_LIT, comp[1], len[1], "zones") &&
		       comp_ok(C_WORD, comp[2], len[2], NULL) &&
		       comp_ok(C_WORD, comp[3], len[3], NULL) &&
		       comp_ok(C_VLAN, comp[4], len[4], NULL);
	}
	for (size_t r = 0; r < ARRAY_SIZE(rules); r++) {
		const struct path_rule *rule = &rules[r];
		if (rule->n + 1 != n || !comp_ok(C_LIT, comp[0], len[0], rule->lit0))
			continue;
		bool ok = true;
		for (int i = 0; i < rule->n && ok; i++)
			ok = comp_ok(rule->kinds[i], comp[i + 1], len[i + 1],
			             rule->kinds[i] == C_LIT ? rule->lit1 : NULL);
		if (ok)
			return true;
	}
	return false;
}

/* --- text encoding --- */

char *usercfg_encode_text(const char *text)
{
	struct strbuf sb = STRBUF_INIT;
	for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
		if (*p < 0x20 || *p == ':' || *p >= 0x7f)
			strbuf_addf(&sb, "%%%02X", *p);
		else
			strbuf_addch(&sb, *p);
	}
	return strbuf_detach(&sb, NULL);
}

char *usercfg_decode_text(const char *text)
{
	struct strbuf raw = STRBUF_INIT;
	for (const char *p = text; *p; p++) {
		int hi, lo;
		if (*p == '%' && (hi = hex_digit_value(p[1])) >= 0 &&
		    (lo = hex_digit_value(p[2])) >= 0) {
			strbuf_addch(&raw, hi * 16 + lo);
			p += 2;
		} else {
			strbuf_addch(&raw, *p);
		}
	}
	/* %00 would cut the string: treat it like the invalid bytes below */
	struct strbuf out = STRBUF_INIT;
	const unsigned char *s = (const unsigned char *)raw.buf;
	for (size_t i = 0; i < raw.len;) {
		size_t n = s[i] ? utf8_seq_len(s + i, raw.len - i) : 0;
		if (n == 0) {
			strbuf_addstr(&out, "\xef\xbf\xbd");
			i++;
		} else {
			strbuf_add(&out, s + i, n);
			i += n;
		}
	}
	strbuf_release(&raw);
	return strbuf_detach(&out, NULL);
}
