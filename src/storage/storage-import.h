/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * storage-import: files that come into a file storage from outside, after
 * PVE::API2::Storage::Status's upload and download_url: ISO images,
 * container templates and import sources (content iso, vztmpl, import).
 *
 * Two steps, so the caller sees every refusal it can before a task exists:
 *
 *  1. Before the task (the API handler, with plain values): the storage is
 *     found (storage_import_target_get()), the file name checked
 *     (storage_import_check_name()), and a temporary file made that the task
 *     will own: an upload the http layer streamed into the storage's path
 *     is renamed to ".imgcopy-XXXXXX.tmp" beside it
 *     (storage_import_take_upload()); a download gets an empty
 *     ".download-XXXXXX.tmp" in the content directory, where the volume
 *     will be, so its final rename never crosses a mount
 *     (storage_import_new_download()).  Neither replaces an existing file.
 *
 *  2. In the task (storage_import_upload_run(), storage_import_download_run(),
 *     the imgcopy and download operations of storage-ops.c): the storage is
 *     found again from its id, the temporary file held (tmpfile_hold(), so a
 *     restarted daemon's sweep leaves it), a download fetched with curl
 *     within the storage's free space (each redirect checked by
 *     download_check_redirect()), the optional checksum verified, a disk
 *     image (import content: qcow2, raw, vmdk) checked to name no file
 *     outside itself (image_check_untrusted()), and only then the file
 *     renamed into place, copied when the content directory is another file
 *     system (EXDEV), never replacing an existing file.  Every failure
 *     removes the temporary file, so a volume only ever appears complete
 *     and verified.
 *
 * A task gets the temporary file's name, never a path: it names a file of
 * the import grammar in the storage's path (upload) or content directory
 * (download), so a worker given arguments by someone else touches nothing
 * else.
 */
#pragma once

#include <stdbool.h>

struct error;
struct storage_config_store;
struct task_worker;

/* Where an import goes: a file storage (STORAGE_CAP_FILES with a path). */
struct storage_import_target {
	char *path;        /* the storage's path: uploads are streamed below it */
	char *content_dir; /* the content type's directory (content-dirs
	                    * honoured); NULL when no content was asked for */
};

/*
 * The storage storeid of the store's storage.cfg, when it exists (500
 * "storage 'x' does not exist"), is a file storage with a path, is enabled
 * on node and, with content not NULL, holds that content type (500 each).
 */
int storage_import_target_get(struct storage_config_store *store, const char *node,
                              const char *storeid, const char *content,
                              struct storage_import_target *ret, struct error **err);
void storage_import_target_clear(struct storage_import_target *t);

/* The bytes an unprivileged writer may still put below path (statvfs'
 * f_bavail); 0 when unknown.  What an upload or download may fill. */
unsigned long long storage_import_free_bytes(const char *path);

/* iso, vztmpl, import */
bool storage_import_content_valid(const char *content);

/* PVE's upload name rules: a plain file name (no '/', not hidden, at most
 * 255 bytes, no control characters) with an extension of the content type.
 * 400 with the reason; the API reports it as the filename parameter's. */
int storage_import_check_name(const char *content, const char *name, struct error **err);

/*
 * Takes the file at upload_path, which the http layer streamed into
 * t->path, as a new temporary file beside it that the imgcopy task will
 * own; *ret_tmp is its name.  Refuses first when the file name makes too
 * long a path (400 "file name too long") or <content_dir>/<filename>
 * exists (500 "refusing to override existing file '...'").  The http layer
 * deletes whatever is left at upload_path.
 */
int storage_import_take_upload(const struct storage_import_target *t, const char *filename,
                               const char *upload_path, char **ret_tmp, struct error **err);

/* The same refusals, then creates the content directory and an empty
 * temporary file in it for the download task; *ret_tmp is its name. */
int storage_import_new_download(const struct storage_import_target *t, const char *filename,
                                char **ret_tmp, struct error **err);

/* Removes the temporary file tmp of t when no task took it over. */
void storage_import_discard(const struct storage_import_target *t, const char *tmp);

/* What an import task gets: plain data. */
struct storage_import {
	const char *storage;
	const char *content;            /* iso, vztmpl, import */
	const char *filename;           /* storage_import_check_name() */
	const char *tmp;                /* storage_import_take_upload()'s or _new_download()'s */
	const char *checksum;           /* hex; NULL: none */
	const char *checksum_algorithm; /* md5, sha1, sha224, sha256, sha384, sha512 */
	/* a download's */
	const char *url;   /* http or https; may hold credentials, never logged */
	bool insecure;     /* certificates not verified */
	unsigned api_port; /* the daemon's own port: no redirect goes there; 0: none */
};

/* What an import's fields must mean (the operations' argument check, so a
 * worker refuses what a handler would): the content type, the file name,
 * the temporary file's name in the grammar of an upload's or a download's,
 * the checksum and its algorithm together, a download's http(s) URL.  500,
 * as every argument error of a task. */
int storage_import_check(const struct storage_import *imp, bool download, struct error **err);

/* The task bodies of an upload (imgcopy) and of a download. */
int storage_import_upload_run(struct storage_config_store *store, const char *node,
                              const struct storage_import *imp, struct task_worker *w,
                              struct error **err);
int storage_import_download_run(struct storage_config_store *store, const char *node,
                                const struct storage_import *imp, struct task_worker *w,
                                struct error **err);
