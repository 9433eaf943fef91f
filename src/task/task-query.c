/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The read side of tasks: status, log and list.  Running tasks come from
 * the manager's live list; ended ones from their log and the index.
 */
#include "common.h"

#include <fcntl.h>
#include <pthread.h>

#include "error.h"
#include "fileio.h"
#include "strbuf.h"
#include "task-priv.h"
#include "task.h"
#include "xalloc.h"

#define DEFAULT_LIMIT 50
/* a log line longer than this is cut in the answer (the file keeps it) */
#define LOG_LINE_MAX (64 * 1024)

static int parse_upid_param(const char *upid, struct upid *u, struct error **err)
{
	if (!upid || upid_parse(upid, u) < 0)
		return error_param(err, "upid", "unable to parse worker upid");
	return 0;
}

static bool is_live(struct task_manager *tm, const char *upid)
{
	pthread_mutex_lock(&tm->lock);
	bool live = task_live_find_locked(tm, upid) != NULL;
	pthread_mutex_unlock(&tm->lock);
	return live;
}

int task_log_file(struct task_manager *tm, const char *upid, char **ret_path, struct error **err)
{
	struct upid u;
	int r = parse_upid_param(upid, &u, err);
	if (r < 0)
		return r;
	char *path = task_log_path(tm->dir, upid, u.starttime);
	upid_clear(&u);
	if (access(path, F_OK) < 0) {
		free(path);
		return error_set(err, -ENOENT, 400, "no such task");
	}
	*ret_path = path;
	return 0;
}

int task_status(struct task_manager *tm, const char *upid, json_t **ret, struct error **err)
{
	struct upid u;
	int r = parse_upid_param(upid, &u, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *path = task_log_path(tm->dir, upid, u.starttime);
	_cleanup_free_ char *last = NULL;
	_cleanup_free_ char *status = NULL;

	/* live is asked first: a task leaves the live list only after its
	 * log got its final line */
	bool running = is_live(tm, upid);
	if (!running) {
		r = task_log_last_line(path, &last);
		if (r < 0) {
			upid_clear(&u);
			if (r == -ENOENT)
				return error_set(err, r, 400, "no such task");
			return error_set(err, r, 500, "unable to read task log - %s", strerror(-r));
		}
		task_status_from_line(last, &status);
	} else if (access(path, F_OK) < 0) {
		upid_clear(&u);
		return error_set(err, -ENOENT, 400, "no such task");
	}

	json_t *o = upid_to_json(upid, &u);
	upid_clear(&u);
	json_object_set_new(o, "status", json_string(running ? "running" : "stopped"));
	if (!running)
		json_object_set_new(o, "exitstatus", task_json_string(status, strlen(status)));
	*ret = o;
	return 0;
}

static void emit_line(json_t *arr, unsigned n, struct strbuf *line)
{
	json_t *o = json_object();
	json_object_set_new(o, "n", json_integer(n));
	json_object_set_new(o, "t", task_json_string(line->buf, line->len));
	json_array_append_new(arr, o);
}

int task_read_log(struct task_manager *tm, const char *upid, unsigned start, unsigned limit,
                  json_t **ret, unsigned *ret_total, struct error **err)
{
	struct upid u;
	int r = parse_upid_param(upid, &u, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *path = task_log_path(tm->dir, upid, u.starttime);
	upid_clear(&u);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		if (errno == ENOENT)
			return error_set(err, -ENOENT, 400, "no such task");
		return error_set(err, -errno, 500, "unable to open task log - %s", strerror(errno));
	}
	if (limit == 0)
		limit = DEFAULT_LIMIT;
	uint64_t end = (uint64_t)start + limit;

	/* stream: only the lines asked for are kept, each cut at LOG_LINE_MAX */
	json_t *arr = json_array();
	_cleanup_strbuf_ struct strbuf line = STRBUF_INIT;
	_cleanup_free_ char *buf = xmalloc(65536);
	unsigned count = 0;
	bool partial = false;
	for (;;) {
		ssize_t n = read(fd, buf, 65536);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			json_decref(arr);
			return error_set(err, -errno, 500, "unable to read task log - %s",
			                 strerror(errno));
		}
		if (n == 0)
			break;
		for (char *p = buf, *e = buf + n; p < e;) {
			char *nl = memchr(p, '\n', (size_t)(e - p));
			size_t len = (size_t)((nl ? nl : e) - p);
			bool wanted = count >= start && count < end;
			if (wanted && line.len < LOG_LINE_MAX)
				strbuf_add(&line, p,
				           len < LOG_LINE_MAX - line.len ? len
				                                         : LOG_LINE_MAX - line.len);
			partial = true;
			if (!nl)
				break;
			if (wanted)
				emit_line(arr, count + 1, &line);
			strbuf_reset(&line);
			count++;
			partial = false;
			p = nl + 1;
		}
	}
	if (partial) {
		if (count >= start && count < end)
			emit_line(arr, count + 1, &line);
		count++;
	}
	if (count == 0) {
		/* like Proxmox: clients' paging does not like an empty answer */
		json_t *o = json_object();
		json_object_set_new(o, "n", json_integer(1));
		json_object_set_new(o, "t", json_string("no content"));
		json_array_append_new(arr, o);
		count = 1;
	}
	*ret = arr;
	if (ret_total)
		*ret_total = count;
	return 0;
}

/* ------------------------------------------------------------------ */
/* index                                                               */

static bool parse_index_line(char *line, struct task_index_entry *ret)
{
	char *sp = strchr(line, ' ');
	if (!sp)
		return false;
	*sp = '\0';
	char *end = sp + 1;
	char *sp2 = strchr(end, ' ');
	if (sp2)
		*sp2 = '\0';
	size_t elen = strlen(end);
	if (elen == 0 || elen > 16)
		return false;
	uint64_t t = 0;
	for (const char *c = end; *c; c++) {
		int d = (*c >= '0' && *c <= '9')   ? *c - '0'
		        : (*c >= 'A' && *c <= 'F') ? *c - 'A' + 10
		        : (*c >= 'a' && *c <= 'f') ? *c - 'a' + 10
		                                   : -1;
		if (d < 0)
			return false;
		t = t << 4 | (uint64_t)d;
	}
	struct upid u;
	if (upid_parse(line, &u) < 0)
		return false;
	*ret = (struct task_index_entry){
	    .upid = xstrdup(line),
	    .u = u,
	    .endtime = (time_t)t,
	    .status = xstrdup(sp2 && sp2[1] ? sp2 + 1 : "unexpected status"),
	};
	return true;
}

static int load_one(const char *path, struct task_index_entry **arr, size_t *n, size_t *alloc,
                    struct error **err)
{
	_cleanup_free_ char *data = NULL;
	_cleanup_error_ struct error *rerr = NULL;
	int r = read_file(path, TASK_STATE_FILE_MAX, &data, NULL, &rerr);
	if (r == -ENOENT)
		return 0;
	if (r < 0) {
		error_propagate(err, TAKE_PTR(rerr));
		return r;
	}
	for (char *line = data, *next; *line; line = next) {
		next = line + strcspn(line, "\n");
		if (*next)
			*next++ = '\0';
		if (*n == *alloc) {
			*alloc = *alloc ? *alloc * 2 : 64;
			*arr = xrealloc(*arr, *alloc * sizeof(**arr));
		}
		if (parse_index_line(line, &(*arr)[*n]))
			(*n)++;
	}
	return 0;
}

int task_index_load(const struct task_manager *tm, struct task_index_entry **ret, size_t *ret_n,
                    struct error **err)
{
	struct task_index_entry *arr = NULL;
	size_t n = 0, alloc = 0;
	int r = load_one(tm->index1_path, &arr, &n, &alloc, err);
	if (r == 0)
		r = load_one(tm->index_path, &arr, &n, &alloc, err);
	if (r < 0) {
		task_index_free(arr, n);
		return r;
	}
	*ret = arr;
	*ret_n = n;
	return 0;
}

void task_index_free(struct task_index_entry *e, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(e[i].upid);
		upid_clear(&e[i].u);
		free(e[i].status);
	}
	free(e);
}

/* ------------------------------------------------------------------ */
/* list                                                                */

struct list_item {
	const char *upid;
	const struct upid *u;
	bool finished;
	time_t endtime;
	const char *status;
	size_t seq; /* order of appearance: later is newer on equal starttime */
};

static int item_cmp(const void *a, const void *b)
{
	const struct list_item *x = a, *y = b;
	if (x->u->starttime != y->u->starttime)
		return x->u->starttime > y->u->starttime ? -1 : 1;
	return x->seq > y->seq ? -1 : x->seq < y->seq ? 1 : 0;
}

static bool user_visible(const char *task_user, const char *only)
{
	if (!only)
		return true;
	if (strchr(only, '!'))
		return streq(task_user, only);
	size_t n = strlen(only);
	return strncmp(task_user, only, n) == 0 && (task_user[n] == '\0' || task_user[n] == '!');
}

static bool statusfilter_has(const char *list, const char *type)
{
	size_t tl = strlen(type);
	for (const char *p = list; *p;) {
		size_t l = strcspn(p, ",");
		const char *s = p;
		size_t sl = l;
		while (sl > 0 && *s == ' ')
			s++, sl--;
		while (sl > 0 && s[sl - 1] == ' ')
			sl--;
		if (sl == tl && strncasecmp(s, type, tl) == 0)
			return true;
		p += l;
		if (*p == ',')
			p++;
	}
	return false;
}

/* Proxmox's filter order and rules (PVE::API2::Tasks node_tasks). */
static bool item_matches(const struct list_item *it, const struct task_filter *f)
{
	const struct upid *u = it->u;
	if (!user_visible(u->user, f->only_user))
		return false;
	if (f->userfilter && *f->userfilter && !strcasestr(u->user, f->userfilter))
		return false;
	if (f->typefilter && *f->typefilter && !streq(u->type, f->typefilter))
		return false;
	/* running tasks have no status yet and pass, as in Proxmox */
	if (f->errors && it->status && streq(it->status, "OK"))
		return false;
	if (f->vmid && *f->vmid && !streq(u->id ? u->id : "", f->vmid))
		return false;
	if (f->since && u->starttime < f->since)
		return false;
	if (f->until && u->starttime > f->until)
		return false;
	if (f->statusfilter && *f->statusfilter &&
	    !statusfilter_has(f->statusfilter, task_status_type(it->status)))
		return false;
	return true;
}

int task_list(struct task_manager *tm, const struct task_filter *f, json_t **ret,
              unsigned *ret_total, struct error **err)
{
	static const struct task_filter none = {0};
	if (!f)
		f = &none;
	const char *source = f->source && *f->source ? f->source : "archive";
	bool want_archive = streq(source, "archive") || streq(source, "all");
	bool want_active = streq(source, "active") || streq(source, "all");
	if (!want_archive && !want_active)
		return error_param(
		    err, "source",
		    "value '%s' does not have a value in the enumeration 'archive, active, all'",
		    source);

	/* the live list before the index: a task ending in between is then
	 * seen in both (and counted once), never in neither */
	struct upid *live_u = NULL;
	char **live_upid = NULL;
	size_t nlive = 0;
	if (want_active) {
		pthread_mutex_lock(&tm->lock);
		for (struct task_entry *e = tm->live; e; e = e->next)
			nlive++;
		live_u = xnew(struct upid, nlive ? nlive : 1);
		live_upid = xnew(char *, nlive ? nlive : 1);
		size_t i = 0;
		for (struct task_entry *e = tm->live; e; e = e->next, i++) {
			live_upid[i] = xstrdup(e->upid);
			live_u[i] = (struct upid){
			    .node = xstrdup(e->u.node),
			    .pid = e->u.pid,
			    .pstart = e->u.pstart,
			    .starttime = e->u.starttime,
			    .type = xstrdup(e->u.type),
			    .id = xstrdup(e->u.id ? e->u.id : ""),
			    .user = xstrdup(e->u.user),
			};
		}
		pthread_mutex_unlock(&tm->lock);
	}

	struct task_index_entry *idx = NULL;
	size_t nidx = 0;
	int r = 0;
	{
		/* the lock keeps a rotation from hiding lines between the reads */
		int lfd = lock_file(tm->active_path, TASK_LOCK_TIMEOUT_MS, err);
		if (lfd < 0)
			r = lfd;
		else
			r = task_index_load(tm, &idx, &nidx, err);
		unlock_file(lfd);
	}

	struct list_item *items = NULL;
	size_t nitems = 0;
	if (r == 0) {
		items = xnew(struct list_item, nidx + nlive + 1);
		for (size_t i = 0; i < nidx; i++) {
			bool ended_now = false;
			for (size_t j = 0; j < nlive; j++)
				if (streq(live_upid[j], idx[i].upid))
					ended_now = true;
			if (!want_archive && !ended_now)
				continue;
			items[nitems++] = (struct list_item){
			    .upid = idx[i].upid,
			    .u = &idx[i].u,
			    .finished = true,
			    .endtime = idx[i].endtime,
			    .status = idx[i].status,
			    .seq = i,
			};
		}
		for (size_t j = 0; j < nlive; j++) {
			bool archived = false;
			for (size_t i = 0; i < nidx && !archived; i++)
				archived = streq(live_upid[j], idx[i].upid);
			if (archived)
				continue;
			items[nitems++] = (struct list_item){
			    .upid = live_upid[j],
			    .u = &live_u[j],
			    .seq = nidx + j,
			};
		}
		qsort(items, nitems, sizeof(*items), item_cmp);

		unsigned limit = f->limit ? f->limit : DEFAULT_LIMIT;
		unsigned count = 0;
		json_t *arr = json_array();
		for (size_t i = 0; i < nitems; i++) {
			if (!item_matches(&items[i], f))
				continue;
			count++;
			if (count <= f->start || count > (uint64_t)f->start + limit)
				continue;
			json_t *o = upid_to_json(items[i].upid, items[i].u);
			if (items[i].finished) {
				json_object_set_new(o, "endtime",
				                    json_integer((json_int_t)items[i].endtime));
				json_object_set_new(
				    o, "status",
				    task_json_string(items[i].status, strlen(items[i].status)));
			}
			json_array_append_new(arr, o);
		}
		*ret = arr;
		if (ret_total)
			*ret_total = count;
	}

	free(items);
	task_index_free(idx, nidx);
	for (size_t j = 0; j < nlive; j++) {
		free(live_upid[j]);
		upid_clear(&live_u[j]);
	}
	free(live_upid);
	free(live_u);
	return r;
}
