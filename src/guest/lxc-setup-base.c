/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * What every distribution shares (PVE's Base plugin): /etc/hosts and
 * hostname, resolv.conf, timezone, securetty, getty units and systemd
 * presets, systemd-networkd files, root's password and ssh keys, crontab
 * minutes.  Through the file layer of lxc-setup-fs.c only.
 */
#include "common.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "lxc-setup-internal.h"
#include "lxc-setup.h"
#include "strbuf.h"
#include "strv.h"
#include "xalloc.h"

static char *join_list(const char *s, const char *sep)
{
	_cleanup_strv_free_ char **v = ct_split_list(s);
	struct strbuf sb = STRBUF_INIT;
	for (size_t i = 0; v && v[i]; i++)
		strbuf_addf(&sb, "%s%s", i ? sep : "", v[i]);
	return strbuf_detach(&sb, NULL);
}

/* ---- what every distribution shares (PVE's Base) ---- */

static void primary_ips(const struct ct *ct, char *v4, size_t l4, char *v6, size_t l6)
{
	*v4 = *v6 = '\0';
	for (size_t i = 0; i < ct->nnet; i++) {
		const struct ct_net *n = &ct->net[i];
		if (n->index != 0)
			continue;
		if (*n->ip && !streq(n->ip, "dhcp") && !streq(n->ip, "manual"))
			snprintf(v4, l4, "%.*s", (int)strcspn(n->ip, "/"), n->ip);
		if (*n->ip6 && !streq(n->ip6, "auto") && !streq(n->ip6, "dhcp") &&
		    !streq(n->ip6, "manual"))
			snprintf(v6, l6, "%.*s", (int)strcspn(n->ip6, "/"), n->ip6);
	}
}

/* a line starting (after blanks) with prefix followed by a blank */
static bool has_line_prefix(const char *data, const char *prefix)
{
	size_t n = strlen(prefix);
	for (const char *l = data; l && *l;) {
		const char *q = l + strspn(l, " \t");
		if (!strncmp(q, prefix, n) && (q[n] == ' ' || q[n] == '\t'))
			return true;
		const char *nl = strchr(l, '\n');
		l = nl ? nl + 1 : NULL;
	}
	return false;
}

int ct_update_etc_hosts(struct ct *ct, const char *hostip, const char *hostname, const char *search,
                        struct error **err)
{
	static const char lo4[] = "127.0.0.1 localhost.localnet localhost\n";
	static const char lo6[] = "::1 localhost.localnet localhost\n";
	_cleanup_free_ char *namepart = xstrndup(hostname, strcspn(hostname, "."));
	struct strbuf names = STRBUF_INIT, sec = STRBUF_INIT;
	int r;

	if (ct_is_ignored(ct, "/etc/hosts"))
		return 0;
	if (strchr(hostname, '.')) {
		strbuf_addf(&names, "%s %s", hostname, namepart);
	} else {
		_cleanup_strv_free_ char **d = ct_split_list(search);
		for (size_t i = 0; d && d[i]; i++)
			strbuf_addf(&names, "%s.%s ", hostname, d[i]);
		strbuf_addstr(&names, hostname);
	}
	if (ct_is_file(ct, "/etc/hosts")) {
		_cleanup_free_ char *data = NULL;
		r = ct_read(ct, "/etc/hosts", &data, err);
		if (r < 0)
			goto out;
		_cleanup_free_ char *rest = ct_remove_pve_sections(data);
		if (!has_line_prefix(rest, "127.0.0.1"))
			strbuf_addstr(&sec, lo4);
		if (!has_line_prefix(rest, "::1"))
			strbuf_addstr(&sec, lo6);
	} else {
		strbuf_addf(&sec, "%s%s", lo4, lo6);
	}
	if (hostip)
		strbuf_addf(&sec, "%s %s\n", hostip, names.buf);
	else if (!streq(namepart, "localhost"))
		strbuf_addf(&sec, "127.0.1.1 %s\n", names.buf);
	else
		strbuf_addf(&sec, "127.0.1.1 %s\n", namepart);
	r = ct_modify_file(ct, "/etc/hosts", sec.buf, 0, 0, err);
out:
	strbuf_release(&names);
	strbuf_release(&sec);
	return r;
}

const char *ct_hostname(const struct ct *ct)
{
	const char *h = ct_conf(ct, "hostname");
	return h && *h ? h : "localhost";
}

int ct_set_hostname(struct ct *ct, struct error **err)
{
	const char *hostname = ct_hostname(ct);
	char v4[64], v6[64];
	_cleanup_free_ char *search = NULL, *ns = NULL;
	primary_ips(ct, v4, sizeof(v4), v6, sizeof(v6));
	ct_dns(ct, &search, &ns);
	int r = ct_update_etc_hosts(ct, *v4 ? v4 : *v6 ? v6 : NULL, hostname, search, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *line = xasprintf("%.*s\n", (int)strcspn(hostname, "."), hostname);
	return ct_write(ct, "/etc/hostname", line, 0, err);
}

int ct_set_dns(struct ct *ct, struct error **err)
{
	_cleanup_free_ char *search = NULL, *ns = NULL;
	struct strbuf sb = STRBUF_INIT;
	ct_dns(ct, &search, &ns);
	if (search && *search) {
		_cleanup_free_ char *s = join_list(search, " ");
		strbuf_addf(&sb, "search %s\n", s);
	}
	_cleanup_strv_free_ char **v = ct_split_list(ns);
	for (size_t i = 0; v && v[i]; i++)
		strbuf_addf(&sb, "nameserver %s\n", v[i]);
	int r = ct_modify_file(ct, "/etc/resolv.conf", sb.buf, CT_MODIFY_REPLACE, 0, err);
	strbuf_release(&sb);
	return r;
}

/* a zoneinfo name: letters, digits, "/_-+", no "." component */
static bool valid_zone(const char *z)
{
	if (!*z || *z == '/' || strstr(z, ".."))
		return false;
	for (const char *p = z; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || strchr("/_-+", *p)))
			return false;
	return true;
}

int ct_set_timezone(struct ct *ct, struct error **err)
{
	const char *zone = ct_conf(ct, "timezone");
	_cleanup_free_ char *path = NULL, *name = NULL;
	if (!zone)
		return 0;
	if (streq(zone, "host")) {
		char buf[PATH_MAX];
		const char *pfx = "/usr/share/zoneinfo/";
		if (!realpath("/etc/localtime", buf) || !str_startswith(buf, pfx) ||
		    !valid_zone(buf + strlen(pfx)))
			return 0; /* a host without a named zone: nothing to give */
		path = xstrdup(buf);
		name = xstrdup(buf + strlen(pfx));
	} else {
		if (!valid_zone(zone))
			return error_set(err, -EINVAL, 400, "invalid timezone '%s'", zone);
		path = xasprintf("/usr/share/zoneinfo/%s", zone);
		name = xstrdup(zone);
	}
	if (!ct_is_file(ct, path))
		return 0; /* PVE warns: the container does not have the zone */
	_cleanup_free_ char *cur = ct_readlink(ct, "/etc/localtime");
	if (!cur || !streq(cur, path)) {
		_cleanup_free_ char *tmp =
		    xasprintf("/etc/localtime.%d.new.tmpfile", (int)getpid());
		(void)ct_unlink(ct, tmp, NULL);
		int r = ct_symlink(ct, path, tmp, err);
		if (r == 0 && ct_is_symlink(ct, tmp))
			r = ct_rename(ct, tmp, "/etc/localtime", err);
		if (r < 0)
			return r;
	}
	if (ct_is_file(ct, "/etc/timezone")) {
		_cleanup_free_ char *line = xasprintf("%s\n", name);
		return ct_write(ct, "/etc/timezone", line, 0, err);
	}
	return 0;
}

static const char *devttydir(const struct ct *ct)
{
	/* Debian and Alpine have no /dev/lxc/, nor has an unprivileged CT */
	if (streq(ct->ostype, "debian") || streq(ct->ostype, "devuan") ||
	    streq(ct->ostype, "ubuntu") || streq(ct->ostype, "alpine") || ct->unprivileged)
		return "";
	return "lxc/";
}

int ct_securetty(struct ct *ct, const char *const *add, struct error **err)
{
	static const char *const def[] = {"console", "tty1", "tty2", "tty3", "tty4", NULL};
	_cleanup_free_ char *data = NULL;
	if (!ct_is_file(ct, "/etc/securetty"))
		return 0; /* without it root may log in everywhere */
	int r = ct_read(ct, "/etc/securetty", &data, err);
	if (r < 0)
		return r;
	struct strbuf sb = STRBUF_INIT;
	size_t n = strlen(data);
	if (n && data[n - 1] == '\n')
		n--;
	strbuf_add(&sb, data, n);
	strbuf_addstr(&sb, "\n");
	for (const char *const *d = add ? add : def; *d; d++) {
		_cleanup_free_ char *dev = xasprintf("%s%s", add ? "" : devttydir(ct), *d);
		bool found = false;
		for (const char *l = sb.buf; l && *l && !found;) {
			size_t dl = strlen(dev);
			if (!strncmp(l, dev, dl)) {
				const char *q = l + dl;
				q += strspn(q, " \t\r\f\v");
				found = *q == '\n' || !*q;
			}
			const char *nl = strchr(l, '\n');
			l = nl ? nl + 1 : NULL;
		}
		if (!found)
			strbuf_addf(&sb, "%s\n", dev);
	}
	r = ct_write(ct, "/etc/securetty", sb.buf, 0, err);
	strbuf_release(&sb);
	return r;
}

int ct_remove_lxc_name_from_hosts(struct ct *ct, struct error **err)
{
	_cleanup_free_ char *data = NULL;
	if (!ct_exists(ct, "/etc/hosts"))
		return 0;
	int r = ct_read(ct, "/etc/hosts", &data, err);
	if (r < 0)
		return r == -ENOENT ? 0 : r;
	struct strbuf sb = STRBUF_INIT;
	bool any = false;
	for (const char *l = data; *l;) {
		const char *nl = strchr(l, '\n');
		size_t len = nl ? (size_t)(nl - l) : strlen(l);
		bool drop = false;
		if (len > 9 && !strncmp(l, "127.0.1.1", 9)) {
			size_t ws = strspn(l + 9, " \t\r\f\v");
			drop = ws > 0 && len == 9 + ws + 8 && !strncmp(l + 9 + ws, "LXC_NAME", 8);
		}
		if (!drop) {
			strbuf_add(&sb, l, len);
			strbuf_addstr(&sb, "\n");
			any = true;
		}
		l = nl ? nl + 1 : l + len;
	}
	/* Perl's join of split: trailing empty lines gone, one newline */
	while (sb.len > 1 && sb.buf[sb.len - 1] == '\n' && sb.buf[sb.len - 2] == '\n')
		sb.buf[--sb.len] = '\0';
	if (!any)
		strbuf_addstr(&sb, "\n");
	r = ct_write(ct, "/etc/hosts", sb.buf, 0, err);
	strbuf_release(&sb);
	return r;
}

static const char *systemd_unit_dir(struct ct *ct)
{
	return ct_is_executable(ct, "/lib/systemd/systemd") ? "/lib/systemd/system"
	                                                    : "/usr/lib/systemd/system";
}

/* s/^from$/to/m on the first matching line; true when replaced */
static bool replace_line(char **text, const char *from, const char *to)
{
	size_t fl = strlen(from);
	for (char *l = *text; l && *l;) {
		char *nl = strchr(l, '\n');
		size_t len = nl ? (size_t)(nl - l) : strlen(l);
		if (len == fl && !strncmp(l, from, fl)) {
			char *n = xasprintf("%.*s%s%s", (int)(l - *text), *text, to, l + len);
			free(*text);
			*text = n;
			return true;
		}
		l = nl ? nl + 1 : NULL;
	}
	return false;
}

int ct_fixup_old_getty(struct ct *ct, struct error **err)
{
	const char *dir = systemd_unit_dir(ct);
	_cleanup_free_ char *getty = xasprintf("%s/getty@.service", dir);
	_cleanup_free_ char *cgetty = xasprintf("%s/container-getty@.service", dir);
	_cleanup_free_ char *raw = NULL;
	if (!ct_is_file(ct, getty))
		return 0;
	int r = ct_read(ct, getty, &raw, err);
	if (r < 0)
		return r;
	bool changed = ct_is_file(ct, cgetty) ? replace_line(&raw, "ConditionPathExists=/dev/tty",
	                                                     "ConditionPathExists=/dev/tty0")
	                                      : replace_line(&raw, "ConditionPathExists=/dev/tty0",
	                                                     "ConditionPathExists=/dev/tty");
	return changed ? ct_write(ct, getty, raw, 0, err) : 0;
}

/* every "pts/%I" and "lxc/tty%I" replaced by to; true when any was */
static bool replace_tty(char **text, const char *to)
{
	struct strbuf sb = STRBUF_INIT;
	bool any = false;
	for (const char *p = *text; *p;) {
		if (!strncmp(p, "pts/%I", 6) || !strncmp(p, "lxc/tty%I", 9)) {
			strbuf_addstr(&sb, to);
			p += p[0] == 'p' ? 6 : 9;
			any = true;
		} else {
			strbuf_add(&sb, p++, 1);
		}
	}
	free(*text);
	*text = strbuf_detach(&sb, NULL);
	return any;
}

int ct_container_getty(struct ct *ct, struct error **err)
{
	const char *dir = systemd_unit_dir(ct);
	_cleanup_free_ char *tmpl = xasprintf("%s/container-getty@.service", dir);
	_cleanup_free_ char *raw = NULL;
	int r;
	/* without container-getty@ PVE looks for a getty@.service relative to
	 * "/", which no distribution has: nothing to do then */
	if (!ct_is_file(ct, tmpl))
		return 0;
	r = ct_read(ct, tmpl, &raw, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *tty = xasprintf("%stty%%I", devttydir(ct));
	if (replace_tty(&raw, tty) && (r = ct_write(ct, tmpl, raw, 0, err)) < 0)
		return r;
	unsigned count = ct_tty_count(ct);
	for (unsigned i = 1; i < 7; i++) {
		_cleanup_free_ char *a =
		    xasprintf("/etc/systemd/system/getty.target.wants/getty@tty%u.service", i);
		_cleanup_free_ char *b = xasprintf(
		    "/etc/systemd/system/getty.target.wants/container-getty@%u.service", i);
		if ((r = ct_unlink(ct, a, err)) < 0 || (r = ct_unlink(ct, b, err)) < 0)
			return r;
		if (i <= count && (r = ct_symlink(ct, tmpl, b, err)) < 0)
			return r;
	}
	return ct_unlink(ct, "/etc/systemd/system/getty.target", err);
}

int ct_systemd_preset(struct ct *ct, const char *const *extra, struct error **err)
{
	struct {
		char name[64];
		bool on;
	} p[16] = {
	    {"sys-kernel-config.mount", false},
	    {"sys-kernel-debug.mount", false},
	    {"getty@.service", false},
	    {"container-getty@.service", true},
	};
	size_t n = 4;
	for (const char *const *e = extra; e && *e; e++) {
		size_t kl = strcspn(*e, "=");
		bool on = (*e)[kl] == '=' && streq(*e + kl + 1, "1");
		size_t i;
		for (i = 0; i < n; i++)
			if (strlen(p[i].name) == kl && !strncmp(p[i].name, *e, kl))
				break;
		if (i == n && n < ARRAY_SIZE(p))
			snprintf(p[n++].name, sizeof(p[0].name), "%.*s", (int)kl, *e);
		if (i < ARRAY_SIZE(p))
			p[i].on = on;
	}
	for (size_t i = 1; i < n; i++) /* sorted by name, bytewise */
		for (size_t j = i; j > 0 && strcmp(p[j - 1].name, p[j].name) > 0; j--) {
			__typeof__(p[0]) t = p[j];
			p[j] = p[j - 1];
			p[j - 1] = t;
		}
	struct strbuf sb = STRBUF_INIT;
	strbuf_addstr(&sb, "# Added by PVE at create-time for first-boot configuration.\n");
	for (size_t i = 0; i < n; i++)
		strbuf_addf(&sb, "%s %s\n", p[i].on ? "enable" : "disable", p[i].name);
	int r = ct_make_path(ct, "/etc/systemd/system-preset", err);
	if (r == 0)
		r = ct_write(ct, "/etc/systemd/system-preset/00-pve.preset", sb.buf, 0, err);
	strbuf_release(&sb);
	return r;
}

int ct_systemd_disable_static_units(struct ct *ct, struct error **err)
{
	static const char *const units[] = {"sys-kernel-config.mount", "sys-kernel-debug.mount"};
	for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
		_cleanup_free_ char *p = xasprintf("/etc/systemd/system/%s", units[i]);
		int r = ct_is_file(ct, p) ? 0 : ct_symlink(ct, "/dev/null", p, err);
		if (r < 0)
			return r;
	}
	return 0;
}

int ct_systemd_networkd(struct ct *ct, struct error **err)
{
	static const char *const modes[] = {"no", "ipv4", "ipv6", "yes"};
	for (size_t i = 0; i < ct->nnet; i++) {
		const struct ct_net *d = &ct->net[i];
		if (!*d->name)
			continue;
		struct strbuf sb = STRBUF_INIT, routes = STRBUF_INIT;
		unsigned dhcp = 0;
		bool v4 = false, v6 = false;
		const char *ra = "false";
		strbuf_addf(&sb,
		            "[Match]\nName = %s\n\n[Network]\nDescription = Interface %s "
		            "autoconfigured by PVE\n",
		            d->name, d->name);
		if (*d->ip) {
			if (streq(d->ip, "dhcp"))
				dhcp |= 1;
			else if (!streq(d->ip, "manual")) {
				v4 = true;
				strbuf_addf(&sb, "Address = %s\n", d->ip);
			}
		}
		if (*d->gw) {
			strbuf_addf(&sb, "Gateway = %s\n", d->gw);
			if (v4 && !ct_ip_in_cidr(d->gw, d->ip, 4))
				strbuf_addf(&routes,
				            "\n[Route]\nDestination = %s/32\nScope = link\n",
				            d->gw);
		}
		if (*d->ip6) {
			if (streq(d->ip6, "dhcp")) {
				dhcp |= 2;
				ra = "true";
			} else if (streq(d->ip6, "auto")) {
				ra = "true";
			} else if (!streq(d->ip6, "manual")) {
				v6 = true;
				strbuf_addf(&sb, "Address = %s\n", d->ip6);
			}
		}
		if (*d->gw6) {
			ra = "false";
			strbuf_addf(&sb, "Gateway = %s\n", d->gw6);
			if (v6 && !ct_ip_in_cidr(d->gw6, d->ip6, 6) &&
			    !ct_ip_in_cidr(d->gw6, "fe80::/10", 6))
				strbuf_addf(&routes,
				            "\n[Route]\nDestination = %s/128\nScope = link\n",
				            d->gw6);
		}
		strbuf_addf(&sb, "DHCP = %s\nIPv6AcceptRA = %s\n%s", modes[dhcp], ra, routes.buf);
		_cleanup_free_ char *fn = xasprintf("/etc/systemd/network/%s.network", d->name);
		int r = ct_make_path(ct, "/etc/systemd/network", err);
		if (r == 0)
			r = ct_write(ct, fn, sb.buf, 0, err);
		strbuf_release(&sb);
		strbuf_release(&routes);
		if (r < 0)
			return r;
	}
	return 0;
}

/* One line of passwd or shadow with user's password field (and, for
 * shadow, the day of the last change) replaced. */
static int replace_pw(struct ct *ct, const char *file, const char *user, const char *epw,
                      bool shadow, struct error **err)
{
	_cleanup_free_ char *data = NULL;
	struct stat st;
	int r = ct_read(ct, file, &data, err);
	if (r < 0)
		return r == -ENOENT ? 0 : r;
	if ((r = ct_stat(ct, file, &st)) < 0)
		return error_set(err, r, 500, "unable to stat '%s' in the container", file);
	size_t ul = strlen(user);
	long days = (long)(time(NULL) / 86400);
	struct strbuf sb = STRBUF_INIT;
	for (const char *l = data; *l;) {
		const char *nl = strchr(l, '\n');
		size_t len = nl ? (size_t)(nl - l) + 1 : strlen(l);
		const char *f1 = l + ul + 1; /* after "user:" */
		const char *e1 = len > ul && !strncmp(l, user, ul) && l[ul] == ':'
		                     ? memchr(f1, ':', len - ul - 1)
		                     : NULL;
		const char *e2 =
		    e1 && shadow ? memchr(e1 + 1, ':', len - (size_t)(e1 + 1 - l)) : e1;
		if (e1 && e2 && !memchr(f1, '\n', (size_t)(e2 - f1))) {
			if (shadow)
				strbuf_addf(&sb, "%s:%s:%ld:", user, epw, days);
			else
				strbuf_addf(&sb, "%s:%s:", user, epw);
			strbuf_add(&sb, e2 + 1, len - (size_t)(e2 + 1 - l));
		} else {
			strbuf_add(&sb, l, len);
		}
		l += len;
	}
	r = ct_write_owned(ct, file, sb.buf, st.st_mode & 07777, st.st_uid, st.st_gid, err);
	strbuf_release(&sb);
	return r;
}

/* A crypt(3) hash as PVE accepts it ($1$, $2a$, $5$, $6$ ...), or "*". */
bool ct_valid_hash(const char *h)
{
	if (streq(h, "*"))
		return true;
	regex_t re;
	if (regcomp(&re, "^\\$(1|2[axy]?|5|6)\\$[a-zA-Z0-9./]{1,16}\\$[a-zA-Z0-9./]+$",
	            REG_EXTENDED | REG_NOSUB))
		return false;
	bool ok = regexec(&re, h, 0, NULL, 0) == 0;
	regfree(&re);
	return ok;
}

int ct_set_user_password(struct ct *ct, const char *user, const char *hash, struct error **err)
{
	int r;
	if (!ct_valid_hash(hash))
		return error_set(err, -EINVAL, 400, "invalid password hash");
	if (!ct_is_file(ct, "/etc/passwd"))
		return 0;
	if (ct_is_file(ct, "/etc/shadow")) {
		if ((r = replace_pw(ct, "/etc/shadow", user, hash, true, err)) < 0)
			return r;
		return replace_pw(ct, "/etc/passwd", user, "x", false, err);
	}
	return replace_pw(ct, "/etc/passwd", user, hash, false, err);
}

int ct_set_authorized_keys(struct ct *ct, const char *keys, struct error **err)
{
	_cleanup_free_ char *home = xstrdup("/root/");
	_cleanup_free_ char *pw = NULL;
	int r;
	if (ct_is_file(ct, "/etc/passwd") && ct_read(ct, "/etc/passwd", &pw, NULL) == 0) {
		for (char *save = NULL, *l = strtok_r(pw, "\n", &save); l;
		     l = strtok_r(NULL, "\n", &save)) {
			if (!str_startswith(l, "root:"))
				continue;
			char *f = l;
			for (int i = 0; i < 5 && f; i++) {
				f = strchr(f, ':');
				f = f ? f + 1 : NULL;
			}
			char *e = f ? strchr(f, ':') : NULL;
			if (e) {
				free(home);
				home = xstrndup(f, (size_t)(e - f));
				break;
			}
		}
	}
	if (!ct_is_dir(ct, home) && !ct_is_symlink(ct, home))
		return error_set(err, -ENOENT, 500, "home directory '%s' of root does not exist!",
		                 home);
	_cleanup_free_ char *ssh = xasprintf("%s/.ssh", home);
	if (!ct_is_dir(ct, ssh) && (r = ct_mkdir(ct, ssh, 0700, err)) < 0)
		return r;
	_cleanup_free_ char *ak = xasprintf("%s/.ssh/authorized_keys", home);
	return ct_modify_file(ct, ak, keys, 0, 0600, err);
}

static bool crontab_name_ok(const char *n)
{
	if (!*n)
		return false;
	for (const char *p = n; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '-' || *p == '_'))
			return false;
	return true;
}

/* root's cron jobs at a random minute, so the containers of one host do
 * not all run theirs at once */
int ct_randomize_crontab(struct ct *ct, struct error **err)
{
	_cleanup_strv_free_ char **files = NULL;
	regex_t re;
	int r = 0;

	if (ct_is_file(ct, "/etc/crontab"))
		strv_extend(&files, "/etc/crontab");
	_cleanup_strv_free_ char **names = ct_list_dir(ct, "/etc/cron.d");
	for (size_t i = 0; names && names[i]; i++)
		if (crontab_name_ok(names[i]))
			strv_push(&files, xasprintf("/etc/cron.d/%s", names[i]));
	if (regcomp(&re,
	            "^[0-9]+([[:space:]]+[^[:space:]]+[[:space:]]+[^[:space:]]+[[:space:]]+[^[:"
	            "space:]]+[[:space:]]+[^[:space:]]+[[:space:]]+root[[:space:]]+[^[:space:]].*)"
	            "$",
	            REG_EXTENDED))
		return error_set(err, -EINVAL, 500, "internal error: crontab pattern");
	for (size_t i = 0; files && files[i] && r == 0; i++) {
		_cleanup_free_ char *data = NULL;
		if ((r = ct_read(ct, files[i], &data, err)) < 0)
			break;
		struct strbuf sb = STRBUF_INIT;
		/* split(/\n/): trailing empty lines dropped */
		size_t len = strlen(data);
		while (len && data[len - 1] == '\n')
			data[--len] = '\0';
		for (char *l = len ? data : NULL; l;) {
			char *e = strchr(l, '\n');
			if (e)
				*e = '\0';
			regmatch_t m[2];
			if (regexec(&re, l, 2, m, 0) == 0)
				strbuf_addf(&sb, "%d%s\n", (int)(ct_rand() * 59), l + m[1].rm_so);
			else
				strbuf_addf(&sb, "%s\n", l);
			l = e ? e + 1 : NULL;
		}
		r = ct_write(ct, files[i], sb.buf, 0, err);
		strbuf_release(&sb);
	}
	regfree(&re);
	return r;
}
