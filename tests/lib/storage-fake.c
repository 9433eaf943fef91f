/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Storage backends for tests; see storage-fake.h. */
#include "common.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "section-config.h"
#include "storage-fake.h"
#include "storage-priv.h"
#include "volid.h"
#include "xalloc.h"

#define FAKE_MAX_VOLUMES 32

static struct {
	char *name, *parent;
	long vmid;
	uint64_t size;
} vols[FAKE_MAX_VOLUMES];
static size_t n_vols;

void storage_fake_add(const char *name, long vmid, uint64_t size, const char *parent)
{
	if (n_vols == FAKE_MAX_VOLUMES)
		abort();
	vols[n_vols].name = xstrdup(name);
	vols[n_vols].parent = parent ? xstrdup(parent) : NULL;
	vols[n_vols].vmid = vmid;
	vols[n_vols++].size = size;
}

void storage_fake_reset(void)
{
	for (size_t i = 0; i < n_vols; i++) {
		free(vols[i].name);
		free(vols[i].parent);
	}
	n_vols = 0;
}

static ssize_t find(const char *name)
{
	for (size_t i = 0; i < n_vols; i++)
		if (streq(vols[i].name, name))
			return (ssize_t)i;
	return -1;
}

/* --- state --- */

extern const struct storage_backend storage_fake_lvm;

struct fake_storage {
	struct storage st; /* first */
	char *vgname;
};

static struct fake_storage *fake_of(const struct storage *st)
{
	return storage_state(st, &storage_fake_lvm);
}

const char *storage_fake_vgname(const struct storage *st)
{
	return fake_of(st)->vgname;
}

static int fake_open(struct storage *st, struct error **err)
{
	const char *vg = section_get(st->cfg, "vgname");

	if (!vg)
		return error_set(err, -EINVAL, 500, "storage '%s' has no volume group", st->id);
	fake_of(st)->vgname = xstrdup(vg);
	return 0;
}

static void fake_close(struct storage *st)
{
	free(fake_of(st)->vgname);
}

/* --- grammars --- */

static bool parse_number(const char *s, size_t n, long *ret)
{
	long v = 0;

	if (n == 0 || n > 9 || (s[0] == '0' && n > 1))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*ret = v;
	return true;
}

/* ^(vm|base)-(\d+)-disk-(\d+)$ */
static int lvm_parse_volname(const struct storage *st, const char *v, struct volname_info *ret,
                             struct error **err)
{
	bool base = str_startswith(v, "base-");
	const char *p = base ? v + 5 : str_startswith(v, "vm-") ? v + 3 : NULL;
	const char *dash = p ? strchr(p, '-') : NULL;
	long vmid, n;

	if (!dash || !parse_number(p, (size_t)(dash - p), &vmid) || vmid == 0 ||
	    !str_startswith(dash, "-disk-") || !parse_number(dash + 6, strlen(dash + 6), &n))
		return error_set(err, -EINVAL, 400, "unable to parse lvm volume name '%s'", v);
	*ret = (struct volname_info){
	    .vtype = VTYPE_IMAGES,
	    .name = xstrdup(v),
	    .vmid = vmid,
	    .is_base = base,
	    .format = xstrdup("raw"),
	};
	return 0;
}

static int lax_parse_volname(const struct storage *st, const char *v, struct volname_info *ret,
                             struct error **err)
{
	*ret = (struct volname_info){
	    .vtype = VTYPE_IMAGES, .name = xstrdup(v), .vmid = 1, .format = xstrdup("raw")};
	return 0;
}

/* --- slots --- */

static int fake_activate(struct storage *st, struct error **err)
{
	return 0;
}

static int fake_status(struct storage *st, struct storage_status *ret, struct error **err)
{
	*ret = (struct storage_status){.total = 10ull << 30, .avail = 10ull << 30, .active = true};
	for (size_t i = 0; i < n_vols; i++) {
		ret->used += vols[i].size;
		ret->provisioned += vols[i].size;
	}
	ret->avail -= ret->used;
	/* the LVM-like one reports pool figures, as a thin pool */
	if (st->be == &storage_fake_lvm) {
		storage_status_pool(ret, "fake pool",
		                    100.0 * (double)ret->used / (double)ret->total, 0.5);
		snprintf(ret->health, sizeof(ret->health), "ok");
	}
	return 0;
}

static void fill(size_t i, struct storage_volume *v)
{
	*v = (struct storage_volume){
	    .volname = xstrdup(vols[i].name),
	    .format = xstrdup("raw"),
	    .vtype = xstrdup("images"),
	    .vmid = vols[i].vmid,
	    .size = vols[i].size,
	    .used = vols[i].size,
	    .parent = vols[i].parent ? xstrdup(vols[i].parent) : NULL,
	};
}

static int fake_alloc(struct storage *st, long vmid, const char *fmt, const char *name,
                      uint64_t size, struct task_worker *w, char **ret_volname, struct error **err)
{
	_cleanup_free_ char *n = name ? xstrdup(name) : NULL;

	for (int i = 0; !n && i < VOLNAME_MAX_DISKS; i++) {
		_cleanup_free_ char *try = xasprintf("vm-%ld-disk-%d", vmid, i);
		if (find(try) < 0)
			n = TAKE_PTR(try);
	}
	if (!n || find(n) >= 0)
		return error_set(err, -EEXIST, 500, "volume '%s:%s' already exists", st->id,
		                 n ? n : "?");
	storage_fake_add(n, vmid, size, NULL);
	*ret_volname = TAKE_PTR(n);
	return 0;
}

static int fake_free(struct storage *st, const char *volname, struct task_worker *w,
                     struct error **err)
{
	ssize_t i = find(volname);

	if (i < 0)
		return error_set(err, -ENOENT, 404, "volume '%s:%s' does not exist", st->id,
		                 volname);
	free(vols[i].name);
	free(vols[i].parent);
	vols[i] = vols[--n_vols];
	return 0;
}

static int fake_list(struct storage *st, long vmid, const char *content,
                     struct storage_volume **ret, size_t *ret_n, struct error **err)
{
	struct storage_volume *v = xnew(struct storage_volume, n_vols + 1);
	size_t n = 0;

	for (size_t i = 0; i < n_vols; i++)
		if (!vmid || vols[i].vmid == vmid)
			fill(i, &v[n++]);
	*ret = v;
	*ret_n = n;
	return 0;
}

static int fake_info(struct storage *st, const char *volname, struct storage_volume *ret,
                     struct error **err)
{
	ssize_t i = find(volname);

	if (i < 0)
		return error_set(err, -ENOENT, 404, "volume '%s:%s' does not exist", st->id,
		                 volname);
	fill((size_t)i, ret);
	return 0;
}

static int fake_path(struct storage *st, const char *volname, char **ret_path, struct error **err)
{
	const char *vg = st->be == &storage_fake_lvm ? fake_of(st)->vgname : "lax";

	*ret_path = xasprintf("/dev/%s/%s", vg, volname);
	return 0;
}

const struct storage_backend storage_fake_lvm = {
    .type = "lvm",
    .caps = STORAGE_CAP_THIN,
    .formats = IMAGE_FORMAT_BIT(IMAGE_FORMAT_RAW),
    .default_format = IMAGE_FORMAT_RAW,
    .state_size = sizeof(struct fake_storage),
    .open = fake_open,
    .close = fake_close,
    .parse_volname = lvm_parse_volname,
    .activate = fake_activate,
    .status = fake_status,
    .alloc = fake_alloc,
    .free_volume = fake_free,
    .list = fake_list,
    .info = fake_info,
    .path = fake_path,
};

static const struct storage_backend storage_fake_lax = {
    .type = "zfspool",
    .formats = IMAGE_FORMAT_BIT(IMAGE_FORMAT_RAW),
    .default_format = IMAGE_FORMAT_RAW,
    .parse_volname = lax_parse_volname,
    .activate = fake_activate,
    .status = fake_status,
    .alloc = fake_alloc,
    .free_volume = fake_free,
    .list = fake_list,
    .info = fake_info,
    .path = fake_path,
};

void storage_fake_register(void)
{
	if (storage_backend_find("lvm") != &storage_fake_lvm &&
	    storage_backend_register(&storage_fake_lvm) < 0)
		abort();
	if (storage_backend_find("zfspool") != &storage_fake_lax &&
	    storage_backend_register(&storage_fake_lax) < 0)
		abort();
}
