/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include "common.h"

#include <fcntl.h>
#include <inttypes.h>

#include "strbuf.h"
#include "task-priv.h"
#include "task.h"
#include "xalloc.h"
#include "strutil.h"
#include "utf8.h"

#define UPID_FIELDS 7

/* Perl's \s without the Unicode extras: Proxmox matches UPIDs on byte strings */
static bool perl_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool upid_field_valid(const char *s, size_t len, bool allow_empty)
{
	if (len == 0)
		return allow_empty;
	for (size_t i = 0; i < len; i++)
		if (s[i] == ':' || s[i] == '/' || s[i] == '\0' || perl_space(s[i]))
			return false;
	return true;
}

bool upid_node_valid(const char *s, size_t len)
{
	if (len == 0 || !is_alnum(s[0]) || !is_alnum(s[len - 1]))
		return false;
	for (size_t i = 1; i + 1 < len; i++)
		if (!is_alnum(s[i]) && s[i] != '-')
			return false;
	return true;
}

static bool parse_hex(const char *s, size_t len, size_t min, size_t max, uint64_t *ret)
{
	if (len < min || len > max)
		return false;
	uint64_t v = 0;
	for (size_t i = 0; i < len; i++) {
		int d = hex_digit_value(s[i]);
		if (d < 0)
			return false;
		v = v << 4 | (uint64_t)d;
	}
	*ret = v;
	return true;
}

int upid_parse(const char *s, struct upid *ret)
{
	if (!s || !str_startswith(s, "UPID:"))
		return -EINVAL;

	const char *f[UPID_FIELDS];
	size_t len[UPID_FIELDS];
	const char *p = s + 5;
	for (int i = 0; i < UPID_FIELDS; i++) {
		const char *c = strchr(p, ':');
		if (!c)
			return -EINVAL;
		f[i] = p;
		len[i] = (size_t)(c - p);
		p = c + 1;
	}
	/* the trailing colon ends the UPID: nothing may follow, not even the
	 * newline Perl's '$' would let through */
	if (*p)
		return -EINVAL;

	uint64_t pid, pstart, starttime;
	if (!upid_node_valid(f[0], len[0]) || !parse_hex(f[1], len[1], 8, 8, &pid) ||
	    !parse_hex(f[2], len[2], 8, 9, &pstart) || !parse_hex(f[3], len[3], 8, 8, &starttime) ||
	    !upid_field_valid(f[4], len[4], false) || !upid_field_valid(f[5], len[5], true) ||
	    !upid_field_valid(f[6], len[6], false))
		return -EINVAL;

	*ret = (struct upid){
	    .node = xstrndup(f[0], len[0]),
	    .pid = (pid_t)(uint32_t)pid,
	    .pstart = pstart,
	    .starttime = (time_t)starttime,
	    .type = xstrndup(f[4], len[4]),
	    .id = xstrndup(f[5], len[5]),
	    .user = xstrndup(f[6], len[6]),
	};
	return 0;
}

char *upid_format(const struct upid *u)
{
	return xasprintf("UPID:%s:%08X:%08" PRIX64 ":%08X:%s:%s:%s:", u->node, (unsigned)u->pid,
	                 u->pstart, (unsigned)u->starttime, u->type, u->id ? u->id : "", u->user);
}

void upid_clear(struct upid *u)
{
	if (!u)
		return;
	free(u->node);
	free(u->type);
	free(u->id);
	free(u->user);
	*u = (struct upid){0};
}

char *task_log_path(const char *dir, const char *upid, time_t starttime)
{
	return xasprintf("%s/%X/%s", dir, (unsigned)(starttime & 0xf), upid);
}

int proc_pid_starttime(pid_t pid, uint64_t *ret)
{
	char path[64], buf[4096];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	size_t len = 0;
	for (;;) {
		ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		if (len == sizeof(buf) - 1)
			break;
	}
	close(fd);
	buf[len] = '\0';

	/* comm (field 2) may hold spaces and parentheses: count from the last ')' */
	char *p = strrchr(buf, ')');
	if (!p)
		return -EIO;
	p++;
	for (int field = 3; field <= 22; field++) {
		while (*p == ' ')
			p++;
		if (!*p)
			return -EIO;
		if (field == 22) {
			uint64_t v = 0;
			if (*p < '0' || *p > '9')
				return -EIO;
			for (; *p >= '0' && *p <= '9'; p++)
				v = v * 10 + (uint64_t)(*p - '0');
			*ret = v;
			return 0;
		}
		while (*p && *p != ' ')
			p++;
	}
	return -EIO;
}

bool task_status_from_line(const char *line, char **ret_status)
{
	if (streq(line, "TASK OK")) {
		*ret_status = xstrdup("OK");
		return true;
	}
	if (str_startswith(line, "TASK WARNINGS: ")) {
		const char *n = line + strlen("TASK WARNINGS: ");
		bool digits = *n != '\0';
		for (const char *c = n; *c; c++)
			if (*c < '0' || *c > '9')
				digits = false;
		if (digits) {
			*ret_status = xstrdup(line + strlen("TASK "));
			return true;
		}
	}
	if (str_startswith(line, "TASK ERROR: ") && line[strlen("TASK ERROR: ")]) {
		*ret_status = xstrdup(line + strlen("TASK ERROR: "));
		return true;
	}
	*ret_status = xstrdup("unexpected status");
	return false;
}

int task_log_last_line(const char *path, char **ret_line)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	off_t size = lseek(fd, 0, SEEK_END);
	if (size < 0)
		return -errno;
	size_t want = size > TASK_TAIL_BYTES ? TASK_TAIL_BYTES : (size_t)size;
	_cleanup_free_ char *buf = xmalloc(want + 1);
	size_t got = 0;
	while (got < want) {
		ssize_t n = pread(fd, buf + got, want - got, size - (off_t)want + (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	if (got > 0 && buf[got - 1] == '\n')
		buf[--got] = '\0';
	char *nl = memrchr(buf, '\n', got);
	*ret_line = xstrdup(nl ? nl + 1 : buf);
	return 0;
}

const char *task_status_type(const char *status)
{
	if (!status)
		return "running";
	if (streq(status, "OK"))
		return "ok";
	if (str_startswith(status, "WARNINGS: "))
		return "warning";
	if (streq(status, "unexpected status"))
		return "unknown";
	return "error";
}

json_t *task_json_string(const char *s, size_t len)
{
	json_t *j = json_stringn(s, len);
	if (j)
		return j;
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;
	const unsigned char *u = (const unsigned char *)s;
	for (size_t i = 0; i < len;) {
		size_t n = utf8_seq_len(u + i, len - i);
		if (n == 0) {
			strbuf_addstr(&sb, "\xef\xbf\xbd");
			i++;
		} else {
			strbuf_add(&sb, u + i, n);
			i += n;
		}
	}
	return json_stringn(sb.buf, sb.len);
}

static void set_str(json_t *o, const char *key, const char *s)
{
	json_object_set_new(o, key, task_json_string(s, strlen(s)));
}

json_t *upid_to_json(const char *upid, const struct upid *u)
{
	json_t *o = json_object();
	set_str(o, "upid", upid);
	set_str(o, "node", u->node);
	json_object_set_new(o, "pid", json_integer((json_int_t)(uint32_t)u->pid));
	json_object_set_new(o, "pstart", json_integer((json_int_t)u->pstart));
	json_object_set_new(o, "starttime", json_integer((json_int_t)u->starttime));
	set_str(o, "type", u->type);
	set_str(o, "id", u->id ? u->id : "");
	/* a token's task: user is the owner, tokenid the token's name */
	const char *bang = strchr(u->user, '!');
	if (bang) {
		json_object_set_new(o, "user", task_json_string(u->user, (size_t)(bang - u->user)));
		set_str(o, "tokenid", bang + 1);
	} else {
		set_str(o, "user", u->user);
	}
	return o;
}
