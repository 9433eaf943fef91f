/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Shared between lxc-tmpl.c and lxc-setup*.c: the id map type (the
 * contract's lxc-idmap.h, owned by the config branch; its layout is
 * restated here only until that header is merged) and small helpers.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "lxc-idmap.h"

/* The host id container id 0 of type ('u' or 'g') maps to; false when the
 * map has no such entry (or map is NULL/empty: then *ret is 0). */
static inline bool ct_idmap_root(const struct lxc_idmap *map, char type, uint32_t *ret)
{
	*ret = 0;
	if (!map || map->n == 0)
		return true;
	for (size_t i = 0; i < map->n; i++) {
		const struct lxc_idmap_entry *e = &map->e[i];
		if (e->type == type && e->ct == 0 && e->count > 0) {
			*ret = e->host;
			return true;
		}
	}
	return false;
}

#include <jansson.h>
#include <stddef.h>

struct error;

/* ---- one container's setup (lxc-setup.c) ---- */

struct ct_net {
	unsigned index;
	char name[32];
	char ip[80], gw[80], ip6[80], gw6[80]; /* "" when absent */
};

struct ct {
	int root; /* O_PATH directory fd of the rootfs */
	bool mapped;
	uid_t uid;
	gid_t gid;
	const json_t *conf;
	const char *ostype; /* the plugin's name */
	char version[64];   /* the distribution's version as the plugin reads it */
	double vnum;        /* its leading number (debian 12, centos 8, fedora 41, ...) */
	json_t *os_release; /* key -> string */
	struct ct_net net[32];
	size_t nnet;
	bool unprivileged;
};

const char *ct_conf(const struct ct *ct, const char *key); /* NULL when absent */
unsigned ct_tty_count(const struct ct *ct);
/* nameserver and search domains (from conf, else the host's), space separated */
void ct_dns(const struct ct *ct, char **ret_search, char **ret_ns);
void ct_uuid(char out[37]);
/* split_list: items separated by , ; or blanks; returns a NULL-terminated strv */
char **ct_split_list(const char *s);
bool ct_ip_in_cidr(const char *ip, const char *cidr, int family);
/* "10.0.0.1/24" -> address and dotted netmask; false when not a v4 CIDR (mask 8..32) */
bool ct_ipv4_cidr(const char *cidr, char *addr, size_t addrlen, char *mask, size_t masklen);

double ct_rand(void);                         /* [0, 1): the crontab minutes */
const char *ct_hostname(const struct ct *ct); /* conf's, or "localhost" */
int ct_set_hostname(struct ct *ct, struct error **err);
int ct_set_dns(struct ct *ct, struct error **err);
int ct_set_timezone(struct ct *ct, struct error **err);
bool ct_valid_hash(const char *h);
int ct_set_authorized_keys(struct ct *ct, const char *keys, struct error **err);
int ct_randomize_crontab(struct ct *ct, struct error **err);
int ct_set_user_password(struct ct *ct, const char *user, const char *hash, struct error **err);
int ct_securetty(struct ct *ct, const char *const *add, struct error **err);
int ct_remove_lxc_name_from_hosts(struct ct *ct, struct error **err);
int ct_container_getty(struct ct *ct, struct error **err);
int ct_fixup_old_getty(struct ct *ct, struct error **err);
/* preset: "name=0|1" entries overriding/adding to the defaults, NULL-terminated */
int ct_systemd_preset(struct ct *ct, const char *const *extra, struct error **err);
int ct_systemd_disable_static_units(struct ct *ct, struct error **err);
int ct_systemd_networkd(struct ct *ct, struct error **err);
int ct_update_etc_hosts(struct ct *ct, const char *hostip, const char *hostname, const char *search,
                        struct error **err);

/* ---- the file layer (lxc-setup-fs.c), paths absolute inside the CT ---- */

bool ct_is_file(struct ct *ct, const char *path);       /* -f: follows links, inside */
bool ct_is_dir(struct ct *ct, const char *path);        /* -d */
bool ct_is_symlink(struct ct *ct, const char *path);    /* -l */
bool ct_is_executable(struct ct *ct, const char *path); /* -x of a regular file */
bool ct_exists(struct ct *ct, const char *path);        /* -e */
bool ct_is_ignored(struct ct *ct, const char *path);    /* .pve-ignore.<name> beside it */
/* The file's content (NUL-terminated); -ENOENT (no *err) when missing. */
int ct_read(struct ct *ct, const char *path, char **ret, struct error **err);
/* The first line without its newline; NULL when missing or empty. */
char *ct_read_firstline(struct ct *ct, const char *path);
char *ct_readlink(struct ct *ct, const char *path); /* NULL: not a link */
int ct_stat(struct ct *ct, const char *path, struct stat *ret);
/* The names in a directory, sorted (at most 4096); NULL when none. */
char **ct_list_dir(struct ct *ct, const char *path);
/* Atomic replace; mode 0: 0644.  Owner: the CT's root, or own_uid/own_gid
 * when ct_write_owned() is used. */
int ct_write(struct ct *ct, const char *path, const char *data, unsigned mode, struct error **err);
int ct_write_owned(struct ct *ct, const char *path, const char *data, unsigned mode, uid_t uid,
                   gid_t gid, struct error **err);
int ct_unlink(struct ct *ct, const char *path, struct error **err); /* missing: 0 */
int ct_mkdir(struct ct *ct, const char *path, unsigned mode, struct error **err);
int ct_make_path(struct ct *ct, const char *path, struct error **err);
int ct_symlink(struct ct *ct, const char *target, const char *path, struct error **err);
int ct_rename(struct ct *ct, const char *from, const char *to, struct error **err);

enum ct_modify_flags {
	CT_MODIFY_DELETE = 1 << 0,  /* remove the file when only an empty section remains */
	CT_MODIFY_REPLACE = 1 << 1, /* no section yet: the file becomes the section */
	CT_MODIFY_PREPEND = 1 << 2, /* no section yet: before the content (else after) */
};
/* PVE's ct_modify_file: the "# --- BEGIN PVE ---" section of the file. */
int ct_modify_file(struct ct *ct, const char *path, const char *data, unsigned flags, unsigned mode,
                   struct error **err);
/* data without the BEGIN/END PVE sections (malloc'd) */
char *ct_remove_pve_sections(const char *data);

/* ---- the distributions ---- */

int ct_debian_setup_init(struct ct *ct, struct error **err);
int ct_debian_setup_network(struct ct *ct, struct error **err);
int ct_debian_snakeoil(struct ct *ct, struct error **err);
int ct_alpine_template_fixup(struct ct *ct, struct error **err);
int ct_alpine_setup_init(struct ct *ct, struct error **err);
int ct_alpine_setup_network(struct ct *ct, struct error **err);
int ct_centos_template_fixup(struct ct *ct, struct error **err);
int ct_centos_setup_init(struct ct *ct, struct error **err);
int ct_centos_set_hostname(struct ct *ct, struct error **err);
int ct_centos_setup_network(struct ct *ct, struct error **err);
int ct_fedora_template_fixup(struct ct *ct, struct error **err);
int ct_fedora_setup_init(struct ct *ct, struct error **err);
int ct_fedora_setup_network(struct ct *ct, struct error **err);
int ct_suse_template_fixup(struct ct *ct, struct error **err);
int ct_suse_setup_init(struct ct *ct, struct error **err);
int ct_suse_setup_network(struct ct *ct, struct error **err);
/* "... release 8.4 ..." -> 8.4; *ok false when there is no number */
double ct_redhat_version(const char *release, bool *ok);
