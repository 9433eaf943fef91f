/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * qemu_cmd_build() against PVE's own command lines
 * (conformance/qemu-server/cfg2cmd, README and cfg2cmd-env/ENVIRONMENT.md).
 *
 * Volumes resolve through a table built from cfg2cmd-env/storage.cfg (dir,
 * cifs, btrfs, lvm, lvmthin, krbd); bridges have MTU 1500, vxlan_bridge
 * 1450.  For every case whose options ctvm supports, PVE's argv, with the
 * deliberate differences of ../../data/conformance/qemu-server/DIFFERENCES.md
 * applied, must equal ctvm's word for word.  A case ctvm does not support
 * (pinned QEMU or machine versions, aarch64, q35, templates, passthrough...)
 * must be refused with a 400 that names the key, or is skipped for a
 * reason listed in skip_reason().  Every EXPECT_ERROR case must be refused;
 * the ones whose check is ctvm's too give PVE's message.
 */
#include "common.h"

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>

#include "error.h"
#include "fileio.h"
#include "guest-conf.h"
#include "jsonutil.h"
#include "qemu-cmd.h"
#include "qemu-conf.h"
#include "strbuf.h"
#include "strv.h"
#include "xalloc.h"

#define RUNDIR "/var/run/qemu-server/8006"

static char *path_of(const char *rel)
{
	const char *base = getenv("CTVM_CONFORMANCE");
	assert_non_null(base);
	return xasprintf("%s/qemu-server/%s", base, rel);
}

static char *slurp(const char *rel)
{
	_cleanup_free_ char *p = path_of(rel);
	char *data = NULL;
	size_t len;
	if (read_file(p, 1 << 20, &data, &len, NULL) < 0)
		return NULL;
	return data;
}

/* --- the storages of cfg2cmd-env/storage.cfg --- */

struct storage {
	char type[16], id[32], path[80], vgname[80], pool[80], fsid[80], content[80];
	bool krbd;
};

static struct storage storages[16];
static size_t nstorages;

static void load_storages(void)
{
	_cleanup_free_ char *text = slurp("cfg2cmd-env/storage.cfg");
	assert_non_null(text);
	_cleanup_strv_free_ char **lines = strv_split(text, "\n");
	struct storage *s = NULL;
	for (char **l = lines; *l; l++) {
		char k[32], v[64];
		if (**l != '\t' && strchr(*l, ':')) {
			assert_true(nstorages < ARRAY_SIZE(storages));
			s = &storages[nstorages++];
			assert_int_equal(sscanf(*l, "%15[^:]: %31s", s->type, s->id), 2);
		} else if (s && sscanf(*l, " %31s %63s", k, v) == 2) {
			if (streq(k, "path"))
				snprintf(s->path, sizeof(s->path), "%s", v);
			else if (streq(k, "vgname"))
				snprintf(s->vgname, sizeof(s->vgname), "%s", v);
			else if (streq(k, "pool"))
				snprintf(s->pool, sizeof(s->pool), "%s", v);
			else if (streq(k, "fsid"))
				snprintf(s->fsid, sizeof(s->fsid), "%s", v);
			else if (streq(k, "content"))
				snprintf(s->content, sizeof(s->content), "%s", v);
			else if (streq(k, "krbd"))
				s->krbd = streq(v, "1");
		}
	}
	if (streq(storages[0].type, "cifs")) /* never: cifs has no path line */
		fail();
	for (size_t i = 0; i < nstorages; i++)
		if (streq(storages[i].type, "cifs"))
			snprintf(storages[i].path, sizeof(storages[i].path), "/mnt/pve/%s",
			         storages[i].id);
}

static int resolve(const char *volid, void *userdata, struct qemu_volume *ret, struct error **err)
{
	const char *colon = strchr(volid, ':');
	assert_non_null(colon);
	_cleanup_free_ char *id = xstrndup(volid, (size_t)(colon - volid));
	const char *name = colon + 1;
	const struct storage *s = NULL;
	for (size_t i = 0; i < nstorages; i++)
		if (streq(storages[i].id, id))
			s = &storages[i];
	if (!s)
		return error_set(err, -ENOENT, 400, "storage '%s' does not exist", id);
	bool iso = str_startswith(name, "iso/");
	if (!iso && !strstr(s->content, "images"))
		return error_set(err, -EINVAL, 400,
		                 "storage '%s' does not support content-type 'images'", id);
	*ret = (struct qemu_volume){.storage_type = s->type, .krbd = s->krbd};
	const char *dot = strrchr(name, '.');
	if (dot && (streq(dot, ".qcow2") || streq(dot, ".vmdk")))
		ret->format = xstrdup(dot + 1);
	if (iso) {
		ret->path = xasprintf("%s/template/%s", s->path, name);
	} else if (streq(s->type, "dir") || streq(s->type, "cifs")) {
		ret->path = xasprintf("%s/images/%s", s->path, name);
	} else if (streq(s->type, "btrfs")) {
		/* raw volumes are subvolumes holding disk.raw */
		_cleanup_free_ char *base =
		    xstrndup(name, dot ? (size_t)(dot - name) : strlen(name));
		ret->path = xasprintf("%s/images/%s/disk.raw", s->path, base);
	} else if (streq(s->type, "lvm") || streq(s->type, "lvmthin")) {
		ret->path = xasprintf("/dev/%s/%s", s->vgname, name);
		ret->block = true;
	} else if (streq(s->type, "rbd") && s->krbd) {
		ret->path = xasprintf("/dev/rbd-pve/%s/%s/%s", s->fsid, s->pool, name);
		ret->block = true;
	} else {
		free(ret->format);
		return error_set(err, -EOPNOTSUPP, 400,
		                 "storage type '%s' is not supported by ctvm", s->type);
	}
	return 0;
}

static int bridge_mtu(const char *bridge, void *userdata)
{
	return streq(bridge, "vxlan_bridge") ? 1450 : 1500;
}

static const struct qemu_cmd_env env = {
    .vmid = 8006,
    .rundir = RUNDIR,
    .qemu_binary = "/usr/bin/kvm",
    .kvm_available = true,
    .swtpm_available = true,
    .vhost_net = true,
    .ovmf_code_2m = "/usr/share/pve-edk2-firmware//OVMF_CODE.fd",
    .ovmf_code_4m = "/usr/share/pve-edk2-firmware//OVMF_CODE_4M.fd",
    .resolve = resolve,
    .bridge_mtu = bridge_mtu,
};

/* --- PVE's argv --- */

/* The words of a .conf.cmd: "word \" lines, single quotes as the shell. */
static char **split_cmd(const char *text)
{
	char **v = NULL;
	struct strbuf w = STRBUF_INIT;
	bool in = false;
	for (const char *p = text; *p; p++) {
		if (*p == '\\' && p[1] == '\n') {
			p++;
			continue;
		}
		if (*p == ' ' || *p == '\n') {
			if (in) {
				strv_push(&v, strbuf_detach(&w, NULL));
				strbuf_init(&w, 0);
			}
			in = false;
			continue;
		}
		in = true;
		if (*p == '\'') {
			const char *e = strchr(p + 1, '\'');
			assert_non_null(e);
			strbuf_add(&w, p + 1, (size_t)(e - p - 1));
			p = e;
		} else {
			strbuf_addch(&w, *p);
		}
	}
	if (in)
		strv_push(&v, strbuf_detach(&w, NULL));
	strbuf_release(&w);
	return v;
}

static char *replace(const char *s, const char *from, const char *to)
{
	struct strbuf sb = STRBUF_INIT;
	size_t n = strlen(from);
	for (const char *p = s; *p;) {
		if (strncmp(p, from, n) == 0) {
			strbuf_addstr(&sb, to);
			p += n;
		} else {
			strbuf_addch(&sb, *p++);
		}
	}
	return strbuf_detach(&sb, NULL);
}

/* PVE's argv with DIFFERENCES.md applied. */
static char **expected_argv(char **pve, bool kvm)
{
	static const char *const paths[][2] = {
	    {"/var/run/qemu-server/8006.qmp", RUNDIR "/qmp.sock"},
	    {"/var/run/qemu-server/8006.vnc", RUNDIR "/vnc.sock"},
	    {"/var/run/qemu-server/8006.pid", RUNDIR "/pid"},
	    {"/var/run/qemu-server/8006.qga", RUNDIR "/qga.sock"},
	    {"/var/run/qemu-server/8006.swtpm", RUNDIR "/swtpm.sock"},
	    {"/var/run/qemu-server/8006.serial0", RUNDIR "/serial0.sock"},
	    {"/var/run/qemu-server/8006.serial1", RUNDIR "/serial1.sock"},
	    {"/var/run/qemu-server/8006.serial2", RUNDIR "/serial2.sock"},
	    {"/var/run/qemu-server/8006.serial3", RUNDIR "/serial3.sock"},
	    {"script=/usr/libexec/qemu-server/pve-bridge,"
	     "downscript=/usr/libexec/qemu-server/pve-bridgedown",
	     "script=no,downscript=no"},
	    {",splash=/usr/share/qemu-server/bootsplash.jpg", ""},
	    {",host_tunnel=off", ""},
	};
	char **out = NULL;
	for (char **a = pve; *a; a++) {
		if (streq(*a, "-no-shutdown"))
			continue;
		if (streq(*a, "-id")) {
			a++;
			continue;
		}
		if ((streq(*a, "-iscsi")) ||
		    (streq(*a, "-chardev") && a[1] &&
		     str_startswith(a[1], "socket,id=qmp-event")) ||
		    (streq(*a, "-mon") && a[1] && str_startswith(a[1], "chardev=qmp-event"))) {
			a++;
			continue;
		}
		char *w = xstrdup(*a);
		for (size_t i = 0; i < ARRAY_SIZE(paths); i++) {
			char *r = replace(w, paths[i][0], paths[i][1]);
			free(w);
			w = r;
		}
		if (a > pve && streq(a[-1], "-machine")) {
			/* no "+pveN"; the accelerator always named, where PVE puts accel=tcg */
			char *plus = strstr(w, "+pve");
			if (plus)
				*plus = '\0';
			if (kvm && !strstr(w, "accel=")) {
				char *at = strstr(w, "smm=");
				if (!at)
					at = strstr(w, "type=");
				_cleanup_free_ char *head = xstrndup(w, (size_t)(at - w));
				char *r = xasprintf("%saccel=kvm,%s", head, at);
				free(w);
				w = r;
			}
		}
		strv_push(&out, w);
	}
	return out;
}

/* --- the cases --- */

/* Why a case is not compared, or NULL. */
static const char *skip_reason(const char *conf)
{
	if (strstr(conf, "# QEMU_VERSION:"))
		return "pinned QEMU version";
	if (strstr(conf, "# HOST_ARCH:") || strstr(conf, "\narch:"))
		return "not an x86_64 host or guest";
	if (strstr(conf, "\ntemplate: 1"))
		return "template (PVE starts those only for backups)";
	if (strstr(conf, "\nmachine: pc-i440fx-") || strstr(conf, "\nmachine: pc-q35-") ||
	    strstr(conf, "\nrunningmachine:"))
		return "pinned machine version";
	if (strstr(conf, "\nostype: w") || strstr(conf, "# HOST_CPU_VENDOR:"))
		return "Windows enlightenments and CPU vendors are not modelled";
	if (strstr(conf, "localsnapext:") || strstr(conf, "lvm-store:vm-8006-disk-0.qcow2"))
		return "snapshot volume chains";
	if (strstr(conf, "\nvga: qxl") || strstr(conf, "\nspice"))
		return "SPICE";
	if (strstr(conf, "cpu: Icelake-Client"))
		return "deprecated CPU models PVE maps to others";
	return NULL;
}

static bool refused_as_unsupported(const struct error *e)
{
	if (e->http_status != 400)
		return false;
	if (strstr(e->msg, "not supported by ctvm") || strstr(e->msg, "is not supported"))
		return true;
	const char *k;
	json_t *v;
	json_object_foreach (e->params, k, v)
		if (strstr(json_string_value(v), "not supported") ||
		    strstr(json_string_value(v), "ctvm"))
			return true;
	return false;
}

static void print_first_difference(const char *name, char **want, char **got)
{
	size_t i = 0;
	while (want[i] && got[i] && streq(want[i], got[i]))
		i++;
	print_error("%s: word %zu: expected '%s', got '%s' (after '%s')\n", name, i,
	            want[i] ? want[i] : "(end)", got[i] ? got[i] : "(end)", i ? want[i - 1] : "");
}

static void test_cfg2cmd(void **state)
{
	load_storages();
	_cleanup_free_ char *dirp = path_of("cfg2cmd");
	DIR *d = opendir(dirp);
	assert_non_null(d);
	_cleanup_strv_free_ char **names = NULL;
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);
		if (n > 5 && streq(de->d_name + n - 5, ".conf"))
			strv_extend(&names, de->d_name);
	}
	closedir(d);
	int compared = 0, refused = 0, skipped = 0, errors = 0, mismatches = 0;
	for (char **n = names; n && *n; n++) {
		_cleanup_free_ char *rel = xasprintf("cfg2cmd/%s", *n);
		_cleanup_free_ char *crel = xasprintf("cfg2cmd/%s.cmd", *n);
		_cleanup_free_ char *conf = slurp(rel), *cmd = slurp(crel);
		assert_non_null(conf);
		_cleanup_guest_conf_ struct guest_conf *c = NULL;
		struct error *e = NULL;
		if (qemu_conf_parse(conf, strlen(conf), 8006, GUEST_CONF_STRICT, &c, NULL, &e) < 0)
			fail_msg("%s: %s", *n, e->msg);
		char **argv = NULL;
		int r = qemu_cmd_build(&env, c, &argv, &e);
		_cleanup_strv_free_ char **got = argv;

		const char *expect_error = strstr(conf, "# EXPECT_ERROR: ");
		if (expect_error && r == 0 && strstr(conf, "# QEMU_VERSION:")) {
			skipped++; /* the installed QEMU's version: not the builder's business */
			continue;
		}
		if (expect_error) {
			if (r == 0)
				fail_msg("%s: built, expected an error", *n);
			_cleanup_free_ char *want =
			    xstrndup(expect_error + 16, strcspn(expect_error + 16, "\n"));
			/* the checks ctvm makes itself give PVE's words */
			if ((strstr(want, "explicit media") || strstr(want, "content-type")) &&
			    !streq(e->msg, want))
				fail_msg("%s: got '%s', expected '%s'", *n, e->msg, want);
			e = error_free(e);
			errors++;
			continue;
		}
		assert_non_null(cmd);
		const char *why = skip_reason(conf);
		if (r < 0) {
			if (!refused_as_unsupported(e) && !why)
				fail_msg("%s: refused: %s", *n, e->msg);
			if (getenv("CTVM_TEST_VERBOSE"))
				print_message("%s: refused: %s %s\n", *n, e->msg,
				              e->params ? json_dumps(e->params, 0) : "");
			e = error_free(e);
			refused++;
			continue;
		}
		if (why) {
			skipped++;
			continue;
		}
		_cleanup_strv_free_ char **pve = split_cmd(cmd);
		bool kvm = !strstr(conf, "\nkvm: 0");
		_cleanup_strv_free_ char **want = expected_argv(pve, kvm);
		size_t i = 0;
		while (want[i] && got[i] && streq(want[i], got[i]))
			i++;
		if (want[i] || got[i]) {
			print_first_difference(*n, want, got);
			mismatches++;
			continue;
		}
		compared++;
	}
	print_message("cfg2cmd: %d compared word for word, %d refused as unsupported, %d skipped, "
	              "%d expected errors, %d different\n",
	              compared, refused, skipped, errors, mismatches);
	assert_int_equal(mismatches, 0);
	assert_true(compared >= 20);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cfg2cmd),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
