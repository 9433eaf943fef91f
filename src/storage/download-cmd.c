/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include "common.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cmd.h"
#include "download-cmd.h"
#include "error.h"
#include "strbuf.h"
#include "xalloc.h"

#define CURL_PATH "/usr/bin/curl"
/* what curl writes to stderr after each transfer, after its own messages */
#define RESULT_TAG "ctvm-result "
/* A download may take long; the task can still be stopped. */
#define DOWNLOAD_TIMEOUT_MS (24 * 3600 * 1000)
#define MAX_ADDRS           32
#define MAX_LOCAL_ADDRS     256

void download_build_cmd(struct cmd *c, struct strbuf *config, const struct download_spec *d)
{
	static const char *const opts[] = {
	    "-q", /* first: no ~/.curlrc */
	    "--config",    "-",
	    "--globoff",   "--fail",
	    "--silent",    "--show-error",
	    "--proto",     "=http,https",
	    "--write-out", "%{stderr}\\n" RESULT_TAG "%{response_code} %{redirect_url}\\n",
	};

	cmd_init(c, CURL_PATH);
	for (size_t i = 0; i < ARRAY_SIZE(opts); i++)
		cmd_add(c, opts[i]);
	cmd_add(c, "--max-filesize");
	cmd_addf(c, "%llu", d->max_size);
	if (d->resolve) {
		cmd_add(c, "--resolve");
		cmd_add(c, d->resolve);
	}
	if (d->insecure)
		cmd_add(c, "--insecure");
	cmd_set_timeout(c, DOWNLOAD_TIMEOUT_MS);

	/* a quoted config value knows \\ and \" (and \t \n \r \v, which a
	 * checked URL does not contain) */
	strbuf_addstr(config, "url = \"");
	for (const char *p = d->url; *p; p++) {
		if (*p == '"' || *p == '\\')
			strbuf_addch(config, '\\');
		strbuf_addch(config, *p);
	}
	strbuf_addstr(config, "\"\n");
}

/* The authority of url ("user@host:port"): its start and length, or NULL. */
static const char *authority(const char *url, size_t *ret_len)
{
	const char *p = strstr(url, "://");
	if (!p)
		return NULL;
	p += 3;
	*ret_len = strcspn(p, "/?#");
	return p;
}

char *download_url_redact(const char *url)
{
	size_t alen;
	const char *a = authority(url, &alen);
	const char *at = NULL;
	for (size_t i = 0; a && i < alen; i++)
		if (a[i] == '@')
			at = a + i;
	if (!at)
		return xstrdup(url);
	return xasprintf("%.*s%s", (int)(a - url), url, at + 1);
}

/* The line of the last result tag in text, or NULL. */
static const char *result_line(const char *text, size_t len)
{
	const char *found = NULL;
	const size_t tl = strlen(RESULT_TAG);
	for (size_t i = 0; i + tl <= len; i++)
		if ((i == 0 || text[i - 1] == '\n') && memcmp(text + i, RESULT_TAG, tl) == 0)
			found = text + i;
	return found;
}

int download_parse_result(const char *text, size_t len, long *ret_code, char **ret_location,
                          struct error **err)
{
	const char *line = text ? result_line(text, len) : NULL;
	if (!line)
		return error_set(err, -EINVAL, 500, "no result from curl");
	const char *p = line + strlen(RESULT_TAG), *end = text + len;
	long code = 0;
	int digits = 0;
	for (; p < end && isdigit((unsigned char)*p) && digits < 3; p++, digits++)
		code = code * 10 + (*p - '0');
	if (digits != 3 || p >= end || *p != ' ')
		return error_set(err, -EINVAL, 500, "malformed result from curl");
	p++;
	const char *nl = memchr(p, '\n', (size_t)(end - p));
	size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
	*ret_code = code;
	*ret_location = n ? xstrndup(p, n) : NULL;
	return 0;
}

char *download_error_line(const char *text, size_t len)
{
	const char *best = NULL;
	size_t best_len = 0;
	for (size_t i = 0; text && i < len;) {
		const char *nl = memchr(text + i, '\n', len - i);
		size_t n = nl ? (size_t)(nl - text) - i : len - i;
		if (n && !(n >= strlen(RESULT_TAG) &&
		           memcmp(text + i, RESULT_TAG, strlen(RESULT_TAG)) == 0)) {
			best = text + i;
			best_len = n;
		}
		i += n + 1;
	}
	return best ? xstrndup(best, best_len) : NULL;
}

static bool host_char(char c)
{
	return isalnum((unsigned char)c) || c == '.' || c == '-' || c == '_';
}

int download_parse_target(const char *url, struct download_target *ret, struct error **err)
{
	struct download_target t = {0};
	const char *p;

	for (p = url; *p; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f || *p == '\\')
			return error_set(err, -EINVAL, 500, "invalid character in redirect URL");
	if (strncasecmp(url, "http://", 7) == 0) {
		p = url + 7;
	} else if (strncasecmp(url, "https://", 8) == 0) {
		t.https = true;
		p = url + 8;
	} else {
		return error_set(err, -EPERM, 500, "redirect to a scheme other than http or https");
	}
	size_t alen = strcspn(p, "/?#");
	const char *end = p + alen, *host = p;
	for (const char *q = p; q < end; q++)
		if (*q == '@') {
			if (host != p)
				return error_set(err, -EINVAL, 500, "ambiguous redirect URL");
			host = q + 1;
		}
	const char *rest;
	if (host < end && *host == '[') {
		const char *close = memchr(host, ']', (size_t)(end - host));
		struct in6_addr a6;
		size_t n = close ? (size_t)(close - host - 1) : 0;
		if (!close || n == 0 || n >= sizeof(t.host))
			return error_set(err, -EINVAL, 500, "invalid host in redirect URL");
		memcpy(t.host, host + 1, n);
		if (inet_pton(AF_INET6, t.host, &a6) != 1)
			return error_set(err, -EINVAL, 500, "invalid host in redirect URL");
		t.literal = true;
		rest = close + 1;
	} else {
		rest = host;
		while (rest < end && host_char(*rest))
			rest++;
		size_t n = (size_t)(rest - host);
		if (n == 0 || n >= sizeof(t.host))
			return error_set(err, -EINVAL, 500, "invalid host in redirect URL");
		memcpy(t.host, host, n);
		if (strspn(t.host, "0123456789.") == n) {
			struct in_addr a4;
			/* only a dotted quad: "127.1" or "2130706433" are
			 * numbers that resolvers and curl may read differently */
			if (inet_pton(AF_INET, t.host, &a4) != 1)
				return error_set(
				    err, -EINVAL, 500,
				    "numeric host in redirect URL is not a dotted quad");
			t.literal = true;
		} else {
			/* a name: its last label starts with a letter, so nothing
			 * reads it as a number (0x7f000001) */
			const char *dot = strrchr(t.host, '.');
			const char *last = dot ? dot + 1 : t.host;
			if (!isalpha((unsigned char)*last))
				return error_set(err, -EINVAL, 500, "invalid host in redirect URL");
		}
	}
	t.port = t.https ? 443 : 80;
	if (rest < end) {
		unsigned long port = 0;
		if (*rest != ':')
			return error_set(err, -EINVAL, 500, "invalid host in redirect URL");
		rest++;
		if (end - rest > 5)
			return error_set(err, -EINVAL, 500, "invalid port in redirect URL");
		for (; rest < end; rest++) {
			if (!isdigit((unsigned char)*rest))
				return error_set(err, -EINVAL, 500, "invalid port in redirect URL");
			port = port * 10 + (unsigned long)(*rest - '0');
		}
		if (port > 65535)
			return error_set(err, -EINVAL, 500, "invalid port in redirect URL");
		if (port)
			t.port = (unsigned)port;
	}
	*ret = t;
	return 0;
}

static void addr_string(const struct sockaddr_storage *a, char *buf, size_t size)
{
	const void *raw = a->ss_family == AF_INET
	                      ? (const void *)&((const struct sockaddr_in *)a)->sin_addr
	                      : (const void *)&((const struct sockaddr_in6 *)a)->sin6_addr;
	if (!inet_ntop(a->ss_family, raw, buf, (socklen_t)size))
		snprintf(buf, size, "?");
}

/* The IPv4 address of a (also IPv4-mapped IPv6), in host order. */
static bool addr_v4(const struct sockaddr_storage *a, uint32_t *ret)
{
	if (a->ss_family == AF_INET) {
		*ret = ntohl(((const struct sockaddr_in *)a)->sin_addr.s_addr);
		return true;
	}
	const struct in6_addr *a6 = &((const struct sockaddr_in6 *)a)->sin6_addr;
	if (a->ss_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(a6)) {
		*ret = (uint32_t)a6->s6_addr[12] << 24 | (uint32_t)a6->s6_addr[13] << 16 |
		       (uint32_t)a6->s6_addr[14] << 8 | a6->s6_addr[15];
		return true;
	}
	return false;
}

static bool same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	uint32_t x, y;
	if (addr_v4(a, &x) && addr_v4(b, &y))
		return x == y;
	if (a->ss_family != AF_INET6 || b->ss_family != AF_INET6)
		return false;
	return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
	              &((const struct sockaddr_in6 *)b)->sin6_addr, sizeof(struct in6_addr)) == 0;
}

static bool this_host(const struct sockaddr_storage *a, const struct sockaddr_storage *local,
                      size_t n_local)
{
	uint32_t v4;
	if (addr_v4(a, &v4)) {
		if (v4 >> 24 == 127 || v4 >> 24 == 0) /* loopback; 0.0.0.0/8 is this host */
			return true;
	} else if (a->ss_family == AF_INET6) {
		const struct in6_addr *a6 = &((const struct sockaddr_in6 *)a)->sin6_addr;
		if (IN6_IS_ADDR_LOOPBACK(a6) || IN6_IS_ADDR_UNSPECIFIED(a6))
			return true;
	} else {
		return true; /* nothing else is fetched */
	}
	for (size_t i = 0; i < n_local; i++)
		if (same_addr(a, &local[i]))
			return true;
	return false;
}

int download_check_addrs(const struct download_target *t, const struct sockaddr_storage *addrs,
                         size_t n, const struct sockaddr_storage *local, size_t n_local,
                         unsigned own_port, struct error **err)
{
	if (own_port && t->port == own_port)
		return error_set(err, -EPERM, 500,
		                 "a redirect to port %u (ctvmd's own) is not allowed", own_port);
	if (n == 0)
		return error_set(err, -EHOSTUNREACH, 500, "'%s' has no address", t->host);
	for (size_t i = 0; i < n; i++)
		if (this_host(&addrs[i], local, n_local)) {
			char buf[INET6_ADDRSTRLEN];
			addr_string(&addrs[i], buf, sizeof(buf));
			return error_set(err, -EPERM, 500,
			                 "a redirect to this host (%s) is not allowed", buf);
		}
	return 0;
}

static size_t local_addrs(struct sockaddr_storage *out, size_t max)
{
	struct ifaddrs *ifs = NULL;
	size_t n = 0;
	if (getifaddrs(&ifs) < 0)
		return 0;
	for (struct ifaddrs *i = ifs; i && n < max; i = i->ifa_next) {
		if (!i->ifa_addr)
			continue;
		if (i->ifa_addr->sa_family == AF_INET)
			memcpy(&out[n++], i->ifa_addr, sizeof(struct sockaddr_in));
		else if (i->ifa_addr->sa_family == AF_INET6)
			memcpy(&out[n++], i->ifa_addr, sizeof(struct sockaddr_in6));
	}
	freeifaddrs(ifs);
	return n;
}

int download_check_redirect(const char *url, unsigned own_port, char **ret_pin, struct error **err)
{
	struct download_target t;
	int r = download_parse_target(url, &t, err);
	if (r < 0)
		return r;
	_cleanup_free_ struct sockaddr_storage *addrs = xnew(struct sockaddr_storage, MAX_ADDRS);
	_cleanup_free_ struct sockaddr_storage *local =
	    xnew(struct sockaddr_storage, MAX_LOCAL_ADDRS);
	size_t n = 0;
	if (t.literal) {
		struct sockaddr_in *a4 = (struct sockaddr_in *)&addrs[0];
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&addrs[0];
		if (inet_pton(AF_INET, t.host, &a4->sin_addr) == 1)
			a4->sin_family = AF_INET;
		else if (inet_pton(AF_INET6, t.host, &a6->sin6_addr) == 1)
			a6->sin6_family = AF_INET6;
		n = 1;
	} else {
		struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
		struct addrinfo *res = NULL;
		int g = getaddrinfo(t.host, NULL, &hints, &res);
		if (g != 0)
			return error_set(err, -EHOSTUNREACH, 500, "unable to resolve '%s' - %s",
			                 t.host, gai_strerror(g));
		for (struct addrinfo *a = res; a && n < MAX_ADDRS; a = a->ai_next)
			if ((a->ai_family == AF_INET || a->ai_family == AF_INET6) &&
			    a->ai_addrlen <= sizeof(addrs[0]))
				memcpy(&addrs[n++], a->ai_addr, a->ai_addrlen);
		freeaddrinfo(res);
	}
	size_t n_local = local_addrs(local, MAX_LOCAL_ADDRS);
	r = download_check_addrs(&t, addrs, n, local, n_local, own_port, err);
	if (r < 0)
		return r;
	*ret_pin = NULL;
	if (!t.literal) {
		/* curl connects to exactly the address checked */
		char buf[INET6_ADDRSTRLEN];
		addr_string(&addrs[0], buf, sizeof(buf));
		*ret_pin = xasprintf(addrs[0].ss_family == AF_INET6 ? "%s:%u:[%s]" : "%s:%u:%s",
		                     t.host, t.port, buf);
	}
	return 0;
}
