/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The CLI against a remote ctvmd (--host HOST[:PORT], port 8006 by
 * default): HTTPS with the server's certificate pinned by its SHA-256
 * fingerprint (given with --fingerprint, or trusted on first login and
 * printed), and the credentials of `ctvm login` kept per user in
 * $XDG_CONFIG_HOME/ctvm/remote/HOST_PORT.json (default ~/.config), mode
 * 0600 in a 0700 directory: a ticket (renewed with itself once it is half
 * its 2 hours old, as Proxmox's clients do) or an API token.  A password
 * is never stored.
 */
#pragma once

#include "cli-http.h"

struct cli;
struct error;

/* One request to c->host with the stored credentials (renewing a ticket
 * first when it is due): 0 and *ret, or an exit code with a message. */
int cli_remote_request(struct cli *c, const char *method, const char *target, const char *body,
                       size_t body_len, struct cli_response *ret);

/* ctvm login --host H (--user U [--password P] | --token ID=SECRET)
 *                    [--fingerprint FP]
 * ctvm logout --host H */
int cli_remote_login(struct cli *c, int argc, char **argv);
int cli_remote_logout(struct cli *c);
