/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The usage history collector (rrd-collector.h). */
#define LOG_CATEGORY "rrd"
#include "common.h"

#include <dirent.h>
#include <math.h>
#include <pthread.h>
#include <time.h>

#include "error.h"
#include "fileio.h"
#include "log.h"
#include "node-stats.h"
#include "rrd-collector.h"
#include "section-config.h"
#include "storage-config.h"
#include "storage-probe.h"
#include "storage.h"
#include "xalloc.h"

#define SAMPLES_PER_STEP 6     /* every 10 s at the 60 s step, as pvestatd */
#define STEPS_PER_SAVE   5     /* every 5 min at the 60 s step */
#define MAX_FUTURE       86400 /* a file from further ahead than this is dropped */

struct entry {
	char *id;
	struct rrd *rrd; /* NULL: no history (yet) */
	bool dirty;
	bool seen;
	struct storage_probe *pending; /* a probe whose thread has not ended */
	struct storage_status last;    /* the last sample's (inactive when it failed) */
	int64_t last_ms;               /* CLOCK_MONOTONIC ms of it; 0: none yet */
};

struct guest_entry {
	long vmid;
	struct rrd *rrd;
	bool dirty;
	bool seen;
};

struct rrd_collector {
	pthread_t thread;
	pthread_mutex_t lock; /* guards everything below that the thread changes */
	pthread_cond_t wake;
	bool stop;

	char *node;
	char *node_path;   /* DIR/pve2-node/NODE */
	char *storage_dir; /* DIR/pve2-storage/NODE */
	struct node_stats *stats;
	struct storage_config_store *store;
	unsigned step, sample_ms, save_ms;

	struct rrd *node_rrd;
	bool node_dirty;
	char *guest_dir; /* DIR/pve2-vm */
	rrd_guests_fn guests;
	void *guests_userdata;
	struct guest_entry *gentries;
	size_t n_gentries;
	struct entry *entries;
	size_t n_entries;
};

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct timespec mono_after(unsigned ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

/* pve-storage-id: letters, digits, '-', '_', '.'; never a path */
static bool safe_name(const char *s)
{
	if (!s[0] || s[0] == '.' || strlen(s) > 100)
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") ==
	       strlen(s);
}

static char *series_path(struct rrd_collector *c, const char *id)
{
	return path_join(c->storage_dir, id);
}

/* A file that cannot be used is renamed aside (kept for a look) and the
 * series starts again; NULL when there is none. */
static struct rrd *load_series(struct rrd_collector *c, const struct rrd_def *def, const char *path)
{
	struct rrd *r = NULL;
	struct error *e = NULL;
	int k = rrd_load(def, c->step, path, &r, &e);

	if (k == -ENOENT) {
		error_free(e);
		return NULL;
	}
	if (k == 0 && rrd_last_update(r) > time(NULL) + MAX_FUTURE) {
		r = rrd_free(r);
		k = error_set(&e, -EINVAL, 500, "rrd file '%s': last update in the future", path);
	}
	if (k < 0) {
		_cleanup_free_ char *aside = xasprintf("%s.bad", path);
		log_warn("%s; starting a new history (old file kept as '%s')", e->msg, aside);
		if (rename(path, aside) < 0)
			unlink(path);
	}
	error_free(e);
	return r;
}

static struct entry *find_entry(struct rrd_collector *c, const char *id)
{
	for (size_t i = 0; i < c->n_entries; i++)
		if (streq(c->entries[i].id, id))
			return &c->entries[i];
	return NULL;
}

/* Called with the lock held. */
static struct entry *add_entry(struct rrd_collector *c, const char *id)
{
	c->entries = xrealloc(c->entries, (c->n_entries + 1) * sizeof(*c->entries));
	struct entry *e = &c->entries[c->n_entries++];
	*e = (struct entry){.id = xstrdup(id)};
	_cleanup_free_ char *path = series_path(c, id);
	e->rrd = load_series(c, &rrd_def_storage, path);
	return e;
}

static void entry_clear(struct entry *e)
{
	if (e->pending)
		storage_probe_unref(e->pending);
	rrd_free(e->rrd);
	free(e->id);
}

/* Files of storages that are no longer configured (removed while the daemon
 * was down). */
static void remove_stale_files(struct rrd_collector *c, const struct section_config *cfg)
{
	DIR *d = opendir(c->storage_dir);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || !safe_name(de->d_name))
			continue;
		/* a refused file (NAME.bad) stays as long as its storage does */
		char id[128];
		snprintf(id, sizeof(id), "%s", de->d_name);
		size_t len = strlen(id);
		if (len > 4 && streq(id + len - 4, ".bad"))
			id[len - 4] = '\0';
		if (section_config_find(cfg, id))
			continue;
		_cleanup_free_ char *p = series_path(c, de->d_name);
		log_info("removing the usage history of storage '%s' (not configured)", de->d_name);
		unlink(p);
	}
	closedir(d);
}

static bool wanted(struct rrd_collector *c, const struct section *s)
{
	return storage_section_enabled_on(s, c->node) && storage_backend_find(s->type);
}

struct job {
	size_t entry;
	struct storage_probe *probe; /* NULL: the previous one still hangs */
};

/* Matches the entries to storage.cfg and starts this round's probes.  With
 * the lock held: the only place entries are added or removed. */
static size_t storage_jobs(struct rrd_collector *c, const struct section_config *cfg,
                           struct job *jobs)
{
	size_t n = 0;

	for (size_t i = 0; i < c->n_entries; i++)
		c->entries[i].seen = false;
	for (size_t i = 0; i < cfg->n_sections; i++) {
		const struct section *s = cfg->sections[i];
		if (!safe_name(s->id))
			continue;
		struct entry *e = find_entry(c, s->id);
		if (!e)
			e = add_entry(c, s->id);
		e->seen = true;
	}
	for (size_t i = 0; i < c->n_entries;) {
		struct entry *e = &c->entries[i];
		if (e->seen) {
			i++;
			continue;
		}
		_cleanup_free_ char *p = series_path(c, e->id);
		_cleanup_free_ char *bad = xasprintf("%s.bad", p);
		log_info("storage '%s' removed, dropping its usage history", e->id);
		unlink(p);
		unlink(bad);
		entry_clear(e);
		c->entries[i] = c->entries[--c->n_entries];
	}
	for (size_t i = 0; i < c->n_entries; i++) {
		struct entry *e = &c->entries[i];
		const struct section *s = section_config_find(cfg, e->id);
		if (!s || !wanted(c, s)) {
			if (e->rrd) /* disabled: the history goes on, unknown */
				jobs[n++] = (struct job){.entry = i, .probe = NULL};
			continue;
		}
		if (!e->rrd)
			e->rrd = rrd_new(&rrd_def_storage, c->step);
		struct storage_probe *p = NULL;
		if (e->pending && storage_probe_done(e->pending)) {
			storage_probe_unref(e->pending);
			e->pending = NULL;
		}
		if (!e->pending)
			p = storage_probe_start(c->store, e->id);
		jobs[n++] = (struct job){.entry = i, .probe = p};
	}
	return n;
}

static void update(struct rrd *r, time_t t, const double *vals, bool *dirty)
{
	struct error *e = NULL;
	if (t == rrd_last_update(r))
		return; /* two samples within a second (a test's short step) */
	/* refused when the clock went back: the history resumes once it is past */
	if (rrd_update(r, t, vals, &e) < 0)
		log_debug("usage history: %s, ignoring", e->msg);
	else
		*dirty = true;
	error_free(e);
}

static void sample_storages(struct rrd_collector *c, time_t t)
{
	const struct storage_config_snapshot *snap = NULL;
	struct error *err = NULL;

	if (storage_config_store_get(c->store, &snap, &err) < 0) {
		log_debug("usage history: %s", err->msg);
		error_free(err);
		return;
	}
	const struct section_config *cfg = storage_config_snapshot_config(snap);
	struct job *jobs = xnew(struct job, cfg->n_sections + 1);
	struct storage_status *st = xnew(struct storage_status, cfg->n_sections + 1);
	int *rc = xnew(int, cfg->n_sections + 1);

	pthread_mutex_lock(&c->lock);
	size_t n = storage_jobs(c, cfg, jobs);
	pthread_mutex_unlock(&c->lock);
	storage_config_snapshot_unref(snap);

	/* the waits run without the lock: requests read on meanwhile */
	struct timespec deadline = storage_probe_deadline(STORAGE_PROBE_TIMEOUT_MS);
	for (size_t j = 0; j < n; j++)
		if (jobs[j].probe)
			rc[j] = storage_probe_wait(jobs[j].probe, &deadline, &st[j]);

	pthread_mutex_lock(&c->lock);
	for (size_t j = 0; j < n; j++) {
		struct entry *e = &c->entries[jobs[j].entry];
		bool ok = jobs[j].probe && rc[j] == 0;
		double vals[2] = {NAN, NAN};
		if (jobs[j].probe && rc[j] == -ETIMEDOUT)
			log_warn("status of storage '%s' timed out after %d ms", e->id,
			         STORAGE_PROBE_TIMEOUT_MS);
		if (ok && st[j].active) {
			vals[0] = (double)st[j].total;
			vals[1] = (double)st[j].used;
		}
		update(e->rrd, t, vals, &e->dirty);
		e->last = ok ? st[j] : (struct storage_status){0};
		e->last_ms = mono_ms();
		if (jobs[j].probe) {
			if (storage_probe_done(jobs[j].probe))
				storage_probe_unref(jobs[j].probe);
			else
				e->pending = jobs[j].probe; /* hangs: no new probe until it ends */
		}
	}
	pthread_mutex_unlock(&c->lock);
	free(jobs);
	free(st);
	free(rc);
}

static char *guest_path(struct rrd_collector *c, long vmid)
{
	return xasprintf("%s/%ld", c->guest_dir, vmid);
}

static void sample_guests(struct rrd_collector *c, time_t t)
{
	struct rrd_guest_sample *s = NULL;
	size_t n = 0;
	if (!c->guests || c->guests(c->guests_userdata, &s, &n) < 0)
		return;
	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < c->n_gentries; i++)
		c->gentries[i].seen = false;
	for (size_t j = 0; j < n; j++) {
		struct guest_entry *e = NULL;
		for (size_t i = 0; i < c->n_gentries && !e; i++)
			if (c->gentries[i].vmid == s[j].vmid)
				e = &c->gentries[i];
		if (!e) {
			c->gentries = xrealloc(c->gentries, (c->n_gentries + 1) * sizeof(*e));
			e = &c->gentries[c->n_gentries++];
			_cleanup_free_ char *path = guest_path(c, s[j].vmid);
			*e = (struct guest_entry){.vmid = s[j].vmid,
			                          .rrd = load_series(c, &rrd_def_guest, path)};
			if (!e->rrd)
				e->rrd = rrd_new(&rrd_def_guest, c->step);
		}
		e->seen = true;
		update(e->rrd, t, s[j].v, &e->dirty);
	}
	/* a guest gone takes its history along */
	size_t k = 0;
	for (size_t i = 0; i < c->n_gentries; i++) {
		if (c->gentries[i].seen) {
			c->gentries[k++] = c->gentries[i];
			continue;
		}
		_cleanup_free_ char *path = guest_path(c, c->gentries[i].vmid);
		unlink(path);
		rrd_free(c->gentries[i].rrd);
	}
	c->n_gentries = k;
	pthread_mutex_unlock(&c->lock);
	free(s);
}

static void sample_node(struct rrd_collector *c, time_t t)
{
	struct node_stats_rrd s;
	node_stats_rrd_sample(c->stats, &s);
	/* the order of rrd_def_node */
	double vals[] = {s.loadavg,   s.maxcpu,   s.cpu,       s.iowait,   s.memtotal, s.memused,
	                 s.swaptotal, s.swapused, s.roottotal, s.rootused, s.netin,    s.netout};
	pthread_mutex_lock(&c->lock);
	update(c->node_rrd, t, vals, &c->node_dirty);
	pthread_mutex_unlock(&c->lock);
}

/* Writes the changed series; the images are made under the lock, the files
 * written without it. */
static void save_all(struct rrd_collector *c)
{
	struct image {
		char *path;
		void *buf;
		size_t len;
	};
	pthread_mutex_lock(&c->lock);
	struct image *img = xnew(struct image, c->n_entries + c->n_gentries + 1);
	size_t n = 0;
	if (c->node_dirty) {
		img[n].path = xstrdup(c->node_path);
		img[n].buf = rrd_serialize(c->node_rrd, &img[n].len);
		n++;
		c->node_dirty = false;
	}
	for (size_t i = 0; i < c->n_entries; i++) {
		struct entry *e = &c->entries[i];
		if (!e->rrd || !e->dirty)
			continue;
		img[n].path = series_path(c, e->id);
		img[n].buf = rrd_serialize(e->rrd, &img[n].len);
		n++;
		e->dirty = false;
	}
	for (size_t i = 0; i < c->n_gentries; i++) {
		struct guest_entry *e = &c->gentries[i];
		if (!e->dirty)
			continue;
		img[n].path = guest_path(c, e->vmid);
		img[n].buf = rrd_serialize(e->rrd, &img[n].len);
		n++;
		e->dirty = false;
	}
	pthread_mutex_unlock(&c->lock);
	for (size_t i = 0; i < n; i++) {
		struct error *e = NULL;
		if (write_file_atomic(img[i].path, img[i].buf, img[i].len, 0644, &e) < 0)
			log_warn("cannot save usage history: %s", e->msg);
		error_free(e);
		free(img[i].path);
		free(img[i].buf);
	}
	free(img);
}

static void *collector(void *arg)
{
	struct rrd_collector *c = arg;
	int64_t last_save = mono_ms();

	pthread_mutex_lock(&c->lock);
	while (!c->stop) {
		pthread_mutex_unlock(&c->lock);
		time_t t = time(NULL); /* as pvestatd: taken before the probes */
		sample_node(c, t);
		sample_storages(c, t);
		sample_guests(c, t);
		if (mono_ms() - last_save >= c->save_ms) {
			save_all(c);
			last_save = mono_ms();
		}
		pthread_mutex_lock(&c->lock);
		struct timespec until = mono_after(c->sample_ms);
		while (!c->stop && pthread_cond_timedwait(&c->wake, &c->lock, &until) == 0)
			;
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

struct rrd_collector *rrd_collector_new(const struct rrd_collector_config *cfg)
{
	struct rrd_collector *c = xnew(struct rrd_collector, 1);
	pthread_condattr_t ca;

	c->node = xstrdup(cfg->node);
	c->stats = cfg->stats;
	c->store = cfg->storage;
	c->step = cfg->step ? cfg->step : RRD_STEP_DEFAULT;
	c->sample_ms = c->step * 1000 / SAMPLES_PER_STEP;
	c->save_ms = c->step * 1000 * STEPS_PER_SAVE;
	_cleanup_free_ char *node_dir = xasprintf("%s/pve2-node", cfg->dir);
	c->node_path = path_join(node_dir, cfg->node);
	c->storage_dir = xasprintf("%s/pve2-storage/%s", cfg->dir, cfg->node);
	c->guest_dir = xasprintf("%s/pve2-vm", cfg->dir);
	c->guests = cfg->guests;
	c->guests_userdata = cfg->guests_userdata;
	if (mkdir_p(node_dir, 0755) < 0 || mkdir_p(c->storage_dir, 0755) < 0 ||
	    mkdir_p(c->guest_dir, 0755) < 0)
		log_warn("cannot create '%s': %s, the usage history will not be kept", cfg->dir,
		         strerror(errno));
	pthread_mutex_init(&c->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->wake, &ca);
	pthread_condattr_destroy(&ca);

	/* everything saved is there before the first request */
	c->node_rrd = load_series(c, &rrd_def_node, c->node_path);
	if (!c->node_rrd)
		c->node_rrd = rrd_new(&rrd_def_node, c->step);
	const struct storage_config_snapshot *snap = NULL;
	if (storage_config_store_get(c->store, &snap, NULL) == 0) {
		const struct section_config *sc = storage_config_snapshot_config(snap);
		remove_stale_files(c, sc);
		for (size_t i = 0; i < sc->n_sections; i++)
			if (safe_name(sc->sections[i]->id) && !find_entry(c, sc->sections[i]->id))
				add_entry(c, sc->sections[i]->id);
		storage_config_snapshot_unref(snap);
	}
	log_debug("usage history: %zu bytes per node series, %zu per storage series",
	          rrd_memory_size(&rrd_def_node), rrd_memory_size(&rrd_def_storage));
	if (pthread_create(&c->thread, NULL, collector, c) != 0)
		abort();
	return c;
}

struct rrd_collector *rrd_collector_free(struct rrd_collector *c)
{
	if (!c)
		return NULL;
	pthread_mutex_lock(&c->lock);
	c->stop = true;
	pthread_cond_signal(&c->wake);
	pthread_mutex_unlock(&c->lock);
	pthread_join(c->thread, NULL);
	save_all(c);
	for (size_t i = 0; i < c->n_entries; i++)
		entry_clear(&c->entries[i]);
	free(c->entries);
	for (size_t i = 0; i < c->n_gentries; i++)
		rrd_free(c->gentries[i].rrd);
	free(c->gentries);
	free(c->guest_dir);
	rrd_free(c->node_rrd);
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->wake);
	free(c->node);
	free(c->node_path);
	free(c->storage_dir);
	free(c);
	return NULL;
}

json_t *rrd_collector_node_json(struct rrd_collector *c, enum rrd_timeframe tf, enum rrd_cf cf,
                                time_t now)
{
	pthread_mutex_lock(&c->lock);
	json_t *a = rrd_fetch_json(c->node_rrd, tf, cf, now);
	pthread_mutex_unlock(&c->lock);
	return a;
}

json_t *rrd_collector_storage_json(struct rrd_collector *c, const char *storeid,
                                   enum rrd_timeframe tf, enum rrd_cf cf, time_t now)
{
	pthread_mutex_lock(&c->lock);
	struct entry *e = find_entry(c, storeid);
	if (e && e->rrd) {
		json_t *a = rrd_fetch_json(e->rrd, tf, cf, now);
		pthread_mutex_unlock(&c->lock);
		return a;
	}
	unsigned step = c->step;
	pthread_mutex_unlock(&c->lock);
	struct rrd *empty = rrd_new(&rrd_def_storage, step);
	json_t *a = rrd_fetch_json(empty, tf, cf, now);
	rrd_free(empty);
	return a;
}

json_t *rrd_collector_guest_json(struct rrd_collector *c, long vmid, enum rrd_timeframe tf,
                                 enum rrd_cf cf, time_t now)
{
	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < c->n_gentries; i++)
		if (c->gentries[i].vmid == vmid) {
			json_t *a = rrd_fetch_json(c->gentries[i].rrd, tf, cf, now);
			pthread_mutex_unlock(&c->lock);
			return a;
		}
	unsigned step = c->step;
	pthread_mutex_unlock(&c->lock);
	struct rrd *empty = rrd_new(&rrd_def_guest, step);
	json_t *a = rrd_fetch_json(empty, tf, cf, now);
	rrd_free(empty);
	return a;
}

bool rrd_collector_storage_status(struct rrd_collector *c, const char *storeid,
                                  struct storage_status *ret)
{
	bool found = false;
	pthread_mutex_lock(&c->lock);
	int64_t now = mono_ms();
	for (size_t i = 0; i < c->n_entries && !found; i++) {
		const struct entry *e = &c->entries[i];
		if (streq(e->id, storeid) && e->last_ms &&
		    now - e->last_ms <= 3 * (int64_t)c->sample_ms) {
			*ret = e->last;
			found = true;
		}
	}
	pthread_mutex_unlock(&c->lock);
	return found;
}
