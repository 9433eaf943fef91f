/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * privsep-serve: request channels served by pollers on real socket pairs.
 * Every channel is answered, in any order and in pieces; a write goes to a
 * thread of its own and never holds up a read; a read that blocks has its
 * poller replaced, so the reads behind it are answered before it ends; a
 * channel that breaks the protocol is reported and the others go on; the
 * watchdog does not tick while nothing is served; and when the channels end
 * every thread ends with them.  No timing is asserted: a blocked handler
 * waits for the test to release it, not for a clock.
 */
#include "common.h"

#include <dirent.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "error.h"
#include "privsep-samples.h"
#include "privsep-serve.h"
#include "privsep.h"
#include "strbuf.h"
#include "xalloc.h"

#define N_CH        4
#define DEADLINE_MS 20000

struct fixture {
	int ours[N_CH], theirs[N_CH];
	struct privsep_reader rd[N_CH]; /* the test's side: answers */
	struct privsep_serve *s;
	/* a handler for "/block" waits until released */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool released;
	unsigned blocked; /* handlers waiting now */
	atomic_uint broken_index, broken_count;
	int threads_before;
};

static int count_threads(void)
{
	DIR *d = opendir("/proc/self/task");
	assert_non_null(d);
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

static void serve(void *userdata, unsigned index, int fd, struct privsep_msg *m)
{
	struct fixture *f = userdata;
	if (m->type != PRIVSEP_REQUEST)
		return;
	if (streq(m->request.path, "/block")) {
		pthread_mutex_lock(&f->lock);
		f->blocked++;
		pthread_cond_broadcast(&f->cond);
		while (!f->released)
			pthread_cond_wait(&f->cond, &f->lock);
		f->blocked--;
		pthread_mutex_unlock(&f->lock);
	}
	struct privsep_msg a;
	privsep_msg_init(&a, PRIVSEP_RESPONSE, m->id);
	a.response.status = 200;
	/* the answer names the channel and the request */
	a.response.body = xasprintf("%u %s %s", index, m->request.method, m->request.path);
	a.response.body_len = strlen(a.response.body);
	assert_int_equal(privsep_send(fd, &a, DEADLINE_MS, NULL), 0);
	privsep_msg_clear(&a);
}

static void broken(void *userdata, unsigned index, const struct error *e)
{
	struct fixture *f = userdata;
	assert_non_null(e);
	atomic_store(&f->broken_index, index);
	atomic_fetch_add(&f->broken_count, 1);
}

static const struct privsep_serve_ops ops = {.serve = serve, .broken = broken};

static void start(struct fixture *f, unsigned pollers, unsigned takeover_ms)
{
	struct privsep_serve_config cfg = {
	    .fds = f->ours,
	    .n = N_CH,
	    .pollers = pollers,
	    .takeover_ms = takeover_ms,
	    .from = PRIVSEP_FRONT,
	    .ops = &ops,
	    .userdata = f,
	};
	struct error *e = NULL;
	if (privsep_serve_start(&cfg, &f->s, &e) < 0)
		fail_msg("start: %s", e->msg);
}

static int setup(void **state)
{
	struct fixture *f = xnew(struct fixture, 1);
	f->threads_before = count_threads();
	for (unsigned i = 0; i < N_CH; i++) {
		int fds[2];
		assert_int_equal(privsep_socketpair(fds, NULL), 0);
		f->ours[i] = fds[0];
		f->theirs[i] = fds[1];
		privsep_reader_init(&f->rd[i], PRIVSEP_PRIV);
	}
	pthread_mutex_init(&f->lock, NULL);
	pthread_cond_init(&f->cond, NULL);
	*state = f;
	return 0;
}

/* Ends the channels as priv's supervisor does (shut down), waits for every
 * thread; none may outlive privsep_serve_wait(). */
static int teardown(void **state)
{
	struct fixture *f = *state;
	pthread_mutex_lock(&f->lock);
	f->released = true;
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->lock);
	for (unsigned i = 0; i < N_CH; i++)
		shutdown(f->ours[i], SHUT_RDWR);
	privsep_serve_wait(f->s);
	/* detached threads: done with s, maybe not yet gone */
	int after = count_threads();
	for (int i = 0; i < 500 && after != f->threads_before; i++) {
		usleep(10000);
		after = count_threads();
	}
	for (unsigned i = 0; i < N_CH; i++) {
		privsep_reader_release(&f->rd[i]);
		close(f->ours[i]);
		close(f->theirs[i]);
	}
	pthread_cond_destroy(&f->cond);
	pthread_mutex_destroy(&f->lock);
	int before = f->threads_before;
	free(f);
	if (after != before) {
		print_error("threads left: %d before, %d after\n", before, after);
		return -1;
	}
	return 0;
}

static void send_request(struct fixture *f, unsigned ch, uint64_t id, const char *method,
                         const char *path)
{
	struct privsep_msg m;
	privsep_msg_init(&m, PRIVSEP_REQUEST, id);
	m.request.method = xstrdup(method);
	m.request.path = xstrdup(path);
	snprintf(m.request.peer_addr, sizeof(m.request.peer_addr), "127.0.0.1");
	struct error *e = NULL;
	if (privsep_send(f->theirs[ch], &m, DEADLINE_MS, &e) < 0)
		fail_msg("send: %s", e->msg);
	privsep_msg_clear(&m);
}

/* The answer to request id on channel ch, which must be "ch method path". */
static void expect_answer(struct fixture *f, unsigned ch, uint64_t id, const char *method,
                          const char *path)
{
	struct privsep_msg a;
	struct error *e = NULL;
	int r = privsep_recv(&f->rd[ch], f->theirs[ch], DEADLINE_MS, &a, &e);
	if (r != 1)
		fail_msg("no answer on channel %u: %d %s", ch, r, e ? e->msg : "");
	assert_int_equal(a.type, PRIVSEP_RESPONSE);
	assert_int_equal(a.id, id);
	_cleanup_free_ char *want = xasprintf("%u %s %s", ch, method, path);
	assert_int_equal(a.response.body_len, strlen(want));
	assert_memory_equal(a.response.body, want, strlen(want));
	privsep_msg_clear(&a);
}

static void wait_blocked(struct fixture *f, unsigned n)
{
	pthread_mutex_lock(&f->lock);
	while (f->blocked < n)
		pthread_cond_wait(&f->cond, &f->lock);
	pthread_mutex_unlock(&f->lock);
}

static void release(struct fixture *f)
{
	pthread_mutex_lock(&f->lock);
	f->released = true;
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->lock);
}

/* --- the tests --- */

static void test_inline_rule(void **state)
{
	(void)state;
	struct privsep_msg m;
	privsep_msg_init(&m, PRIVSEP_REQUEST, 1);
	m.request.method = xstrdup("GET");
	m.request.path = xstrdup("/version");
	assert_true(privsep_serve_inline(&m));
	m.request.body_len = 3;
	assert_false(privsep_serve_inline(&m));
	m.request.body_len = 0;
	m.request.flags = PRIVSEP_REQ_UPLOAD;
	assert_false(privsep_serve_inline(&m));
	m.request.flags = 0;
	free(m.request.method);
	m.request.method = xstrdup("POST");
	assert_false(privsep_serve_inline(&m));
	privsep_msg_clear(&m);
	privsep_msg_init(&m, PRIVSEP_UPLOAD_OPEN, 2);
	m.request.method = xstrdup("GET");
	m.request.path = xstrdup("/x");
	assert_false(privsep_serve_inline(&m));
	privsep_msg_clear(&m);
}

/* Rounds of one read per channel at once: each answered on its channel. */
static void test_every_channel_answered(void **state)
{
	struct fixture *f = *state;
	start(f, 2, 1000);
	uint64_t id = 1;
	for (unsigned round = 0; round < 200; round++) {
		for (unsigned ch = 0; ch < N_CH; ch++)
			send_request(f, ch, id + ch, "GET", "/fast");
		for (unsigned ch = 0; ch < N_CH; ch++)
			expect_answer(f, ch, id + ch, "GET", "/fast");
		id += N_CH;
	}
	assert_int_equal(privsep_serve_handoffs(f->s), 0);
}

/* A frame written in two pieces is answered once whole. */
static void test_frame_in_pieces(void **state)
{
	struct fixture *f = *state;
	start(f, 1, 1000);
	struct privsep_msg m;
	privsep_msg_init(&m, PRIVSEP_REQUEST, 7);
	m.request.method = xstrdup("GET");
	m.request.path = xstrdup("/pieces");
	snprintf(m.request.peer_addr, sizeof(m.request.peer_addr), "127.0.0.1");
	struct strbuf sb = STRBUF_INIT;
	assert_int_equal(privsep_msg_encode(&m, &sb, NULL), 0);
	privsep_msg_clear(&m);
	size_t half = sb.len / 2;
	assert_int_equal(send(f->theirs[1], sb.buf, half, MSG_NOSIGNAL), (ssize_t)half);
	/* a read on another channel meanwhile */
	send_request(f, 2, 8, "GET", "/other");
	expect_answer(f, 2, 8, "GET", "/other");
	assert_int_equal(send(f->theirs[1], sb.buf + half, sb.len - half, MSG_NOSIGNAL),
	                 (ssize_t)(sb.len - half));
	expect_answer(f, 1, 7, "GET", "/pieces");
	strbuf_release(&sb);
}

/* With one poller, a write that blocks is on a thread of its own: reads on
 * the other channels are answered while it waits, and nothing is taken
 * over. */
static void test_write_never_holds_up_reads(void **state)
{
	struct fixture *f = *state;
	start(f, 1, 60000);
	send_request(f, 0, 1, "POST", "/block");
	wait_blocked(f, 1);
	for (uint64_t i = 0; i < 20; i++) {
		send_request(f, 1 + i % 3, 100 + i, "GET", "/fast");
		expect_answer(f, 1 + i % 3, 100 + i, "GET", "/fast");
	}
	assert_int_equal(privsep_serve_handoffs(f->s), 1);
	assert_int_equal(privsep_serve_takeovers(f->s), 0);
	release(f);
	expect_answer(f, 0, 1, "POST", "/block");
}

/* With one poller, a read that blocks is taken over: the reads behind it
 * are answered before it ends, then it is answered too and its channel
 * serves again. */
static void test_slow_read_taken_over(void **state)
{
	struct fixture *f = *state;
	start(f, 1, 5);
	send_request(f, 0, 1, "GET", "/block");
	wait_blocked(f, 1);
	for (uint64_t i = 0; i < 20; i++) {
		send_request(f, 1 + i % 3, 100 + i, "GET", "/fast");
		expect_answer(f, 1 + i % 3, 100 + i, "GET", "/fast");
	}
	assert_true(privsep_serve_takeovers(f->s) >= 1);
	assert_int_equal(privsep_serve_handoffs(f->s), 0);
	release(f);
	expect_answer(f, 0, 1, "GET", "/block");
	send_request(f, 0, 2, "GET", "/again");
	expect_answer(f, 0, 2, "GET", "/again");
}

/* Several reads block at once, on every channel but one: each has its
 * poller replaced, and the last channel is still answered. */
static void test_many_slow_reads(void **state)
{
	struct fixture *f = *state;
	start(f, 1, 5);
	for (unsigned ch = 0; ch < N_CH - 1; ch++) {
		send_request(f, ch, ch + 1, "GET", "/block");
		wait_blocked(f, ch + 1);
	}
	send_request(f, N_CH - 1, 9, "GET", "/fast");
	expect_answer(f, N_CH - 1, 9, "GET", "/fast");
	assert_true(privsep_serve_takeovers(f->s) >= N_CH - 1);
	release(f);
	for (unsigned ch = 0; ch < N_CH - 1; ch++)
		expect_answer(f, ch, ch + 1, "GET", "/block");
}

/* A channel that breaks the protocol is reported once and served no more;
 * the others are answered as before. */
static void test_broken_channel(void **state)
{
	struct fixture *f = *state;
	start(f, 2, 1000);
	struct strbuf sb = STRBUF_INIT;
	wire_begin(&sb, PRIVSEP_REQUEST, 0, 1);
	for (int i = 0; i < 4; i++)
		sb.buf[i] = (char)0xff; /* a length no frame may have */
	assert_int_equal(send(f->theirs[2], sb.buf, sb.len, MSG_NOSIGNAL), (ssize_t)sb.len);
	strbuf_release(&sb);
	send_request(f, 1, 5, "GET", "/fast");
	expect_answer(f, 1, 5, "GET", "/fast");
	for (int i = 0; i < 2000 && atomic_load(&f->broken_count) == 0; i++)
		usleep(10000);
	assert_int_equal(atomic_load(&f->broken_count), 1);
	assert_int_equal(atomic_load(&f->broken_index), 2);
	send_request(f, 3, 6, "GET", "/fast");
	expect_answer(f, 3, 6, "GET", "/fast");
}

static unsigned long ctx_switches(void)
{
	unsigned long sum = 0;
	DIR *d = opendir("/proc/self/task");
	assert_non_null(d);
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		_cleanup_free_ char *p = xasprintf("/proc/self/task/%s/status", de->d_name);
		FILE *fp = fopen(p, "re");
		if (!fp)
			continue;
		char line[256];
		unsigned long v;
		while (fgets(line, sizeof(line), fp))
			if (sscanf(line, "voluntary_ctxt_switches: %lu", &v) == 1)
				sum += v;
		fclose(fp);
	}
	closedir(d);
	return sum;
}

/* Nothing served: the watchdog sleeps instead of ticking (at a 1 ms tick,
 * 300 ms would be ~300 wake-ups), and the first request after it is
 * answered. */
static void test_idle_watchdog_sleeps(void **state)
{
	struct fixture *f = *state;
	start(f, 2, 1);
	send_request(f, 0, 1, "GET", "/fast");
	expect_answer(f, 0, 1, "GET", "/fast");
	usleep(100 * 1000);
	unsigned long before = ctx_switches();
	usleep(300 * 1000);
	unsigned long woken = ctx_switches() - before;
	if (woken > 30)
		fail_msg("%lu wake-ups in 300 ms of nothing", woken);
	send_request(f, 3, 2, "GET", "/fast");
	expect_answer(f, 3, 2, "GET", "/fast");
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_inline_rule),
	    T(test_every_channel_answered),
	    T(test_frame_in_pieces),
	    T(test_write_never_holds_up_reads),
	    T(test_slow_read_taken_over),
	    T(test_many_slow_reads),
	    T(test_broken_channel),
	    T(test_idle_watchdog_sleeps),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
