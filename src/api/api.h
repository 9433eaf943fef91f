/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * api: the Proxmox-compatible /api2/json surface.  The daemon builds one
 * api_context and hands api_handle_request() to the http layer; nothing else
 * of the API is visible to front ends.
 */
#pragma once

#include <stdbool.h>
#include <time.h>

#include <jansson.h>

struct error;
struct http_request;
struct http_response;
struct ctvm_paths;
struct auth_keys;
struct access_store;
struct storage_config_store;
struct guest_store;
struct task_manager;
struct node_stats;

struct api_context {
	struct ctvm_paths *paths;
	char *node; /* this node's name */
	struct auth_keys *keys;
	struct access_store *access;
	struct storage_config_store *storage; /* storage.cfg */
	struct guest_store *guests;           /* qemu-server/, lxc/ (guest.h) */
	struct task_manager *tasks;
	struct node_stats *stats;
	char *pam_service;
	char *cert_fingerprint;       /* SHA-256 of the TLS certificate */
	char *cert_pem;               /* the TLS certificate itself (public); NULL: none */
	unsigned login_fail_delay_ms; /* base delay of a failed login (default 2000) */
	struct login_limiter *limiter;
	struct audit_log *audit; /* NULL: no audit log */
	unsigned port;           /* the TCP port served; atomic: set once the server runs */
};

/* What the api layer owns itself (the failed-login limiter): call once after
 * filling the context, and release before freeing it. */
void api_context_init(struct api_context *ctx);
void api_context_release(struct api_context *ctx);

/* The start-up check of the tables: every named format that a method row or
 * a config schema the API writes names exists (property.h), no format is
 * defined twice, and every schema row is sound.  0, or 500 naming the row;
 * ctvmd does not start without it. */
int api_formats_check(struct error **err);

/* The choke point: every request goes through here (http_handler_fn). */
void api_handle_request(const struct http_request *req, struct http_response *resp, void *ctx);

/* The http stream hook (http_stream_fn): claims authenticated uploads
 * (POST /nodes/{node}/storage/{storage}/upload) to a file storage. */
struct http_stream_spec;
int api_stream_request(const struct http_request *req, struct http_stream_spec *spec, void *ctx,
                       struct error **err);

/* True if s is a valid node name (pve-node). */
bool api_valid_node(const char *s);

/* The apidoc-style schema tree of every method (GET /schema, docs). */
json_t *api_schema_tree(void);
