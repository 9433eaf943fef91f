/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * storage.cfg on arbitrary bytes: lenient parse with the storage schema,
 * write, and check that writing is a fixed point; every section's API object
 * is built and the API-side setters run on the first line of the input.
 */
#include "common.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "storage-config.h"
#include "strbuf.h"
#include "xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Whatever content-dirs was accepted, every content directory stays below
 * the storage's path: no "." or ".." component, no empty one. */
static void content_dirs_check(struct section *s)
{
	static const char *const vtypes[] = {"images", "rootdir",  "iso",   "vztmpl",
	                                     "backup", "snippets", "import"};
	if (storage_section_set(s, "path", "/srv/fz", true, NULL) < 0)
		abort();
	for (size_t i = 0; i < ARRAY_SIZE(vtypes); i++) {
		struct error *e = NULL;
		_cleanup_free_ char *d = storage_content_dir(s, vtypes[i], &e);
		error_free(e);
		if (!d)
			continue;
		if (strncmp(d, "/srv/fz/", 8) != 0 || strstr(d, "//") || strstr(d, "/./") ||
		    strstr(d, "/../") || (strlen(d) >= 3 && streq(d + strlen(d) - 3, "/..")) ||
		    (strlen(d) >= 2 && streq(d + strlen(d) - 2, "/.")))
			abort();
	}
}

static void setters(const char *data, size_t size)
{
	static const char *const keys[] = {"content", "nodes",   "prune-backups", "blocksize",
	                                   "path",    "pool",    "vgname",        "is_mountpoint",
	                                   "shared",  "bwlimit", "content-dirs"};
	static const char *const types[] = {"dir", "lvm", "lvmthin", "zfspool", "btrfs"};
	_cleanup_free_ char *value = xstrndup(data, strnlen(data, size < 512 ? size : 512));
	struct section_config *c = section_config_new();
	for (size_t t = 0; t < ARRAY_SIZE(types); t++) {
		struct section *s = NULL;
		if (section_config_add(c, types[t], types[t][0] == 'd' ? "aa" : types[t], &s,
		                       NULL) < 0)
			abort();
		for (size_t k = 0; k < ARRAY_SIZE(keys); k++) {
			struct error *e = NULL;
			if (storage_section_set(s, keys[k], value, true, &e) < 0 && !e)
				abort(); /* a refusal always says why */
			error_free(e);
		}
		json_decref(storage_section_json(s, NULL));
		if (types[t][0] == 'd')
			content_dirs_check(s);
	}
	struct strbuf out = STRBUF_INIT;
	struct error *e = NULL;
	storage_config_write(c, &out, &e); /* may refuse a line feed; must not crash */
	error_free(e);
	strbuf_release(&out);
	section_config_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct section_config *c = NULL;
	struct error *e = NULL;
	if (storage_config_parse(text, size, 0, &c, &e) == 0) {
		for (size_t i = 0; i < c->n_sections; i++)
			json_decref(storage_section_json(c->sections[i], c->digest));
		struct strbuf out = STRBUF_INIT;
		if (storage_config_write(c, &out, &e) == 0) {
			struct section_config *c2 = NULL;
			if (storage_config_parse(out.buf, out.len, 0, &c2, NULL) < 0)
				abort(); /* our own output must parse */
			struct strbuf out2 = STRBUF_INIT;
			if (storage_config_write(c2, &out2, NULL) < 0 || !streq(out.buf, out2.buf))
				abort(); /* and write back identically */
			strbuf_release(&out2);
			section_config_free(c2);
		}
		strbuf_release(&out);
		section_config_free(c);
	}
	error_free(e);
	setters(text, size);
	return 0;
}
