/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include "common.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>

#include <nettle/sha2.h>

#include "audit.h"
#include "error.h"
#include "xalloc.h"

#define HASH_HEX (SHA256_DIGEST_SIZE * 2)
/* A line longer than this is cut: the log must stay bounded per request. */
#define AUDIT_MAX_LINE 16384

struct audit_log {
	pthread_mutex_t lock;
	int fd;
	char prev[HASH_HEX + 1];
};

static void sha256_hex(const char *data, size_t len, char out[HASH_HEX + 1])
{
	struct sha256_ctx ctx;
	uint8_t d[SHA256_DIGEST_SIZE];
	sha256_init(&ctx);
	sha256_update(&ctx, len, (const uint8_t *)data);
	sha256_digest(&ctx, sizeof(d), d);
	for (size_t i = 0; i < sizeof(d); i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

/* The hash of the last line of fd's file, or zeros for an empty file. */
static void last_line_hash(int fd, char out[HASH_HEX + 1])
{
	memset(out, '0', HASH_HEX);
	out[HASH_HEX] = '\0';
	struct stat st;
	if (fstat(fd, &st) < 0 || st.st_size == 0)
		return;
	size_t want = st.st_size < AUDIT_MAX_LINE + 2 ? (size_t)st.st_size : AUDIT_MAX_LINE + 2;
	_cleanup_free_ char *buf = xmalloc(want);
	ssize_t n = pread(fd, buf, want, st.st_size - (off_t)want);
	if (n <= 1)
		return;
	size_t end = (size_t)n;
	if (buf[end - 1] == '\n')
		end--;
	size_t start = end;
	while (start > 0 && buf[start - 1] != '\n')
		start--;
	sha256_hex(buf + start, end - start, out);
}

struct audit_log *audit_log_open(const char *path, struct error **err)
{
	int fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (fd < 0) {
		error_set(err, -errno, 500, "unable to open audit log '%s' - %s", path,
		          strerror(errno));
		return NULL;
	}
	struct audit_log *a = xnew(struct audit_log, 1);
	pthread_mutex_init(&a->lock, NULL);
	a->fd = fd;
	last_line_hash(fd, a->prev);
	return a;
}

struct audit_log *audit_log_close(struct audit_log *a)
{
	if (!a)
		return NULL;
	close(a->fd);
	pthread_mutex_destroy(&a->lock);
	free(a);
	return NULL;
}

int audit_log_append(struct audit_log *a, json_t *entry)
{
	if (!a)
		return 0;
	pthread_mutex_lock(&a->lock);
	json_object_set_new(entry, "prev", json_string(a->prev));
	char *line = json_dumps(entry, JSON_COMPACT | JSON_ENSURE_ASCII);
	int r = 0;
	if (!line) {
		r = -ENOMEM;
		goto out;
	}
	size_t len = strlen(line);
	if (len > AUDIT_MAX_LINE) {
		/* keep the chain intact: replace params rather than cutting JSON */
		free(line);
		json_object_set_new(entry, "params", json_string("(too long)"));
		line = json_dumps(entry, JSON_COMPACT | JSON_ENSURE_ASCII);
		len = strlen(line);
	}
	char *rec = xmalloc(len + 1);
	memcpy(rec, line, len);
	rec[len] = '\n';
	if (write(a->fd, rec, len + 1) != (ssize_t)(len + 1))
		r = -EIO;
	else
		sha256_hex(line, len, a->prev);
	free(rec);
	free(line);
out:
	pthread_mutex_unlock(&a->lock);
	return r;
}

static bool is_secret(const char *const *secret, const char *key)
{
	for (size_t i = 0; secret && secret[i]; i++)
		if (streq(secret[i], key))
			return true;
	return false;
}

/* A string that is not UTF-8 (jansson refuses it) is written as null
 * rather than losing the whole line. */
static json_t *string_or_null(const char *s)
{
	json_t *j = s ? json_string(s) : NULL;
	return j ? j : json_null();
}

int audit_log_record(struct audit_log *a, const struct audit_record *rec)
{
	if (!a)
		return 0;
	json_t *p = json_object();
	const char *key;
	json_t *v;
	json_object_foreach ((json_t *)rec->params, key, v)
		json_object_set_new(
		    p, key, is_secret(rec->secret, key) ? json_string("***") : json_incref(v));
	/* the order of the keys is the line's: keep it */
	json_t *e = json_object();
	json_object_set_new(e, "time", json_integer((json_int_t)rec->time));
	json_object_set_new(e, "addr", string_or_null(rec->addr));
	json_object_set_new(e, "method", string_or_null(rec->method));
	json_object_set_new(e, "path", string_or_null(rec->path));
	json_object_set_new(e, "params", p);
	json_object_set_new(e, "status", json_integer(rec->status));
	json_object_set_new(e, "user", string_or_null(rec->user));
	if (rec->token)
		json_object_set_new(e, "token", string_or_null(rec->token));
	json_object_set_new(e, "result", string_or_null(rec->result));
	if (rec->upid)
		json_object_set_new(e, "upid", string_or_null(rec->upid));
	int r = audit_log_append(a, e);
	json_decref(e);
	return r;
}

int audit_log_verify(const char *path, unsigned long *ret_line, struct error **err)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return error_set(err, -errno, 500, "unable to open '%s' - %s", path,
		                 strerror(errno));
	char prev[HASH_HEX + 1];
	memset(prev, '0', HASH_HEX);
	prev[HASH_HEX] = '\0';
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	unsigned long no = 0;
	int r = 0;
	while ((n = getline(&line, &cap, f)) > 0) {
		no++;
		if (line[n - 1] == '\n')
			line[--n] = '\0';
		json_error_t je;
		json_t *o = json_loads(line, 0, &je);
		const char *p = json_string_value(json_object_get(o, "prev"));
		bool ok = p && streq(p, prev);
		json_decref(o);
		if (!ok) {
			r = -EBADMSG;
			if (ret_line)
				*ret_line = no;
			break;
		}
		sha256_hex(line, (size_t)n, prev);
	}
	free(line);
	fclose(f);
	return r;
}
