/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include "common.h"

#include <ctype.h>
#include <netdb.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>

#include <gnutls/gnutls.h>

#include "cli-remote.h"
#include "cli.h"
#include "error.h"
#include "fileio.h"
#include "jsonutil.h"
#include "strbuf.h"
#include "xalloc.h"

#define DEFAULT_PORT "8006"
/* Every read and write to the server waits at most this long. */
#define IO_TIMEOUT_S 60
/* A ticket lives 2 hours (auth.h); it is renewed once half of it is gone. */
#define TICKET_RENEW_AFTER 3600
/* The credentials file is small; anything larger is not ours. */
#define CRED_MAX 65536

struct endpoint {
	char *host, *port;
};

static int parse_host(const char *spec, struct endpoint *ret)
{
	const char *colon = strrchr(spec, ':');
	if (spec[0] == '[') { /* [v6]:port */
		const char *end = strchr(spec, ']');
		if (!end)
			return -EINVAL;
		ret->host = xstrndup(spec + 1, (size_t)(end - spec - 1));
		ret->port = xstrdup(end[1] == ':' ? end + 2 : DEFAULT_PORT);
	} else if (colon && strchr(spec, ':') == colon) { /* one colon: host:port */
		ret->host = xstrndup(spec, (size_t)(colon - spec));
		ret->port = xstrdup(colon + 1);
	} else {
		ret->host = xstrdup(spec);
		ret->port = xstrdup(DEFAULT_PORT);
	}
	if (!*ret->host || !*ret->port || strspn(ret->port, "0123456789") != strlen(ret->port))
		return -EINVAL;
	return 0;
}

static void endpoint_clear(struct endpoint *e)
{
	free(e->host);
	free(e->port);
}

/* $XDG_CONFIG_HOME/ctvm/remote (default ~/.config/ctvm/remote) */
static char *cred_dir(void)
{
	const char *xdg = getenv("XDG_CONFIG_HOME");
	if (xdg && *xdg == '/')
		return xasprintf("%s/ctvm/remote", xdg);
	const char *home = getenv("HOME");
	if (!home || *home != '/') {
		struct passwd *pw = getpwuid(getuid());
		home = pw ? pw->pw_dir : "/";
	}
	return xasprintf("%s/.config/ctvm/remote", home);
}

static char *cred_path(const struct endpoint *e)
{
	_cleanup_free_ char *dir = cred_dir();
	struct strbuf sb = STRBUF_INIT;
	strbuf_addf(&sb, "%s/", dir);
	/* the host as a file name: anything but [A-Za-z0-9.-] as '_' */
	for (const char *p = e->host; *p; p++)
		strbuf_addch(&sb, isalnum((unsigned char)*p) || *p == '.' || *p == '-' ? *p : '_');
	strbuf_addf(&sb, "_%s.json", e->port);
	return strbuf_detach(&sb, NULL);
}

static json_t *cred_load(const struct endpoint *e)
{
	_cleanup_free_ char *path = cred_path(e);
	_cleanup_free_ char *data = NULL;
	size_t len = 0;
	if (read_file(path, CRED_MAX, &data, &len, NULL) < 0)
		return NULL;
	json_error_t jerr;
	return json_loadb(data, len, 0, &jerr);
}

static int cred_store(struct cli *c, const struct endpoint *e, json_t *cred)
{
	_cleanup_free_ char *dir = cred_dir();
	_cleanup_free_ char *path = cred_path(e);
	if (mkdir_p(dir, 0700) < 0 || chmod(dir, 0700) < 0) {
		fprintf(stderr, "%s: cannot create %s: %s\n", c->prog, dir, strerror(errno));
		return CLI_ERROR;
	}
	_cleanup_free_ char *s = json_dumps(cred, JSON_SORT_KEYS | JSON_INDENT(2));
	_cleanup_error_ struct error *err = NULL;
	if (write_file_atomic_full(path, s, strlen(s), 0600, WRITE_FILE_NOFOLLOW, &err) < 0) {
		fprintf(stderr, "%s: %s\n", c->prog, err->msg);
		return CLI_ERROR;
	}
	return 0;
}

static int tcp_connect(const struct endpoint *e, struct error **err)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
	int r = getaddrinfo(e->host, e->port, &hints, &res);
	if (r != 0)
		return error_set(err, -EHOSTUNREACH, 500, "cannot resolve '%s': %s", e->host,
		                 gai_strerror(r));
	int fd = -1, saved = 0;
	for (struct addrinfo *a = res; a; a = a->ai_next) {
		fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
		if (fd < 0)
			continue;
		struct timeval tv = {IO_TIMEOUT_S, 0};
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		if (connect(fd, a->ai_addr, a->ai_addrlen) == 0)
			break;
		saved = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		return error_set(err, -(saved ? saved : ECONNREFUSED), 500,
		                 "cannot connect to %s port %s: %s", e->host, e->port,
		                 strerror(saved ? saved : ECONNREFUSED));
	return fd;
}

/* "AB:CD:..." of the SHA-256 of the server's certificate (as Proxmox shows). */
static char *peer_fingerprint(gnutls_session_t s)
{
	unsigned n = 0;
	const gnutls_datum_t *certs = gnutls_certificate_get_peers(s, &n);
	if (!certs || !n)
		return NULL;
	unsigned char fp[32];
	size_t fpl = sizeof(fp);
	if (gnutls_fingerprint(GNUTLS_DIG_SHA256, &certs[0], fp, &fpl) < 0)
		return NULL;
	struct strbuf sb = STRBUF_INIT;
	for (size_t i = 0; i < fpl; i++)
		strbuf_addf(&sb, "%s%02X", i ? ":" : "", fp[i]);
	return strbuf_detach(&sb, NULL);
}

/*
 * One HTTPS exchange.  pin: the fingerprint the server must show (NULL:
 * any, its fingerprint is returned in *ret_fp for the caller to pin).
 */
static int https_request(const struct endpoint *e, const char *pin, const char *request,
                         size_t request_len, struct cli_response *ret, char **ret_fp,
                         struct error **err)
{
	_cleanup_close_ int fd = tcp_connect(e, err);
	if (fd < 0)
		return fd;
	gnutls_certificate_credentials_t cred = NULL;
	gnutls_session_t s = NULL;
	struct strbuf resp = STRBUF_INIT;
	int r = 0;
	if (gnutls_certificate_allocate_credentials(&cred) < 0 ||
	    gnutls_init(&s, GNUTLS_CLIENT) < 0 || gnutls_set_default_priority(s) < 0 ||
	    gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, cred) < 0) {
		r = error_set(err, -ENOMEM, 500, "cannot set up TLS");
		goto out;
	}
	gnutls_transport_set_int(s, fd);
	gnutls_handshake_set_timeout(s, IO_TIMEOUT_S * 1000);
	int g;
	do
		g = gnutls_handshake(s);
	while (g < 0 && !gnutls_error_is_fatal(g));
	if (g < 0) {
		r = error_set(err, -EPROTO, 500, "TLS handshake with %s failed: %s", e->host,
		              gnutls_strerror(g));
		goto out;
	}
	char *fp = peer_fingerprint(s);
	if (!fp || (pin && strcasecmp(fp, pin) != 0)) {
		r = error_set(err, -EPERM, 500,
		              "the certificate of %s has the fingerprint %s, not the pinned %s "
		              "(ctvm login again if it was renewed)",
		              e->host, fp ? fp : "(none)", pin ? pin : "");
		free(fp);
		goto out;
	}
	if (ret_fp)
		*ret_fp = fp;
	else
		free(fp);
	for (size_t off = 0; off < request_len;) {
		ssize_t n = gnutls_record_send(s, request + off, request_len - off);
		if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
			continue;
		if (n < 0) {
			r = error_set(err, -EIO, 500, "cannot send request: %s",
			              gnutls_strerror((int)n));
			goto out;
		}
		off += (size_t)n;
	}
	for (;;) {
		char buf[16384];
		ssize_t n = gnutls_record_recv(s, buf, sizeof(buf));
		if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
			continue;
		if (n == 0 || n == GNUTLS_E_PREMATURE_TERMINATION)
			break;
		if (n < 0) {
			r = error_set(err, -EIO, 500, "cannot read answer: %s",
			              gnutls_strerror((int)n));
			goto out;
		}
		strbuf_add(&resp, buf, (size_t)n);
		if (resp.len > CLI_MAX_RESPONSE) {
			r = error_set(err, -EFBIG, 500, "answer too large");
			goto out;
		}
	}
	r = cli_http_parse(resp.buf, resp.len, ret, err);
out:
	strbuf_release(&resp);
	if (s)
		gnutls_deinit(s);
	if (cred)
		gnutls_certificate_free_credentials(cred);
	return r;
}

static void build_request(struct strbuf *req, const struct endpoint *e, const char *method,
                          const char *target, json_t *cred, const char *body, size_t body_len)
{
	strbuf_addf(req, "%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n", method, target,
	            e->host);
	const char *token = json_string_value(json_object_get(cred, "token"));
	const char *ticket = json_string_value(json_object_get(cred, "ticket"));
	const char *csrf = json_string_value(json_object_get(cred, "csrf"));
	if (token)
		strbuf_addf(req, "Authorization: PVEAPIToken=%s\r\n", token);
	else if (ticket) {
		strbuf_addf(req, "Cookie: PVEAuthCookie=%s\r\n", ticket);
		if (csrf && !streq(method, "GET"))
			strbuf_addf(req, "CSRFPreventionToken: %s\r\n", csrf);
	}
	if (body)
		strbuf_addf(req,
		            "Content-Type: application/x-www-form-urlencoded\r\n"
		            "Content-Length: %zu\r\n",
		            body_len);
	strbuf_addstr(req, "\r\n");
	if (body)
		strbuf_add(req, body, body_len);
}

static void form_add(struct strbuf *sb, const char *k, const char *v)
{
	if (sb->len)
		strbuf_addch(sb, '&');
	strbuf_addf(sb, "%s=", k);
	for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
		if (isalnum(*p) || strchr("-._~", *p))
			strbuf_addch(sb, *p);
		else
			strbuf_addf(sb, "%%%02X", *p);
	}
}

/* POST /access/ticket; on success cred gets user, ticket, csrf. */
static int get_ticket(struct cli *c, const struct endpoint *e, const char *pin, const char *user,
                      const char *password, json_t *cred, char **ret_fp)
{
	_cleanup_(strbuf_releasep) struct strbuf form = STRBUF_INIT;
	form_add(&form, "username", user);
	form_add(&form, "password", password);
	_cleanup_(strbuf_releasep) struct strbuf req = STRBUF_INIT;
	build_request(&req, e, "POST", "/api2/json/access/ticket", NULL, form.buf, form.len);
	explicit_bzero(form.buf, form.len);
	struct cli_response resp = {0};
	_cleanup_error_ struct error *err = NULL;
	int r = https_request(e, pin, req.buf, req.len, &resp, ret_fp, &err);
	explicit_bzero(req.buf, req.len);
	if (r < 0) {
		fprintf(stderr, "%s: %s\n", c->prog, err->msg);
		return CLI_ERROR;
	}
	int rc = 0;
	json_error_t jerr;
	_cleanup_json_ json_t *body =
	    resp.status == 200 ? json_loadb(resp.body, resp.body_len, 0, &jerr) : NULL;
	json_t *data = json_object_get(body, "data");
	const char *ticket = json_string_value(json_object_get(data, "ticket"));
	const char *csrf = json_string_value(json_object_get(data, "CSRFPreventionToken"));
	const char *who = json_string_value(json_object_get(data, "username"));
	if (!ticket || !csrf) {
		fprintf(stderr, "%s: login failed: %d %s\n", c->prog, resp.status, resp.reason);
		rc = resp.status == 401 || resp.status == 403 ? CLI_DENIED : CLI_ERROR;
	} else {
		json_object_set_new(cred, "user", json_string(who ? who : user));
		json_object_set_new(cred, "ticket", json_string(ticket));
		json_object_set_new(cred, "csrf", json_string(csrf));
	}
	cli_response_clear(&resp);
	return rc;
}

/* "PVE:user@realm:HEXTIME::sig" -> HEXTIME, 0 if unreadable. */
static time_t ticket_time(const char *ticket)
{
	const char *p = ticket ? strchr(ticket, ':') : NULL;
	p = p ? strchr(p + 1, ':') : NULL;
	return p ? (time_t)strtoll(p + 1, NULL, 16) : 0;
}

static int remote_call(struct cli *c, const struct endpoint *e, const char *method,
                       const char *target, const char *body, size_t body_len,
                       struct cli_response *ret)
{
	_cleanup_json_ json_t *cred = cred_load(e);
	if (!cred) {
		fprintf(stderr, "%s: not logged in to %s (ctvm login --host %s --user USER)\n",
		        c->prog, c->host, c->host);
		return CLI_DENIED;
	}
	const char *pin = json_string_value(json_object_get(cred, "fingerprint"));
	const char *ticket = json_string_value(json_object_get(cred, "ticket"));
	/* $CTVM_TICKET_RENEW_AFTER (seconds) is for the tests */
	const char *after_env = getenv("CTVM_TICKET_RENEW_AFTER");
	long long after = after_env && *after_env ? atoll(after_env) : TICKET_RENEW_AFTER;
	if (ticket && time(NULL) - ticket_time(ticket) > after) {
		/* a valid ticket is its own password for a new one */
		_cleanup_free_ char *old = xstrdup(ticket);
		_cleanup_free_ char *user =
		    xstrdup(json_string_value(json_object_get(cred, "user")) ?: "");
		int rc = get_ticket(c, e, pin, user, old, cred, NULL);
		if (rc == 0)
			rc = cred_store(c, e, cred);
		if (rc) {
			fprintf(stderr, "%s: the ticket for %s expired: ctvm login again\n",
			        c->prog, c->host);
			return rc;
		}
	}
	_cleanup_(strbuf_releasep) struct strbuf req = STRBUF_INIT;
	build_request(&req, e, method, target, cred, body, body_len);
	_cleanup_error_ struct error *err = NULL;
	int rc = 0;
	if (https_request(e, pin, req.buf, req.len, ret, NULL, &err) < 0) {
		fprintf(stderr, "%s: %s\n", c->prog, err->msg);
		rc = CLI_ERROR;
	}
	explicit_bzero(req.buf, req.len);
	return rc;
}

int cli_remote_request(struct cli *c, const char *method, const char *target, const char *body,
                       size_t body_len, struct cli_response *ret)
{
	struct endpoint e = {0};
	int rc;
	if (parse_host(c->host, &e) < 0) {
		fprintf(stderr, "%s: bad --host '%s' (HOST or HOST:PORT)\n", c->prog, c->host);
		rc = CLI_USAGE;
	} else {
		rc = remote_call(c, &e, method, target, body, body_len, ret);
	}
	endpoint_clear(&e);
	return rc;
}

int cli_remote_login(struct cli *c, int argc, char **argv)
{
	const char *user = NULL, *password = NULL, *token = NULL, *pin = NULL;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		const char **slot = streq(a, "--user")          ? &user
		                    : streq(a, "--password")    ? &password
		                    : streq(a, "--token")       ? &token
		                    : streq(a, "--fingerprint") ? &pin
		                                                : NULL;
		if (!slot || i + 1 >= argc) {
			fprintf(stderr, "Usage: ctvm login --host HOST[:PORT] (--user USER@REALM "
			                "[--password PW]"
			                " | --token USER@REALM!ID=SECRET)\n"
			                "                  [--fingerprint AB:CD:...]\n");
			return CLI_USAGE;
		}
		*slot = argv[++i];
	}
	if (!c->host || (!user == !token)) {
		fprintf(stderr, "%s: login needs --host and one of --user or --token\n", c->prog);
		return CLI_USAGE;
	}
	struct endpoint e = {0};
	if (parse_host(c->host, &e) < 0) {
		endpoint_clear(&e);
		fprintf(stderr, "%s: bad --host '%s'\n", c->prog, c->host);
		return CLI_USAGE;
	}
	_cleanup_json_ json_t *cred = json_object();
	_cleanup_free_ char *fp = NULL;
	_cleanup_free_ char *pw = NULL;
	int rc;
	if (user) {
		if (!password) {
			pw = cli_read_password(c->prog, "Password: ");
			if (!pw) {
				rc = CLI_USAGE;
				goto out;
			}
			password = pw;
		}
		rc = get_ticket(c, &e, pin, user, password, cred, &fp);
		if (pw)
			explicit_bzero(pw, strlen(pw));
	} else {
		/* check the token with one call before keeping it */
		json_object_set_new(cred, "token", json_string(token));
		_cleanup_(strbuf_releasep) struct strbuf req = STRBUF_INIT;
		build_request(&req, &e, "GET", "/api2/json/version", cred, NULL, 0);
		struct cli_response resp = {0};
		_cleanup_error_ struct error *err = NULL;
		rc = 0;
		if (https_request(&e, pin, req.buf, req.len, &resp, &fp, &err) < 0) {
			fprintf(stderr, "%s: %s\n", c->prog, err->msg);
			rc = CLI_ERROR;
		} else if (resp.status != 200) {
			fprintf(stderr, "%s: the token is refused: %d %s\n", c->prog, resp.status,
			        resp.reason);
			rc = resp.status == 401 || resp.status == 403 ? CLI_DENIED : CLI_ERROR;
		}
		explicit_bzero(req.buf, req.len);
		cli_response_clear(&resp);
	}
	if (rc)
		goto out;
	if (!pin)
		fprintf(stderr, "%s: trusting %s's certificate, fingerprint %s\n", c->prog, c->host,
		        fp);
	json_object_set_new(cred, "fingerprint", json_string(pin ? pin : fp));
	rc = cred_store(c, &e, cred);
	if (!rc) {
		_cleanup_free_ char *path = cred_path(&e);
		fprintf(stderr, "%s: logged in to %s; credentials in %s\n", c->prog, c->host, path);
	}
out:
	endpoint_clear(&e);
	return rc;
}

int cli_remote_logout(struct cli *c)
{
	struct endpoint e = {0};
	if (!c->host || parse_host(c->host, &e) < 0) {
		endpoint_clear(&e);
		fprintf(stderr, "Usage: ctvm logout --host HOST[:PORT]\n");
		return CLI_USAGE;
	}
	_cleanup_free_ char *path = cred_path(&e);
	endpoint_clear(&e);
	if (unlink(path) < 0 && errno != ENOENT) {
		fprintf(stderr, "%s: cannot remove %s: %s\n", c->prog, path, strerror(errno));
		return CLI_ERROR;
	}
	return 0;
}
