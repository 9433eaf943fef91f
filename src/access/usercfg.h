/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * usercfg: the user.cfg model (users, API tokens, groups, pools, custom roles,
 * ACL entries), its parser and its writer (pve-api.md 4.10).
 *
 * The parser is lenient like PVE's parse_user_config(): invalid lines,
 * members, privileges and ACL subjects are skipped and reported in
 * `warnings`; root@pam is always present afterwards.  The writer reproduces
 * PVE's output byte for byte: sorted users (each followed by its tokens),
 * groups, pools, custom roles, then ACLs in tree order with entries of equal
 * (path, propagate, role list) merged, and the fixed blank-line layout.
 *
 * Built-in roles (privileges.h) are never stored here; role lookups see them
 * first, so a custom role can never shadow one.
 *
 * Pointers returned by the find functions stay valid until the object is
 * removed or the config freed.  All collections are kept sorted bytewise.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct error;
struct strbuf;

#define USERCFG_MAX_SIZE     (4u << 20)
#define USERCFG_MAX_LINE     (1u << 20)
#define USERCFG_MAX_WARNINGS 1000

struct usercfg_token {
	char *name;     /* the part after '!' */
	int64_t expire; /* 0: never */
	bool privsep;
	char *comment; /* decoded, or NULL */
};

struct usercfg_user {
	char *userid;
	bool enable;
	int64_t expire;
	char *firstname, *lastname, *email, *comment, *keys; /* NULL when unset */
	struct usercfg_token **tokens;                       /* sorted by name */
	size_t n_tokens;
};

struct usercfg_group {
	char *groupid;
	char *comment;
	char **members; /* userids, sorted; may name users that do not exist */
	size_t n_members;
};

struct usercfg_pool {
	char *poolid; /* "a", "a/b", "a/b/c" */
	char *comment;
	char **vms; /* decimal vmids, sorted as strings like PVE */
	size_t n_vms;
	char **storage;
	size_t n_storage;
};

struct usercfg_role {
	char *roleid;
	uint64_t privs; /* bits over privileges.h indexes */
};

enum acl_subject {
	ACL_SUBJECT_GROUP,
	ACL_SUBJECT_USER,
	ACL_SUBJECT_TOKEN,
	_ACL_SUBJECT_MAX,
	_ACL_SUBJECT_INVALID = -22,
};

struct usercfg_acl {
	char *path; /* normalised */
	enum acl_subject type;
	char *ugid; /* userid, groupid (without '@') or full token id */
	char *roleid;
	bool propagate;
};

struct usercfg {
	struct usercfg_user **users;
	size_t n_users;
	struct usercfg_group **groups;
	size_t n_groups;
	struct usercfg_pool **pools;
	size_t n_pools;
	struct usercfg_role **roles; /* custom roles only */
	size_t n_roles;
	/* sorted by (path in tree order, type, ugid, roleid), unique on those */
	struct usercfg_acl **acls;
	size_t n_acls;
	char **warnings;
	size_t n_warnings;
};

/* An empty config (not even root@pam). */
struct usercfg *usercfg_new(void);
struct usercfg *usercfg_free(struct usercfg *cfg);
static inline void usercfg_freep(struct usercfg **c)
{
	usercfg_free(*c);
}
#define _cleanup_usercfg_ _cleanup_(usercfg_freep)

/* Fails only for inputs over the size/line limits or with NUL bytes (400). */
int usercfg_parse(const char *data, size_t len, struct usercfg **ret, struct error **err);
/* Appends the file contents to out. */
void usercfg_write(const struct usercfg *cfg, struct strbuf *out);
/* A deep copy (without the warnings). */
struct usercfg *usercfg_dup(const struct usercfg *cfg);

/* --- identifiers (pve-api.md 4.1) --- */
bool usercfg_verify_realm(const char *realm);
/* "name@realm", 3..64 bytes; ret_* (optional, malloc'd) split it. */
bool usercfg_verify_userid(const char *userid, char **ret_name, char **ret_realm);
/* "user@realm!name"; ret_* (optional, malloc'd): the userid and the name. */
bool usercfg_split_tokenid(const char *tokenid, char **ret_userid, char **ret_name);
bool usercfg_verify_token_name(const char *name);
bool usercfg_verify_groupid(const char *groupid);
bool usercfg_verify_roleid(const char *roleid);
bool usercfg_verify_poolid(const char *poolid);
bool usercfg_verify_storeid(const char *storeid);
/* PVE's normalize_path: collapse '//', strip a trailing '/', add a leading
 * one; NULL if empty or with characters outside [A-Za-z0-9._/-]. */
char *acl_path_normalize(const char *path);
/* PVE's check_path: is path one of the ACL paths of the tree (4.6)? */
bool acl_check_path(const char *path);
/* Compares ACL paths in tree order (parents first, siblings sorted). */
int acl_path_cmp(const char *a, const char *b);

/* encode_text/decode_text: %XX for control bytes, ':' and bytes >= 0x7f;
 * decoding replaces invalid UTF-8 with U+FFFD.  Both malloc'd. */
char *usercfg_encode_text(const char *text);
char *usercfg_decode_text(const char *text);

/* --- lookups --- */
struct usercfg_user *usercfg_find_user(const struct usercfg *cfg, const char *userid);
struct usercfg_token *usercfg_find_token(const struct usercfg *cfg, const char *userid,
                                         const char *name);
/* By full token id "user@realm!name". */
struct usercfg_token *usercfg_find_tokenid(const struct usercfg *cfg, const char *tokenid);
struct usercfg_group *usercfg_find_group(const struct usercfg *cfg, const char *groupid);
struct usercfg_pool *usercfg_find_pool(const struct usercfg *cfg, const char *poolid);
struct usercfg_role *usercfg_find_role(const struct usercfg *cfg, const char *roleid);
/* Built-in or custom role; false if neither. */
bool usercfg_role_privs(const struct usercfg *cfg, const char *roleid, uint64_t *ret_privs);
bool usercfg_group_has_member(const struct usercfg_group *g, const char *userid);
/* The pool that holds vmid (decimal string), or NULL. */
struct usercfg_pool *usercfg_find_vm_pool(const struct usercfg *cfg, const char *vmid);
/* Groups userid belongs to, sorted, "a,b" ("" if none); malloc'd. */
char *usercfg_user_groups(const struct usercfg *cfg, const char *userid);

/* --- changes (used inside access_store_update callbacks) --- */
/* Each add fails with -EEXIST (500 "... already exists") or -EINVAL (400). */
int usercfg_add_user(struct usercfg *cfg, const char *userid, struct usercfg_user **ret,
                     struct error **err);
/* Also drops the user's tokens, group memberships and ACL entries (and the
 * token ACL entries). */
bool usercfg_remove_user(struct usercfg *cfg, const char *userid);
int usercfg_add_token(struct usercfg *cfg, const char *userid, const char *name,
                      struct usercfg_token **ret, struct error **err);
bool usercfg_remove_token(struct usercfg *cfg, const char *userid, const char *name);
int usercfg_add_group(struct usercfg *cfg, const char *groupid, struct usercfg_group **ret,
                      struct error **err);
/* Also drops the group's ACL entries. */
bool usercfg_remove_group(struct usercfg *cfg, const char *groupid);
void usercfg_group_add_member(struct usercfg_group *g, const char *userid);
bool usercfg_group_remove_member(struct usercfg_group *g, const char *userid);
/* Creates missing parent pools like the parser does. */
int usercfg_add_pool(struct usercfg *cfg, const char *poolid, struct usercfg_pool **ret,
                     struct error **err);
/* Also drops the ACL entries on /pool/<poolid>. */
bool usercfg_remove_pool(struct usercfg *cfg, const char *poolid);
/* -EEXIST (400) if another pool holds the vm. */
int usercfg_pool_add_vm(struct usercfg *cfg, struct usercfg_pool *p, const char *vmid,
                        struct error **err);
bool usercfg_pool_remove_vm(struct usercfg_pool *p, const char *vmid);
/* Forgets a destroyed guest (PVE's remove_vm_access): drops the ACL entries
 * on /vms/<vmid> (and below) and vmid's pool membership, so a guest created
 * later with the same id inherits neither.  Whether anything changed. */
bool usercfg_forget_vm(struct usercfg *cfg, const char *vmid);
void usercfg_pool_add_storage(struct usercfg_pool *p, const char *storeid);
bool usercfg_pool_remove_storage(struct usercfg_pool *p, const char *storeid);
/* Custom roles only; built-in names are refused (400). */
int usercfg_add_role(struct usercfg *cfg, const char *roleid, struct usercfg_role **ret,
                     struct error **err);
/* Also drops ACL entries naming the role. */
bool usercfg_remove_role(struct usercfg *cfg, const char *roleid);
/* Adds or updates one ACL entry (path is normalised; subject and role are
 * checked for syntax only). */
int usercfg_acl_set(struct usercfg *cfg, const char *path, enum acl_subject type, const char *ugid,
                    const char *roleid, bool propagate, struct error **err);
bool usercfg_acl_remove(struct usercfg *cfg, const char *path, enum acl_subject type,
                        const char *ugid, const char *roleid);
const char *acl_subject_to_string(enum acl_subject t); /* "group", "user", "token" */
