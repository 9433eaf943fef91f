/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * download-cmd: how download-url fetches a file with curl, built without
 * running anything so golden tests pin it, and the checks around it.
 *
 * The URL (which may carry credentials) never appears on curl's command
 * line, where `ps` shows it to every local user: curl reads it from a
 * config on stdin (`--config -`), and `-q` first keeps ~/.curlrc out.
 * `--globoff` makes "{a,b}" and "[1-9]" plain characters instead of many
 * requests.  curl does not follow redirects: each answer's code and
 * Location come back on stderr (--write-out), the caller checks the target
 * (download_check_redirect) and runs curl again with the checked address
 * pinned (--resolve), so DNS cannot change it in between.  The body goes to
 * stdout, which the caller copies into the file within the storage's free
 * space (cmd_set_stdout_fd): --max-filesize acts only on a Content-Length.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

struct cmd;
struct error;
struct strbuf;

/* Redirects followed at most, as curl's --max-redirs default is 50 and
 * Proxmox's LWP allows 7. */
#define DOWNLOAD_MAX_REDIRECTS 10

struct download_spec {
	const char *url;             /* into the config, never argv */
	const char *resolve;         /* "host:port:addr" for --resolve, or NULL */
	bool insecure;               /* --insecure */
	unsigned long long max_size; /* --max-filesize */
};

/* Initialises c (curl, argv only) and appends the config curl reads on
 * stdin to config; the caller passes config as c's stdin. */
void download_build_cmd(struct cmd *c, struct strbuf *config, const struct download_spec *d);

/* The URL without its credentials ("http://user:pw@host/x" ->
 * "http://host/x"), for logs; anything else unchanged. */
char *download_url_redact(const char *url);

/* From curl's stderr: the HTTP code of the last answer (0: none) and its
 * redirect target (NULL: none).  -EINVAL when the result line is missing. */
int download_parse_result(const char *text, size_t len, long *ret_code, char **ret_location,
                          struct error **err);

/* The last stderr line that is curl's own message (not the result line),
 * or NULL. */
char *download_error_line(const char *text, size_t len);

/* A redirect target, parsed strictly: anything curl might read otherwise
 * (two '@', a backslash, a numeric host that is not a dotted quad, a name
 * whose last label starts with a digit, a zone id) is refused. */
struct download_target {
	bool https;
	char host[256]; /* a name, a dotted quad, or an IPv6 address without [] */
	bool literal;   /* host is an address */
	unsigned port;
};

int download_parse_target(const char *url, struct download_target *ret, struct error **err);

/*
 * Whether the addresses a redirect target resolved to may be fetched:
 * none may be this host (loopback, unspecified, 0.0.0.0/8, an address of
 * one of local's interfaces, also IPv4-mapped), and the port may not be
 * own_port (ctvmd's, on any host).  Pure; -EPERM with the reason.
 */
int download_check_addrs(const struct download_target *t, const struct sockaddr_storage *addrs,
                         size_t n, const struct sockaddr_storage *local, size_t n_local,
                         unsigned own_port, struct error **err);

/* download_parse_target(), the name resolved, download_check_addrs() with
 * this host's interface addresses, and the pin for curl --resolve
 * ("host:port:addr", NULL for an address literal). */
int download_check_redirect(const char *url, unsigned own_port, char **ret_pin, struct error **err);
