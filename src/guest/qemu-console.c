/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include "common.h"

#include <sys/random.h>
#include <unistd.h>

#include "error.h"
#include "fileio.h"
#include "guest.h"
#include "jsonutil.h"
#include "log.h"
#include "qemu-console.h"
#include "qemu-run.h"
#include "qmp.h"
#include "strbuf.h"
#include "xalloc.h"

/* A screenshot of the largest screen takes QEMU a moment under TCG. */
#define SCREENDUMP_TIMEOUT_MS 30000
/* How long a key stays down (QEMU's default is 100 ms; the guest sees a
 * press and a release either way). */
#define KEY_HOLD_MS 20

static const struct guest_kind_ops *qemu_kind(void)
{
	return guest_kind_find("qemu");
}

static struct qemu_run_env run_env(struct guest_store *gs)
{
	return (struct qemu_run_env){.run_root = guest_store_run_dir(gs)};
}

/* The run directory of running VM vmid; 500 "VM 100 not running". */
static int running_dir(struct guest_store *gs, long vmid, char **ret, struct error **err)
{
	struct qemu_run_env env = run_env(gs);
	int r = guest_find(gs, qemu_kind(), vmid, NULL, err);
	if (r < 0)
		return r;
	if (qemu_run_is_running(&env, vmid, NULL) != 1)
		return error_set(err, -ESRCH, 500, "VM %ld not running", vmid);
	return qemu_run_dir(&env, vmid, false, ret, err);
}

int qemu_console_screenshot(struct guest_store *gs, long vmid, char **ret_png, size_t *ret_len,
                            struct error **err)
{
	_cleanup_free_ char *dir = NULL;
	int r = running_dir(gs, vmid, &dir, err);
	if (r < 0)
		return r;
	uint64_t rnd;
	if (getrandom(&rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return error_set(err, -EIO, 500, "unable to take a screenshot of VM %ld", vmid);
	/* a name of its own: two screenshots at once do not meet */
	_cleanup_free_ char *path =
	    xasprintf("%s/screenshot-%016llx.png", dir, (unsigned long long)rnd);
	_cleanup_json_ json_t *args = json_pack("{s:s,s:s}", "filename", path, "format", "png");
	_cleanup_free_ char *sock = path_join(dir, "qmp.sock");
	_cleanup_free_ char *label = xasprintf("VM %ld", vmid);
	_cleanup_qmp_ struct qmp *q = NULL;
	r = qmp_connect(sock, label, SCREENDUMP_TIMEOUT_MS, &q, err);
	if (r < 0)
		return r;
	r = qmp_execute(q, "screendump", args, SCREENDUMP_TIMEOUT_MS, NULL, err);
	if (r < 0) {
		unlink(path);
		return r;
	}
	/* QEMU wrote it: read it as a file someone else may have planted */
	struct error *e = NULL;
	r = read_file_full(path, QEMU_SCREENSHOT_MAX, READ_FILE_NOFOLLOW, ret_png, ret_len, &e);
	unlink(path);
	if (r < 0) {
		/* the message names a host path: keep it in the log */
		log_debug("VM %ld: screenshot: %s", vmid, e ? e->msg : strerror(-r));
		error_free(e);
		return error_set(err, r, 500,
		                 r == -EFBIG ? "screenshot of VM %ld exceeds %u bytes"
		                             : "unable to read the screenshot of VM %ld",
		                 vmid, QEMU_SCREENSHOT_MAX);
	}
	return 0;
}

/* ---- text as key presses ---- */

/* en-us: the qcode of each printable ASCII character from ' ' on, and
 * whether it needs shift. */
static const struct {
	const char *qcode;
	bool shift;
} us_keys[0x7f - 0x20] = {
    [' ' - 0x20] = {"spc", false},
    ['!' - 0x20] = {"1", true},
    ['"' - 0x20] = {"apostrophe", true},
    ['#' - 0x20] = {"3", true},
    ['$' - 0x20] = {"4", true},
    ['%' - 0x20] = {"5", true},
    ['&' - 0x20] = {"7", true},
    ['\'' - 0x20] = {"apostrophe", false},
    ['(' - 0x20] = {"9", true},
    [')' - 0x20] = {"0", true},
    ['*' - 0x20] = {"8", true},
    ['+' - 0x20] = {"equal", true},
    [',' - 0x20] = {"comma", false},
    ['-' - 0x20] = {"minus", false},
    ['.' - 0x20] = {"dot", false},
    ['/' - 0x20] = {"slash", false},
    [':' - 0x20] = {"semicolon", true},
    [';' - 0x20] = {"semicolon", false},
    ['<' - 0x20] = {"comma", true},
    ['=' - 0x20] = {"equal", false},
    ['>' - 0x20] = {"dot", true},
    ['?' - 0x20] = {"slash", true},
    ['@' - 0x20] = {"2", true},
    ['[' - 0x20] = {"bracket_left", false},
    ['\\' - 0x20] = {"backslash", false},
    [']' - 0x20] = {"bracket_right", false},
    ['^' - 0x20] = {"6", true},
    ['_' - 0x20] = {"minus", true},
    ['`' - 0x20] = {"grave_accent", false},
    ['{' - 0x20] = {"bracket_left", true},
    ['|' - 0x20] = {"backslash", true},
    ['}' - 0x20] = {"bracket_right", true},
    ['~' - 0x20] = {"grave_accent", true},
};

/* The keys of ASCII character c on en-us, or NULL. */
static json_t *us_char_keys(unsigned char c)
{
	static const char digits[] = "0123456789";
	char name[2] = {0};
	const char *qcode = NULL;
	bool shift = false;
	if (c == '\n' || c == '\r') {
		qcode = "ret";
	} else if (c == '\t') {
		qcode = "tab";
	} else if (c >= 'a' && c <= 'z') {
		name[0] = (char)c;
		qcode = name;
	} else if (c >= 'A' && c <= 'Z') {
		name[0] = (char)(c - 'A' + 'a');
		qcode = name;
		shift = true;
	} else if (c >= '0' && c <= '9') {
		name[0] = digits[c - '0'];
		qcode = name;
	} else if (c >= 0x20 && c < 0x7f && us_keys[c - 0x20].qcode) {
		qcode = us_keys[c - 0x20].qcode;
		shift = us_keys[c - 0x20].shift;
	}
	if (!qcode)
		return NULL;
	return shift ? json_pack("[s,s]", "shift", qcode) : json_pack("[s]", qcode);
}

/* The length of the UTF-8 sequence at s (1 for a byte that starts none)
 * and its code point, or -1 when invalid. */
static size_t utf8_next(const unsigned char *s, long *ret_cp)
{
	size_t n = s[0] < 0x80             ? 1
	           : (s[0] & 0xe0) == 0xc0 ? 2
	           : (s[0] & 0xf0) == 0xe0 ? 3
	           : (s[0] & 0xf8) == 0xf0 ? 4
	                                   : 0;
	if (n == 0) {
		*ret_cp = -1;
		return 1;
	}
	long cp = n == 1 ? s[0] : s[0] & (0x7f >> n);
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80) {
			*ret_cp = -1;
			return 1;
		}
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	*ret_cp = cp;
	return n;
}

int qemu_console_text_keys(const char *text, const char *keymap, json_t **ret, struct error **err)
{
	if (keymap && !streq(keymap, "en-us"))
		return error_set(err, -EOPNOTSUPP, 501,
		                 "typing text is not available for keyboard '%s' (only en-us)",
		                 keymap);
	_cleanup_json_ json_t *all = json_array();
	struct strbuf bad = STRBUF_INIT;
	size_t nbad = 0;
	for (const unsigned char *p = (const unsigned char *)text; *p;) {
		long cp;
		size_t n = utf8_next(p, &cp);
		if (p[0] == '\r' && p[1] == '\n') { /* one line end, one ret */
			p++;
			continue;
		}
		json_t *keys = cp >= 0 && cp < 0x80 ? us_char_keys((unsigned char)cp) : NULL;
		if (keys) {
			json_array_append_new(all, keys);
		} else {
			char name[24];
			if (cp < 0)
				snprintf(name, sizeof(name), "\\x%02x", p[0]);
			else
				snprintf(name, sizeof(name), "U+%04lX", cp);
			/* each refused character once, at most 16 */
			if (!strstr(bad.buf ? bad.buf : "", name) && nbad++ < 16)
				strbuf_addf(&bad, "%s%s", bad.len ? " " : "", name);
		}
		p += n;
	}
	if (nbad) {
		int r = error_param(err, "text", "cannot type %s%s with keyboard en-us", bad.buf,
		                    nbad > 16 ? " ..." : "");
		strbuf_release(&bad);
		return r;
	}
	strbuf_release(&bad);
	*ret = TAKE_PTR(all);
	return 0;
}

int qemu_console_type(struct guest_store *gs, long vmid, const char *text, bool skiplock,
                      size_t *ret_keys, struct error **err)
{
	if (strlen(text) > QEMU_TYPE_TEXT_MAX)
		return error_param(err, "text", "longer than %d bytes", QEMU_TYPE_TEXT_MAX);
	int fd = guest_config_lock(gs, qemu_kind(), vmid, err);
	if (fd < 0)
		return fd;
	struct guest g = {0};
	_cleanup_json_ json_t *list = NULL;
	_cleanup_free_ char *dir = NULL;
	int r = guest_get(gs, qemu_kind(), vmid, &g, err);
	if (r == 0) {
		const char *lock = json_string_value(json_object_get(g.conf, "lock"));
		const char *keymap = json_string_value(json_object_get(g.conf, "keyboard"));
		if (lock && *lock && !skiplock)
			r = error_set(err, -EBUSY, 500, "VM is locked (%s)", lock);
		if (r == 0)
			r = qemu_console_text_keys(text, keymap, &list, err);
		guest_release(&g);
	}
	if (r == 0)
		r = running_dir(gs, vmid, &dir, err);
	_cleanup_qmp_ struct qmp *q = NULL;
	if (r == 0) {
		_cleanup_free_ char *sock = path_join(dir, "qmp.sock");
		_cleanup_free_ char *label = xasprintf("VM %ld", vmid);
		r = qmp_connect(sock, label, QEMU_RUN_QMP_TIMEOUT_MS, &q, err);
	}
	size_t i;
	json_t *keys;
	json_array_foreach (r == 0 ? list : NULL, i, keys) {
		_cleanup_json_ json_t *args =
		    json_pack("{s:[],s:i}", "keys", "hold-time", KEY_HOLD_MS);
		json_t *a = json_object_get(args, "keys");
		size_t k;
		json_t *name;
		json_array_foreach (keys, k, name)
			json_array_append_new(
			    a, json_pack("{s:s,s:O}", "type", "qcode", "data", name));
		r = qmp_execute(q, "send-key", args, QEMU_RUN_QMP_TIMEOUT_MS, NULL, err);
		if (r < 0)
			break;
	}
	unlock_file(fd);
	if (r == 0 && ret_keys)
		*ret_keys = json_array_size(list);
	return r;
}
