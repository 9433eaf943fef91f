/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * http-www: the console pages (docs/consoles.md) as static files, served by
 * whichever process speaks TCP (the front under privsep).
 *
 * The build (www/build.py) makes a directory holding "console.html" and
 * "assets/<content hash>/...".  www_load() reads all of it into memory once,
 * at start, before privileges are dropped; a request is then answered by an
 * exact match of its decoded path against that table and never touches the
 * file system, so no path (.., %2e%2e, symbolic links, NUL) can reach a file
 * outside it.  What is loaded is bounded (WWW_MAX_*).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct error;
struct http_request;
struct http_response;
struct www;

#define WWW_MAX_FILES      512
#define WWW_MAX_FILE_BYTES (4u << 20)
#define WWW_MAX_BYTES      (24u << 20)
#define WWW_MAX_DEPTH      8

/*
 * Loads dir.  A directory without "console.html" is -ENOENT (the pages were
 * not built); a file or name breaking the bounds fails the whole load
 * (-EFBIG, -E2BIG, -EINVAL), with *err naming it.  Names other than
 * [A-Za-z0-9._-] (a leading dot included) and anything but regular files and
 * directories are skipped.
 */
int www_load(const char *dir, struct www **ret, struct error **err);
struct www *www_free(struct www *w);
size_t www_count(const struct www *w);

/*
 * Answers req when it is for the pages: GET "/" with a "console" parameter
 * (the page, Cache-Control: no-cache), or GET "/assets/..." (the file,
 * cached for a year as immutable: its directory is named by the hash of
 * every asset, so a change is a new URL; 404 when there is none).  Returns
 * false, leaving resp alone, for every other request.  w may be NULL (no
 * pages: always false).
 */
bool www_handle(const struct www *w, const struct http_request *req, struct http_response *resp);
