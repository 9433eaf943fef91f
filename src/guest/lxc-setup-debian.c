/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Debian, Devuan and Alpine: ifupdown's /etc/network/interfaces (its
 * other stanzas and attributes kept, ours rewritten), sysvinit's inittab,
 * and Alpine's OpenRC links -- as PVE's Debian and Alpine plugins write
 * them.
 */
#include "common.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "lxc-setup-internal.h"
#include "strbuf.h"
#include "strv.h"
#include "xalloc.h"

/* "12", "3.13.2": at least maj.min */
static bool at_least(const char *v, unsigned maj, unsigned min)
{
	char *end;
	if (!v || *v < '0' || *v > '9')
		return false;
	unsigned long a = strtoul(v, &end, 10);
	if (*end == '.' && end[1] >= '0' && end[1] <= '9') {
		unsigned long b = strtoul(end + 1, NULL, 10);
		return maj < a || (maj == a && min <= b);
	}
	return maj < a || (maj == a && min == 0);
}

/* a line of inittab: "<digits>:<digits>*:<no colon>*:...getty..." */
static bool inittab_getty(const char *l, bool alpine)
{
	l += strspn(l, " \t");
	if (alpine) {
		if (strncmp(l, "tty", 3))
			return false;
		l += 3;
	}
	size_t n = strspn(l, "0123456789");
	if (!n || l[n] != ':')
		return false;
	l += n + 1;
	l += strspn(l, "0123456789");
	if (*l != ':')
		return false;
	l = strchr(l + 1, ':');
	return l && strstr(l, "getty");
}

static int write_inittab(struct ct *ct, bool alpine, struct error **err)
{
	_cleanup_free_ char *data = NULL;
	if (!ct_is_file(ct, "/etc/inittab"))
		return 0;
	int r = ct_read(ct, "/etc/inittab", &data, err);
	if (r < 0)
		return r;
	unsigned count = ct_tty_count(ct);
	struct strbuf sb = STRBUF_INIT;
	size_t len = strlen(data);
	while (len && data[len - 1] == '\n')
		data[--len] = '\0';
	for (char *l = len ? data : NULL; l;) {
		char *e = strchr(l, '\n');
		if (e)
			*e = '\0';
		const char *t = l + strspn(l, " \t");
		bool power = !alpine && t[0] == 'p' && t[1] && strchr("fno0", t[1]) && t[2] == ':';
		if (!inittab_getty(l, alpine) && !power)
			strbuf_addf(&sb, "%s\n", l);
		l = e ? e + 1 : NULL;
	}
	if (!sb.len)
		strbuf_addstr(&sb, "\n");
	if (!alpine)
		strbuf_addstr(&sb, "p0::powerfail:/sbin/init 0\n");
	for (unsigned id = 1; id <= count; id++) {
		if (id == 7) /* X11's */
			continue;
		if (alpine)
			strbuf_addf(&sb, "tty%u::respawn:/sbin/getty 38400 tty%u\n", id, id);
		else if (ct->vnum < 7)
			strbuf_addf(&sb, "%u:%s:respawn:/sbin/getty -L 38400 tty%u\n", id,
			            id == 1 ? "2345" : "23", id);
		else
			strbuf_addf(&sb, "%u:%s:respawn:/sbin/getty --noclear 38400 tty%u\n", id,
			            id == 1 ? "2345" : "23", id);
	}
	r = ct_write(ct, "/etc/inittab", sb.buf, 0, err);
	strbuf_release(&sb);
	return r;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && streq(s + a - b, suffix);
}

int ct_debian_setup_init(struct ct *ct, struct error **err)
{
	_cleanup_free_ char *init = ct_readlink(ct, "/sbin/init");
	int r;
	if (init && ends_with(init, "/systemd")) {
		if ((r = ct_container_getty(ct, err)) < 0)
			return r;
		if (streq(ct->ostype, "debian") && at_least(ct->version, 12, 0)) {
			/* first boot only; Debian uses ifupdown, not networkd */
			static const char *const x[] = {"systemd-networkd.service=0", NULL};
			if ((r = ct_systemd_preset(ct, x, err)) < 0)
				return r;
		}
	}
	return write_inittab(ct, false, err);
}

static const char snakeoil_unit[] =
    "[Unit]\n"
    "Description=\"Regenerate pre-generated snakeoil certificate and key-pair once\"\n"
    "ConditionPathExists=/etc/ssl/certs/ssl-cert-snakeoil.pem\n"
    "ConditionFirstBoot=yes\n"
    "Wants=first-boot-complete.target\n"
    "Before=first-boot-complete.target\n"
    "\n"
    "[Service]\n"
    "Type=oneshot\n"
    "ExecStart=make-ssl-cert -f generate-default-snakeoil\n";

/* A template's pre-generated snakeoil key would be the same in every
 * container: regenerated on first boot, and the shipped key removed. */
int ct_debian_snakeoil(struct ct *ct, struct error **err)
{
	static const char key[] = "/etc/ssl/private/ssl-cert-snakeoil.key";
	static const char unit[] = "/etc/systemd/system/proxmox-regenerate-snakeoil.service";
	if (!ct_is_file(ct, key))
		return 0;
	_cleanup_free_ char *init = ct_readlink(ct, "/sbin/init");
	int r;
	if (init && ends_with(init, "/systemd")) {
		if ((r = ct_write(ct, unit, snakeoil_unit, 0, err)) < 0 ||
		    (r = ct_make_path(ct, "/etc/systemd/system/first-boot-complete.target.wants",
		                      err)) < 0 ||
		    (r = ct_symlink(ct, unit,
		                    "/etc/systemd/system/first-boot-complete.target.wants/"
		                    "proxmox-regenerate-snakeoil.service",
		                    err)) < 0)
			return r;
	}
	return ct_unlink(ct, key, err);
}

/* ---- /etc/network/interfaces ---- */

struct ifnet {
	char name[32];
	/* "" when not set */
	char address[80], netmask[32], cidr[80], gateway[80];
	char address6[80], netmask6[8], cidr6[80], gateway6[80];
	bool needsroute, needsroute6;
	bool done_auto, done_v4, done_v6;
};

struct ifstate {
	struct ct *ct;
	struct ifnet *nets;
	size_t n;
	char **auto_done; /* names seen in "auto" lines or printed */
	struct strbuf out;
	/* the section being read */
	bool in_section;
	bool v6;
	char ifname[64];
	char **attr;
	bool newstyle;
};

static struct ifnet *find_net(struct ifstate *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (streq(s->nets[i].name, name))
			return &s->nets[i];
	return NULL;
}

/* tokens of a line split at blanks */
static char **tokens(const char *l)
{
	return strv_split(l, " \t\r\f\v");
}

static bool tok_eq(char **t, const char *const *want, char **x, char **y)
{
	size_t n = strv_length(t), i;
	for (i = 0; want[i]; i++) {
		if (i >= n)
			return false;
		if (streq(want[i], "X"))
			*x = t[i];
		else if (streq(want[i], "Y"))
			*y = t[i];
		else if (!streq(want[i], t[i]))
			return false;
	}
	return i == n;
}

/* Our earlier gateway routes out of the attributes: the marked section, or
 * (from before the markers) the four exact lines. */
static void remove_gateway_scripts(char ***attrp)
{
	char **attr = *attrp, **keep = NULL;
	bool found = false, on = true;
	for (size_t i = 0; attr && attr[i]; i++) {
		if (streq(attr[i], "# --- BEGIN PVE ---")) {
			found = true;
			on = false;
		} else if (streq(attr[i], "# --- END PVE ---")) {
			found = true;
			on = true;
		} else if (on) {
			strv_extend(&keep, attr[i]);
		}
	}
	if (found) {
		strv_free(attr);
		*attrp = keep;
		return;
	}
	strv_free(keep);
	static const char *const p1[] = {"post-up", "ip", "route", "add", "X", "dev", "Y", NULL};
	static const char *const p2[] = {"post-up", "ip", "route", "add", "default",
	                                 "via",     "X",  "dev",   "Y",   NULL};
	static const char *const p3[] = {"pre-down", "ip", "route", "del", "default",
	                                 "via",      "X",  "dev",   "Y",   NULL};
	static const char *const p4[] = {"pre-down", "ip", "route", "del", "X", "dev", "Y", NULL};
	size_t n = strv_length(attr);
	for (size_t i = 0; n >= 4 && i < n - 3;) {
		_cleanup_strv_free_ char **t1 = tokens(attr[i]), **t2 = tokens(attr[i + 1]),
		                         **t3 = tokens(attr[i + 2]), **t4 = tokens(attr[i + 3]);
		char *x1 = NULL, *y1 = NULL, *x = NULL, *y = NULL;
		bool m = tok_eq(t1, p1, &x1, &y1) && tok_eq(t2, p2, &x, &y) && streq(x, x1) &&
		         streq(y, y1) && tok_eq(t3, p3, &x, &y) && streq(x, x1) && streq(y, y1) &&
		         tok_eq(t4, p4, &x, &y) && streq(x, x1) && streq(y, y1);
		if (m) {
			for (size_t k = 0; k < 4; k++)
				free(attr[i + k]);
			memmove(&attr[i], &attr[i + 4], (n - i - 4 + 1) * sizeof(*attr));
			n -= 4;
		} else {
			i++;
		}
	}
}

static void gateway_scripts(struct strbuf *o, const char *ifname, const char *gw)
{
	strbuf_addf(o,
	            "# --- BEGIN PVE ---\n"
	            "\tpost-up ip route add %s dev %s\n"
	            "\tpost-up ip route add default via %s dev %s\n"
	            "\tpre-down ip route del default via %s dev %s\n"
	            "\tpre-down ip route del %s dev %s\n"
	            "# --- END PVE ---\n",
	            gw, ifname, gw, ifname, gw, ifname, gw, ifname);
}

static void print_section(struct ifstate *s)
{
	if (!s->in_section)
		return;
	struct ifnet *net = find_net(s, s->ifname);
	struct strbuf *o = &s->out;
	if (!strv_contains(s->auto_done, s->ifname)) {
		strbuf_addf(o, "auto %s\n", s->ifname);
		strv_extend(&s->auto_done, s->ifname);
	}
	const char *addr = s->v6 ? net->address6 : net->address;
	const char *fam = s->v6 ? "inet6" : "inet";
	if (s->v6)
		net->done_v6 = true;
	else
		net->done_v4 = true;
	if (!*addr) {
		/* no address: no iface stanza */
	} else if (streq(addr, "dhcp") || streq(addr, "manual") || (s->v6 && streq(addr, "auto"))) {
		strbuf_addf(o, "iface %s %s %s\n\n", s->ifname, fam, addr);
	} else {
		strbuf_addf(o, "iface %s %s static\n", s->ifname, fam);
		const char *cidr = s->v6 ? net->cidr6 : net->cidr;
		const char *mask = s->v6 ? net->netmask6 : net->netmask;
		if (s->newstyle) {
			if (*cidr)
				strbuf_addf(o, "\taddress %s\n", cidr);
		} else {
			strbuf_addf(o, "\taddress %s\n", addr);
			if (*mask)
				strbuf_addf(o, "\tnetmask %s\n", mask);
		}
		remove_gateway_scripts(&s->attr);
		const char *gw = s->v6 ? net->gateway6 : net->gateway;
		if (*gw) {
			if (s->v6 ? net->needsroute6 : net->needsroute)
				gateway_scripts(o, s->ifname, gw);
			else
				strbuf_addf(o, "\tgateway %s\n", gw);
		}
		for (size_t i = 0; s->attr && s->attr[i]; i++)
			strbuf_addf(o, "\t%s\n", s->attr[i]);
		strbuf_addstr(o, "\n");
	}
	s->attr = strv_free(s->attr);
	s->in_section = false;
}

static void start_section(struct ifstate *s, const char *ifname, bool v6)
{
	s->in_section = true;
	s->v6 = v6;
	size_t n = strnlen(ifname, sizeof(s->ifname) - 1);
	memcpy(s->ifname, ifname, n);
	s->ifname[n] = '\0';
	s->attr = strv_free(s->attr);
}

/* "iface NAME inet|inet6 METHOD" exactly (blanks around); *ret_v6 */
static bool iface_line(const char *l, char *name, size_t nl, bool *ret_v6)
{
	_cleanup_strv_free_ char **t = tokens(l);
	if (strv_length(t) != 4 || !streq(t[0], "iface") ||
	    !(streq(t[2], "inet") || streq(t[2], "inet6")))
		return false;
	if (strlen(t[1]) >= nl)
		return false;
	snprintf(name, nl, "%s", t[1]);
	*ret_v6 = streq(t[2], "inet6");
	return true;
}

static void read_line(struct ifstate *s, const char *line)
{
	const char *t = line + strspn(line, " \t\r\f\v\n");
	char name[64];
	bool v6;

	if (str_startswith(line, "# --- BEGIN PVE ---") ||
	    str_startswith(line, "# --- END PVE ---")) {
		/* kept with the section, so remove_gateway_scripts() finds them */
		if (s->in_section)
			strv_extend(&s->attr, line);
		return;
	}
	if (line[0] == '#') {
		strbuf_addf(&s->out, "%s\n", line);
		return;
	}
	if (!*t) {
		if (s->in_section)
			print_section(s);
		else
			strbuf_addf(&s->out, "%s\n", line);
		return;
	}
	if (iface_line(line, name, sizeof(name), &v6)) {
		print_section(s);
		if (!find_net(s, name))
			strbuf_addf(&s->out, "%s\n", line);
		else
			start_section(s, name, v6);
		return;
	}
	if (str_startswith(t, "auto")) {
		_cleanup_strv_free_ char **names = tokens(t + 4);
		for (size_t i = 0; names && names[i]; i++)
			if (!strv_contains(s->auto_done, names[i]))
				strv_extend(&s->auto_done, names[i]);
		print_section(s);
		strbuf_addf(&s->out, "%s\n", line);
		return;
	}
	if (str_startswith(t, "mapping ") || str_startswith(t, "mapping\t") ||
	    str_startswith(t, "allow-") || str_startswith(t, "source ") ||
	    str_startswith(t, "source\t") || str_startswith(t, "source-directory ") ||
	    str_startswith(t, "source-directory\t")) {
		print_section(s);
		strbuf_addf(&s->out, "%s\n", line);
		return;
	}
	if (s->in_section) {
		/* "\S+\s.*" from the first non-blank: an attribute */
		size_t w = strcspn(t, " \t\r\f\v");
		if (t[w]) {
			_cleanup_free_ char *aname = xstrndup(t, w);
			if (!streq(aname, "address") && !streq(aname, "netmask") &&
			    !streq(aname, "gateway") && !streq(aname, "broadcast"))
				strv_extend(&s->attr, t);
			return;
		}
	}
	strbuf_addf(&s->out, "%s\n", line);
}

static int cmp_net(const void *a, const void *b)
{
	return strcmp(((const struct ifnet *)a)->name, ((const struct ifnet *)b)->name);
}

/* ip6 "dhcp"/"auto" read as "manual" (Alpine's busybox) when alpine */
static int interfaces(struct ct *ct, bool alpine, struct error **err)
{
	struct ifnet nets[ARRAY_SIZE(ct->net)];
	size_t n = 0;
	int r;

	for (size_t i = 0; i < ct->nnet; i++) {
		const struct ct_net *d = &ct->net[i];
		struct ifnet *net = &nets[n];
		if (!*d->name)
			continue;
		*net = (struct ifnet){0};
		snprintf(net->name, sizeof(net->name), "%s", d->name);
		if (*d->ip) {
			if (streq(d->ip, "dhcp") || streq(d->ip, "manual")) {
				snprintf(net->address, sizeof(net->address), "%s", d->ip);
			} else {
				if (!ct_ipv4_cidr(d->ip, net->address, sizeof(net->address),
				                  net->netmask, sizeof(net->netmask)))
					return error_set(err, -EINVAL, 500,
					                 "unable to parse ipv4 address/mask");
				snprintf(net->cidr, sizeof(net->cidr), "%s", d->ip);
			}
		}
		if (*d->gw) {
			snprintf(net->gateway, sizeof(net->gateway), "%s", d->gw);
			net->needsroute = *net->cidr && !ct_ip_in_cidr(d->gw, net->cidr, 4);
		}
		const char *ip6 = d->ip6;
		if (alpine && (streq(ip6, "dhcp") || streq(ip6, "auto")))
			ip6 = "manual";
		if (*ip6) {
			if (streq(ip6, "auto") || streq(ip6, "dhcp") || streq(ip6, "manual")) {
				snprintf(net->address6, sizeof(net->address6), "%s", ip6);
			} else {
				const char *slash = strchr(ip6, '/');
				unsigned char buf[16];
				char a[64];
				if (!slash || (size_t)(slash - ip6) >= sizeof(a) || !slash[1] ||
				    strspn(slash + 1, "0123456789") != strlen(slash + 1) ||
				    strlen(slash + 1) > 3)
					return error_set(err, -EINVAL, 500,
					                 "unable to parse ipv6 address/prefix");
				snprintf(a, sizeof(a), "%.*s", (int)(slash - ip6), ip6);
				if (inet_pton(AF_INET6, a, buf) != 1)
					return error_set(err, -EINVAL, 500,
					                 "unable to parse ipv6 address/prefix");
				snprintf(net->address6, sizeof(net->address6), "%s", a);
				snprintf(net->netmask6, sizeof(net->netmask6), "%s", slash + 1);
				snprintf(net->cidr6, sizeof(net->cidr6), "%s", ip6);
			}
		}
		if (*d->gw6) {
			snprintf(net->gateway6, sizeof(net->gateway6), "%s", d->gw6);
			net->needsroute6 = *net->cidr6 && !ct_ip_in_cidr(d->gw6, net->cidr6, 6) &&
			                   !ct_ip_in_cidr(d->gw6, "fe80::/10", 6);
		}
		bool any = *net->address || *net->gateway || *net->address6 || *net->gateway6;
		if (any) {
			/* a later netN of the same name wins, as in PVE's hash */
			struct ifnet *dup = NULL;
			for (size_t k = 0; k < n; k++)
				if (streq(nets[k].name, net->name))
					dup = &nets[k];
			if (dup)
				*dup = *net;
			else
				n++;
		}
	}
	if (!n)
		return 0;
	qsort(nets, n, sizeof(nets[0]), cmp_net);

	struct ifstate s = {.ct = ct, .nets = nets, .n = n, .out = STRBUF_INIT};
	s.newstyle = (streq(ct->ostype, "debian") && at_least(ct->version, 10, 0)) ||
	             (alpine && at_least(ct->version, 3, 13));
	_cleanup_free_ char *old = NULL;
	r = ct_read(ct, "/etc/network/interfaces", &old, err);
	if (r < 0 && r != -ENOENT)
		goto out;
	if (old) {
		for (char *l = old; *l;) {
			char *e = strchr(l, '\n');
			if (e)
				*e = '\0';
			read_line(&s, l);
			if (!e)
				break;
			l = e + 1;
		}
		print_section(&s);
	}
	bool sep = s.out.len && !(s.out.len >= 2 && s.out.buf[s.out.len - 1] == '\n' &&
	                          s.out.buf[s.out.len - 2] == '\n');
	for (size_t i = 0; i < n; i++) {
		if (!nets[i].done_v4 && *nets[i].address) {
			if (sep) {
				strbuf_addstr(&s.out, "\n");
				sep = false;
			}
			start_section(&s, nets[i].name, false);
			print_section(&s);
		}
		if (!nets[i].done_v6 && *nets[i].address6) {
			if (sep) {
				strbuf_addstr(&s.out, "\n");
				sep = false;
			}
			start_section(&s, nets[i].name, true);
			print_section(&s);
		}
	}
	struct strbuf all = STRBUF_INIT;
	if (!strv_contains(s.auto_done, "lo"))
		strbuf_addstr(&all, "auto lo\niface lo inet loopback\niface lo inet6 loopback\n\n");
	strbuf_addstr(&all, s.out.buf);
	r = ct_make_path(ct, "/etc/network", err);
	if (r == 0)
		r = ct_write(ct, "/etc/network/interfaces", all.buf, 0, err);
	strbuf_release(&all);
out:
	strbuf_release(&s.out);
	strv_free(s.auto_done);
	strv_free(s.attr);
	return r < 0 ? r : 0;
}

int ct_debian_setup_network(struct ct *ct, struct error **err)
{
	return interfaces(ct, false, err);
}

/* ---- Alpine ---- */

int ct_alpine_template_fixup(struct ct *ct, struct error **err)
{
	static const char *const links[][2] = {
	    {"/etc/init.d/networking", "/etc/runlevels/boot/networking"},
	    {"/etc/init.d/bootmisc", "/etc/runlevels/boot/bootmisc"},
	    {"/etc/init.d/hostname", "/etc/runlevels/boot/hostname"},
	    {"/etc/init.d/killprocs", "/etc/runlevels/shutdown/killprocs"},
	    {"/etc/init.d/savecache", "/etc/runlevels/shutdown/savecache"},
	};
	int r;
	for (size_t i = 0; i < ARRAY_SIZE(links); i++)
		if ((r = ct_symlink(ct, links[i][0], links[i][1], err)) < 0)
			return r;
	if ((r = ct_securetty(ct, NULL, err)) < 0)
		return r;
	return ct_remove_lxc_name_from_hosts(ct, err);
}

int ct_alpine_setup_init(struct ct *ct, struct error **err)
{
	return write_inittab(ct, true, err);
}

int ct_alpine_setup_network(struct ct *ct, struct error **err)
{
	return interfaces(ct, true, err);
}
