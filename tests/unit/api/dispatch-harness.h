/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * A data-driven harness for the choke point, without sockets: a fixture
 * (temporary root, keys, access store seeded from user.cfg text, task
 * manager) and cases that are raw HTTP requests, parsed by the real http
 * parser, with the answer Proxmox clients expect.  Placeholders in requests,
 * reasons and bodies:
 *   {T:<authid>}  a fresh ticket of that user   {C:<authid>}  its CSRF token
 *   {NODE}        the node name                 {LEN}         the body's length
 *   {V:<name>}    a value the test stored with dispatch_set_var()
 */
#pragma once

#include <stdbool.h>

struct access_secrets;
struct error;
struct usercfg;

struct dcase {
	const char *request;
	int status;
	const char *reason; /* exact reason phrase, or NULL to skip */
	const char *body;   /* "" = empty body; else a JSON object that must be a subset */
};

/* Runs under the store's lock after user.cfg was loaded: set passwords,
 * add tokens (access_store_update's callback). */
typedef int (*dispatch_seed_fn)(struct usercfg *cfg, struct access_secrets *sec, void *arg,
                                struct error **err);

/* A seed (or a step of one): gives root@pam the API token "ci" with root's
 * own rights (privsep off) and stores its secret as {V:SECRET}. */
int dispatch_seed_root_token(struct usercfg *cfg, struct access_secrets *sec, void *arg,
                             struct error **err);

/* Creates the fixture with user_cfg as <etc>/user.cfg; seed may be NULL. */
void dispatch_setup(const char *user_cfg, dispatch_seed_fn seed, void *arg);
void dispatch_teardown(void);
/* The fixture's context, for tests that call the api layer directly. */
struct api_context *dispatch_context(void);

/* Stores a value for {V:name} (copied; replaces an earlier one). */
void dispatch_set_var(const char *name, const char *value);
/* The value stored for {V:name}, or NULL; valid until it is replaced or
 * the fixture torn down. */
const char *dispatch_var(const char *name);
/* The placeholders above expanded, and {LEN} fixed up (malloc'd). */
char *dispatch_expand(const char *s);

/* Runs one raw request; returns the status, the reason phrase (malloc'd)
 * and the body (malloc'd, NUL-terminated) when asked for. */
int dispatch_run(const char *raw, char **ret_reason, char **ret_body);

/* Runs the cases in order (later cases may see what earlier ones changed)
 * and fails the test at the first answer that differs. */
void dispatch_run_cases(const struct dcase *cases, size_t n);
