/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * privsep: the channel on a real socket pair.  Every type crosses it; a
 * pipe and a file cross as descriptors and work on the other side
 * (close-on-exec); frames arrive in any pieces; large messages stream; and
 * the reader refuses what the protocol forbids (two descriptors, a truncated
 * control message, a descriptor without its flag or after a frame's first
 * byte, an oversized header, the wrong side) without leaking a descriptor.
 */
#include "common.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "error.h"
#include "privsep-samples.h"
#include "privsep.h"
#include "strbuf.h"
#include "xalloc.h"

#define BOTH (PRIVSEP_FRONT | PRIVSEP_PRIV)

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	assert_non_null(d);
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

static int devnull(void)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	return fd;
}

struct chan {
	int fd[2];
	struct privsep_reader rd;
	int fds_before;
};

static int chan_setup(void **state)
{
	struct chan *c = xnew(struct chan, 1);
	c->fds_before = count_fds();
	assert_int_equal(privsep_socketpair(c->fd, NULL), 0);
	privsep_reader_init(&c->rd, BOTH);
	*state = c;
	return 0;
}

/* Every test leaves exactly the descriptors it found. */
static int chan_teardown(void **state)
{
	struct chan *c = *state;
	privsep_reader_release(&c->rd);
	close(c->fd[0]);
	close(c->fd[1]);
	int after = count_fds();
	int before = c->fds_before;
	free(c);
	if (after != before) {
		print_error("descriptors leaked: %d before, %d after\n", before, after);
		return -1;
	}
	return 0;
}

static void send_ok(int sock, const struct privsep_msg *m)
{
	struct error *e = NULL;
	if (privsep_send(sock, m, 5000, &e) < 0)
		fail_msg("send %s: %s", privsep_type_name(m->type), e->msg);
}

static void recv_ok(struct chan *c, struct privsep_msg *m)
{
	struct error *e = NULL;
	int r = privsep_recv(&c->rd, c->fd[1], 5000, m, &e);
	if (r != 1)
		fail_msg("recv: %d %s", r, e ? e->msg : "");
}

static int recv_code(struct chan *c, int timeout_ms)
{
	struct privsep_msg m;
	struct error *e = NULL;
	int r = privsep_recv(&c->rd, c->fd[1], timeout_ms, &m, &e);
	if (r == 1)
		privsep_msg_clear(&m);
	if (r < 0)
		assert_non_null(e);
	error_free(e);
	return r;
}

static void raw_sendmsg(int sock, const void *buf, size_t len, const int *fds, size_t nfds)
{
	struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	char cbuf[CMSG_SPACE(sizeof(int) * 4)];
	if (nfds) {
		memset(cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
	}
	assert_int_equal(sendmsg(sock, &mh, MSG_NOSIGNAL), (ssize_t)len);
}

static void encode_ok(const struct privsep_msg *m, struct strbuf *sb)
{
	strbuf_reset(sb);
	assert_int_equal(privsep_msg_encode(m, sb, NULL), 0);
}

/* --- crossing --- */

/* Each sample crosses, one after the other, equal and close-on-exec. */
static void cross_every_type(struct chan *c)
{
	for (size_t i = 0; i < PRIVSEP_SAMPLES; i++) {
		struct privsep_msg m, d;
		privsep_sample(i, privsep_sample_has_fd(i) ? devnull() : -1, &m);
		send_ok(c->fd[0], &m);
		recv_ok(c, &d);
		assert_true(privsep_msg_equal(&m, &d));
		if (d.fd >= 0)
			assert_int_equal(fcntl(d.fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
		privsep_msg_clear(&m);
		privsep_msg_clear(&d);
	}
}

static void test_every_type_crosses(void **state)
{
	struct chan *c = *state;
	cross_every_type(c);
	/* nothing more: a zero timeout answers at once */
	assert_int_equal(recv_code(c, 0), 0);
}

/* An answer's body through a pipe, an upload into a file the other side
 * opened: the descriptors work across. */
static void test_descriptors_work_across(void **state)
{
	struct chan *c = *state;
	int p[2];
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_int_equal(write(p[1], "hello", 5), 5);
	close(p[1]);
	struct privsep_msg m, d;
	privsep_sample(7, p[0], &m); /* RESPONSE, body_len 5, by descriptor */
	send_ok(c->fd[0], &m);
	privsep_msg_clear(&m); /* the sender's copy is gone */
	recv_ok(c, &d);
	assert_int_equal(d.type, PRIVSEP_RESPONSE);
	assert_int_equal(d.response.body_len, 5);
	char buf[16] = "";
	assert_int_equal(read(d.fd, buf, sizeof(buf)), 5);
	assert_memory_equal(buf, "hello", 5);
	assert_int_equal(read(d.fd, buf, sizeof(buf)), 0);
	privsep_msg_clear(&d);

	char path[] = "/tmp/privsep-upload-XXXXXX";
	int f = mkostemp(path, O_CLOEXEC);
	assert_true(f >= 0);
	unlink(path);
	privsep_sample(9, dup(f), &m); /* UPLOAD_FILE claim */
	send_ok(c->fd[0], &m);
	privsep_msg_clear(&m);
	recv_ok(c, &d);
	assert_int_equal(d.upload.verdict, PRIVSEP_UPLOAD_CLAIM);
	assert_int_equal(write(d.fd, "payload", 7), 7);
	privsep_msg_clear(&d);
	assert_int_equal(pread(f, buf, sizeof(buf), 0), 7);
	assert_memory_equal(buf, "payload", 7);
	close(f);
}

/* A frame that trickles in: nothing until its last byte, its descriptor
 * taken with the first. */
static void test_frame_in_pieces(void **state)
{
	struct chan *c = *state;
	struct privsep_msg m, d;
	struct strbuf sb = STRBUF_INIT;
	privsep_sample(7, devnull(), &m);
	encode_ok(&m, &sb);
	raw_sendmsg(c->fd[0], sb.buf, 1, &m.fd, 1);
	for (size_t i = 1; i < sb.len; i++) {
		assert_int_equal(recv_code(c, 0), 0);
		assert_int_equal(write(c->fd[0], sb.buf + i, 1), 1);
	}
	struct error *e = NULL;
	assert_int_equal(privsep_recv(&c->rd, c->fd[1], 0, &d, &e), 1);
	assert_true(privsep_msg_equal(&m, &d));
	privsep_msg_clear(&d);

	/* two frames in one write come out one by one */
	struct strbuf two = STRBUF_INIT;
	privsep_msg_clear(&m);
	privsep_sample(1, -1, &m);
	encode_ok(&m, &sb);
	strbuf_add(&two, sb.buf, sb.len);
	strbuf_add(&two, sb.buf, sb.len);
	assert_int_equal(write(c->fd[0], two.buf, two.len), (ssize_t)two.len);
	for (int i = 0; i < 2; i++) {
		recv_ok(c, &d);
		assert_true(privsep_msg_equal(&m, &d));
		privsep_msg_clear(&d);
	}
	assert_int_equal(recv_code(c, 0), 0);
	privsep_msg_clear(&m);
	strbuf_release(&sb);
	strbuf_release(&two);
}

struct big_sender {
	int sock;
	struct privsep_msg *msgs;
	size_t n;
	int r;
};

static void *big_send(void *arg)
{
	struct big_sender *b = arg;
	for (size_t i = 0; i < b->n && b->r == 0; i++)
		b->r = privsep_send(b->sock, &b->msgs[i], 10000, NULL);
	return NULL;
}

/* Messages at their largest stream through while the other side reads. */
static void test_large_messages(void **state)
{
	struct chan *c = *state;
	struct privsep_msg msgs[2], d;
	privsep_sample(1, -1, &msgs[0]);
	size_t n = PRIVSEP_MAX_PARAMS - 8;
	char *s = xmalloc(n + 1);
	for (size_t i = 0; i < n; i++)
		s[i] = 'a' + i % 26;
	s[n] = '\0';
	msgs[0].request.params = json_pack("{s:s}", "a", s);
	free(s);
	privsep_sample(6, -1, &msgs[1]);
	free(msgs[1].response.body);
	msgs[1].response.body = xmalloc(PRIVSEP_MAX_BODY);
	for (size_t i = 0; i < PRIVSEP_MAX_BODY; i++)
		msgs[1].response.body[i] = (char)i;
	msgs[1].response.body_len = PRIVSEP_MAX_BODY;

	struct big_sender b = {c->fd[0], msgs, 2, 0};
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, big_send, &b), 0);
	for (int i = 0; i < 2; i++) {
		recv_ok(c, &d);
		assert_true(privsep_msg_equal(&msgs[i], &d));
		privsep_msg_clear(&d);
	}
	pthread_join(t, NULL);
	assert_int_equal(b.r, 0);
	privsep_msg_clear(&msgs[0]);
	privsep_msg_clear(&msgs[1]);
}

/* A request channel reads a frame's header and what follows in one
 * recvmsg() (privsep_reader.one_at_a_time): every type still crosses with
 * its descriptor, a frame larger than the read-ahead arrives whole, and a
 * second frame sent behind the first, which such a peer never does, breaks
 * the channel rather than being taken for part of the first. */
static void test_one_at_a_time(void **state)
{
	struct chan *c = *state;
	c->rd.one_at_a_time = true;
	cross_every_type(c);
	struct privsep_msg m, d;
	privsep_sample(6, -1, &m);
	free(m.response.body);
	m.response.body_len = 3 * PRIVSEP_READ_AHEAD + 5;
	m.response.body = xmalloc(m.response.body_len);
	for (size_t i = 0; i < m.response.body_len; i++)
		m.response.body[i] = (char)(i * 7);
	send_ok(c->fd[0], &m);
	recv_ok(c, &d);
	assert_true(privsep_msg_equal(&m, &d));
	privsep_msg_clear(&d);
	privsep_msg_clear(&m);

	size_t i = 0;
	while (privsep_sample_has_fd(i))
		i++;
	privsep_sample(i, -1, &m);
	send_ok(c->fd[0], &m);
	send_ok(c->fd[0], &m);
	privsep_msg_clear(&m);
	assert_int_equal(recv_code(c, 5000), -EBADMSG);
	assert_int_equal(recv_code(c, 0), -EBADMSG); /* and it stays broken */
}

/* A peer that does not read: the send gives up at its deadline. */
static void test_send_deadline(void **state)
{
	struct chan *c = *state;
	struct privsep_msg m;
	privsep_sample(6, -1, &m);
	free(m.response.body);
	m.response.body = xcalloc(1, PRIVSEP_MAX_BODY);
	m.response.body_len = PRIVSEP_MAX_BODY;
	struct error *e = NULL;
	assert_int_equal(privsep_send(c->fd[0], &m, 100, &e), -ETIMEDOUT);
	error_free(e);
	privsep_msg_clear(&m);
}

/* The event-loop queue: frames and their descriptors leave in order as the
 * socket takes them. */
static void test_outq(void **state)
{
	struct chan *c = *state;
	assert_int_equal(fcntl(c->fd[0], F_SETFL, O_NONBLOCK), 0);
	struct privsep_outq q = PRIVSEP_OUTQ_INIT;
	enum { N = 40 };
	for (int i = 0; i < N; i++) {
		struct privsep_msg m;
		privsep_sample(i % 2 ? 7 : 6, i % 2 ? devnull() : -1, &m);
		m.id = i + 1;
		if (i % 2 == 0) {
			free(m.response.body);
			m.response.body = xcalloc(1, 64 << 10);
			m.response.body_len = 64 << 10;
		}
		assert_int_equal(privsep_outq_push(&q, &m, NULL), 0);
		privsep_msg_clear(&m); /* the queue holds its own descriptor */
	}
	int r = privsep_outq_flush(&q, c->fd[0], NULL);
	assert_int_equal(r, 0); /* 20 x 64 KiB do not fit the socket */
	assert_true(q.bytes > 0);
	for (int i = 0; i < N; i++) {
		struct privsep_msg d;
		struct error *e = NULL;
		while ((r = privsep_recv(&c->rd, c->fd[1], 0, &d, &e)) == 0)
			assert_true(privsep_outq_flush(&q, c->fd[0], NULL) >= 0);
		assert_int_equal(r, 1);
		assert_int_equal(d.id, (uint64_t)i + 1);
		assert_int_equal(d.fd >= 0, i % 2);
		privsep_msg_clear(&d);
	}
	assert_int_equal(privsep_outq_flush(&q, c->fd[0], NULL), 1);
	assert_int_equal(q.bytes, 0);

	/* what is still queued is released with its descriptors */
	struct privsep_msg m;
	privsep_sample(7, devnull(), &m);
	assert_int_equal(privsep_outq_push(&q, &m, NULL), 0);
	privsep_msg_clear(&m);
	privsep_outq_release(&q);
}

/* --- refusals --- */

static void frame_of(size_t sample, bool with_fd_flag, struct strbuf *sb)
{
	struct privsep_msg m;
	privsep_sample(sample, privsep_sample_has_fd(sample) ? devnull() : -1, &m);
	encode_ok(&m, sb);
	privsep_msg_clear(&m);
	if (!with_fd_flag)
		sb->buf[6] &= ~PRIVSEP_F_FD;
}

static void test_refuses_two_descriptors(void **state)
{
	struct chan *c = *state;
	struct strbuf sb = STRBUF_INIT;
	frame_of(7, true, &sb);
	int fds[2] = {devnull(), devnull()};
	raw_sendmsg(c->fd[0], sb.buf, sb.len, fds, 2);
	close(fds[0]);
	close(fds[1]);
	assert_int_equal(recv_code(c, 1000), -EBADMSG);
	/* and stays broken */
	assert_int_equal(recv_code(c, 0), -EBADMSG);
	strbuf_release(&sb);
}

/* More descriptors than the control buffer holds: MSG_CTRUNC. */
static void test_refuses_truncated_control(void **state)
{
	struct chan *c = *state;
	struct strbuf sb = STRBUF_INIT;
	frame_of(7, true, &sb);
	int fds[4] = {devnull(), devnull(), devnull(), devnull()};
	raw_sendmsg(c->fd[0], sb.buf, sb.len, fds, 4);
	for (int i = 0; i < 4; i++)
		close(fds[i]);
	assert_int_equal(recv_code(c, 1000), -EBADMSG);
	strbuf_release(&sb);
}

static void test_refuses_unannounced_descriptor(void **state)
{
	struct chan *c = *state;
	struct strbuf sb = STRBUF_INIT;
	frame_of(6, false, &sb);
	int fd = devnull();
	raw_sendmsg(c->fd[0], sb.buf, sb.len, &fd, 1);
	close(fd);
	assert_int_equal(recv_code(c, 1000), -EBADMSG);
	strbuf_release(&sb);
}

static void test_refuses_missing_descriptor(void **state)
{
	struct chan *c = *state;
	struct strbuf sb = STRBUF_INIT;
	frame_of(7, true, &sb);
	raw_sendmsg(c->fd[0], sb.buf, sb.len, NULL, 0);
	assert_int_equal(recv_code(c, 1000), -EBADMSG);
	strbuf_release(&sb);
}

/* A descriptor that is not on the frame's first byte (here on its tenth). */
static void test_refuses_late_descriptor(void **state)
{
	struct chan *c = *state;
	struct strbuf sb = STRBUF_INIT;
	frame_of(7, true, &sb);
	raw_sendmsg(c->fd[0], sb.buf, 10, NULL, 0);
	assert_int_equal(recv_code(c, 0), 0);
	int fd = devnull();
	raw_sendmsg(c->fd[0], sb.buf + 10, sb.len - 10, &fd, 1);
	close(fd);
	assert_int_equal(recv_code(c, 1000), -EBADMSG);
	strbuf_release(&sb);
}

/* A header over its type's bound is refused as soon as it is complete, not
 * after waiting for (or allocating) its payload. */
static void test_refuses_oversized_header(void **state)
{
	struct chan *c = *state;
	struct strbuf sb = STRBUF_INIT;
	wire_begin(&sb, PRIVSEP_RESPONSE, 0, 1);
	for (int i = 0; i < 4; i++)
		sb.buf[i] = (char)0xff;
	assert_int_equal(write(c->fd[0], sb.buf, sb.len), (ssize_t)sb.len);
	assert_int_equal(recv_code(c, 0), -EMSGSIZE);
	strbuf_release(&sb);
}

/* A front's reader takes nothing a front sends, and the other way round. */
static void test_refuses_wrong_side(void **state)
{
	struct chan *c = *state;
	struct strbuf sb = STRBUF_INIT;
	privsep_reader_init(&c->rd, PRIVSEP_FRONT); /* reads what the front sends */
	frame_of(6, true, &sb);                     /* a RESPONSE */
	assert_int_equal(write(c->fd[0], sb.buf, sb.len), (ssize_t)sb.len);
	assert_int_equal(recv_code(c, 1000), -EBADMSG);

	privsep_reader_release(&c->rd);
	privsep_reader_init(&c->rd, PRIVSEP_PRIV); /* reads what priv sends */
	close(c->fd[0]);
	close(c->fd[1]);
	assert_int_equal(privsep_socketpair(c->fd, NULL), 0);
	frame_of(1, true, &sb); /* a REQUEST */
	assert_int_equal(write(c->fd[0], sb.buf, sb.len), (ssize_t)sb.len);
	assert_int_equal(recv_code(c, 1000), -EBADMSG);
	/* both may say HELLO and ERROR (on a new channel: the refused frame's
	 * payload is still in the old one) */
	privsep_reader_release(&c->rd);
	privsep_reader_init(&c->rd, PRIVSEP_PRIV);
	close(c->fd[0]);
	close(c->fd[1]);
	assert_int_equal(privsep_socketpair(c->fd, NULL), 0);
	for (size_t s = 0; s <= 10; s += 10) {
		frame_of(s, true, &sb);
		assert_int_equal(write(c->fd[0], sb.buf, sb.len), (ssize_t)sb.len);
		assert_int_equal(recv_code(c, 1000), 1);
	}
	strbuf_release(&sb);
}

static void test_peer_gone(void **state)
{
	struct chan *c = *state;
	struct strbuf sb = STRBUF_INIT;
	/* between frames */
	close(c->fd[0]);
	assert_int_equal(recv_code(c, 1000), -EPIPE);
	/* within a frame */
	privsep_reader_release(&c->rd);
	privsep_reader_init(&c->rd, BOTH);
	close(c->fd[1]);
	assert_int_equal(privsep_socketpair(c->fd, NULL), 0);
	frame_of(2, true, &sb);
	assert_int_equal(write(c->fd[0], sb.buf, sb.len / 2), (ssize_t)sb.len / 2);
	close(c->fd[0]);
	assert_int_equal(recv_code(c, 1000), -EPIPE);
	/* and a sender sees the reader gone */
	close(c->fd[1]);
	assert_int_equal(privsep_socketpair(c->fd, NULL), 0);
	close(c->fd[1]);
	struct privsep_msg m;
	privsep_sample(4, -1, &m);
	struct error *e = NULL;
	assert_int_equal(privsep_send(c->fd[0], &m, 1000, &e), -EPIPE);
	assert_int_equal(e->http_status, 503);
	error_free(e);
	privsep_msg_clear(&m);
	c->fd[1] = open("/dev/null", O_RDONLY); /* for the teardown */
	strbuf_release(&sb);
}

struct waiter {
	int sock;
	pid_t tid;
	int r;
	struct privsep_msg got;
};

static void *send_then_wait(void *arg)
{
	struct waiter *w = arg;
	__atomic_store_n(&w->tid, gettid(), __ATOMIC_SEQ_CST);
	struct privsep_msg m;
	privsep_sample(1, -1, &m);
	w->r = privsep_send(w->sock, &m, 10000, NULL);
	privsep_msg_clear(&m);
	struct privsep_reader rd;
	privsep_reader_init(&rd, BOTH);
	while (w->r >= 0 && (w->r = privsep_recv(&rd, w->sock, -1, &w->got, NULL)) == 0)
		;
	privsep_reader_release(&rd);
	return NULL;
}

/* voluntary context switches of thread tid, and whether it sleeps */
static long nvcsw_of(pid_t tid, bool *sleeping)
{
	char p[64], *s = NULL;
	snprintf(p, sizeof(p), "/proc/self/task/%d/status", (int)tid);
	FILE *f = fopen(p, "re");
	assert_non_null(f);
	size_t n = 0;
	long v = -1;
	while (getline(&s, &n, f) > 0) {
		if (str_startswith(s, "State:"))
			*sleeping = strstr(s, "(sleeping)") != NULL;
		sscanf(s, "voluntary_ctxt_switches: %ld", &v);
	}
	free(s);
	fclose(f);
	return v;
}

/* A thread that sent a request and waits for its answer is not woken when
 * the peer reads the request.  Reading from a unix stream socket frees the
 * sender's buffer space and wakes every sleeper on the sender's socket;
 * one blocked in recvmsg() there wakes for nothing and sleeps again, which
 * cost every request through the split a context switch on each side (in a
 * virtual machine an inter-processor interrupt when it sleeps on the other
 * CPU); poll() filters that wake-up (POLLOUT) out. */
static void test_waiting_reader_not_woken_by_peer_read(void **state)
{
	struct chan *c = *state;
	struct waiter w = {.sock = c->fd[0]};
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, send_then_wait, &w), 0);
	struct pollfd pfd = {.fd = c->fd[1], .events = POLLIN};
	assert_int_equal(poll(&pfd, 1, 10000), 1);
	/* the waiter asleep for good: same count twice, 50 ms apart */
	bool sleeping = false;
	long before = -1, now;
	for (int i = 0; i < 200; i++) {
		while (!__atomic_load_n(&w.tid, __ATOMIC_SEQ_CST))
			poll(NULL, 0, 1);
		now = nvcsw_of(w.tid, &sleeping);
		if (sleeping && now == before)
			break;
		before = now;
		poll(NULL, 0, 50);
	}
	assert_true(sleeping);
	struct privsep_msg d, a;
	recv_ok(c, &d);
	privsep_msg_clear(&d);
	poll(NULL, 0, 100);
	assert_int_equal(nvcsw_of(w.tid, &sleeping), before);
	privsep_sample(6, -1, &a);
	assert_int_equal(privsep_send(c->fd[1], &a, 10000, NULL), 0);
	pthread_join(t, NULL);
	assert_int_equal(w.r, 1);
	assert_true(privsep_msg_equal(&a, &w.got));
	privsep_msg_clear(&a);
	privsep_msg_clear(&w.got);
}

#define T(f) cmocka_unit_test_setup_teardown(f, chan_setup, chan_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_every_type_crosses),
	    T(test_descriptors_work_across),
	    T(test_frame_in_pieces),
	    T(test_large_messages),
	    T(test_one_at_a_time),
	    T(test_send_deadline),
	    T(test_outq),
	    T(test_refuses_two_descriptors),
	    T(test_refuses_truncated_control),
	    T(test_refuses_unannounced_descriptor),
	    T(test_refuses_missing_descriptor),
	    T(test_refuses_late_descriptor),
	    T(test_refuses_oversized_header),
	    T(test_refuses_wrong_side),
	    T(test_peer_gone),
	    T(test_waiting_reader_not_woken_by_peer_read),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
