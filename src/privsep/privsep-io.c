/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The channel's I/O (privsep.h): frames over a SOCK_STREAM unix socket,
 * with at most one descriptor each, attached to the frame's first byte.
 *
 * The reader asks the kernel for exactly the rest of the current frame,
 * never more, so a recvmsg() never spans two frames, and a descriptor, which
 * the kernel hands over with the first byte of the sendmsg() that carried it
 * (and never glues past it), can only arrive with the first bytes of its
 * frame.  Anything else is the peer breaking the protocol.
 */
#include "common.h"

#include <poll.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <time.h>

#include "error.h"
#include "privsep.h"
#include "strbuf.h"
#include "xalloc.h"

int privsep_socketpair(int ret_fds[2], struct error **err)
{
	int fds[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0)
		return error_set(err, -errno, 500, "privsep: socketpair: %s", strerror(errno));
	ret_fds[0] = fds[0];
	ret_fds[1] = fds[1];
	return 0;
}

/* --- deadlines --- */

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t deadline_of(int timeout_ms)
{
	return timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
}

/* 1 when sock is ready for events, 0 at the deadline, or a negative errno. */
static int wait_fd(int sock, short events, int64_t deadline)
{
	for (;;) {
		int t = -1;
		if (deadline >= 0) {
			int64_t left = deadline - now_ms();
			if (left <= 0)
				return 0;
			t = left > INT32_MAX ? INT32_MAX : (int)left;
		}
		struct pollfd p = {.fd = sock, .events = events};
		int r = poll(&p, 1, t);
		if (r > 0)
			return 1;
		if (r == 0 && deadline >= 0)
			continue; /* the loop decides whether the deadline passed */
		if (r < 0 && errno != EINTR)
			return -errno;
	}
}

/* --- sending --- */

/* One sendmsg(): bytes written, or a negative errno.  fd >= 0 goes with the
 * first byte, so the caller passes it only at a frame's offset 0. */
static ssize_t send_some(int sock, const char *buf, size_t len, int fd)
{
	struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} cbuf;
	if (fd >= 0) {
		memset(&cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf.buf;
		mh.msg_controllen = sizeof(cbuf.buf);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	ssize_t n = sendmsg(sock, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
	return n < 0 ? -errno : n;
}

static int send_error(int e, struct error **err)
{
	if (e == -EPIPE || e == -ECONNRESET)
		return error_set(err, -EPIPE, 503, "privsep: the peer closed the channel");
	return error_set(err, e, 500, "privsep: sendmsg: %s", strerror(-e));
}

int privsep_send(int sock, const struct privsep_msg *m, int timeout_ms, struct error **err)
{
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;
	int r = privsep_msg_encode(m, &sb, err);
	if (r < 0)
		return r;
	int64_t deadline = deadline_of(timeout_ms);
	size_t off = 0;
	while (off < sb.len) {
		ssize_t n = send_some(sock, sb.buf + off, sb.len - off, off == 0 ? m->fd : -1);
		if (n >= 0) {
			off += n;
		} else if (n == -EAGAIN || n == -EWOULDBLOCK) {
			r = wait_fd(sock, POLLOUT, deadline);
			if (r == 0)
				return error_set(err, -ETIMEDOUT, 503,
				                 "privsep: %s not sent within %d ms",
				                 privsep_type_name(m->type), timeout_ms);
			if (r < 0)
				return send_error(r, err);
		} else if (n != -EINTR) {
			return send_error(n, err);
		}
	}
	return 0;
}

/* --- the queue --- */

struct privsep_frame {
	struct privsep_frame *next;
	char *buf;
	size_t len, off;
	int fd;
};

int privsep_outq_push(struct privsep_outq *q, const struct privsep_msg *m, struct error **err)
{
	struct strbuf sb = STRBUF_INIT;
	int r = privsep_msg_encode(m, &sb, err);
	if (r < 0) {
		strbuf_release(&sb);
		return r;
	}
	int fd = -1;
	if (m->fd >= 0 && (fd = fcntl(m->fd, F_DUPFD_CLOEXEC, 3)) < 0) {
		r = -errno;
		strbuf_release(&sb);
		return error_set(err, r, 500, "privsep: cannot duplicate a descriptor: %s",
		                 strerror(-r));
	}
	struct privsep_frame *f = xnew(struct privsep_frame, 1);
	f->fd = fd;
	f->buf = strbuf_detach(&sb, &f->len);
	if (q->tail)
		q->tail->next = f;
	else
		q->head = f;
	q->tail = f;
	q->bytes += f->len;
	return 0;
}

static void frame_free(struct privsep_frame *f)
{
	if (f->fd >= 0)
		close(f->fd);
	free(f->buf);
	free(f);
}

int privsep_outq_flush(struct privsep_outq *q, int sock, struct error **err)
{
	while (q->head) {
		struct privsep_frame *f = q->head;
		ssize_t n =
		    send_some(sock, f->buf + f->off, f->len - f->off, f->off == 0 ? f->fd : -1);
		if (n == -EINTR)
			continue;
		if (n == -EAGAIN || n == -EWOULDBLOCK)
			return 0;
		if (n < 0)
			return send_error(n, err);
		f->off += n;
		q->bytes -= n;
		if (f->off == f->len) {
			q->head = f->next;
			if (!q->head)
				q->tail = NULL;
			frame_free(f);
		}
	}
	return 1;
}

void privsep_outq_release(struct privsep_outq *q)
{
	while (q->head) {
		struct privsep_frame *f = q->head;
		q->head = f->next;
		frame_free(f);
	}
	*q = (struct privsep_outq)PRIVSEP_OUTQ_INIT;
}

/* --- receiving --- */

void privsep_reader_init(struct privsep_reader *r, unsigned from)
{
	*r = (struct privsep_reader){.from = from, .fd = -1};
}

void privsep_reader_release(struct privsep_reader *r)
{
	free(r->frame);
	if (r->fd >= 0)
		close(r->fd);
	bool one = r->one_at_a_time;
	privsep_reader_init(r, r->from);
	r->one_at_a_time = one;
}

static int reader_fail(struct privsep_reader *r, int e, struct error **err)
{
	unsigned from = r->from;
	privsep_reader_release(r);
	r->from = from;
	r->failed = e;
	return e;
}

/*
 * One recvmsg() of at most len bytes, waiting for them unless flags has
 * MSG_DONTWAIT (or the socket is nonblocking).  Returns the bytes read, -EAGAIN or
 * -EINTR (nothing to read now), or another negative errno with *err set:
 * -EPIPE at end of file, -EBADMSG for descriptors the protocol does not
 * allow (all of them closed).  A descriptor that may come is stored in r->fd.
 */
static ssize_t recv_some(struct privsep_reader *r, int sock, void *buf, size_t len, void *ahead,
                         size_t ahead_len, int flags, struct error **err)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} cbuf;
	struct iovec iov[2] = {{.iov_base = buf, .iov_len = len},
	                       {.iov_base = ahead, .iov_len = ahead_len}};
	struct msghdr mh = {.msg_iov = iov,
	                    .msg_iovlen = ahead ? 2 : 1,
	                    .msg_control = cbuf.buf,
	                    .msg_controllen = sizeof(cbuf.buf)};
	ssize_t n = recvmsg(sock, &mh, flags | MSG_CMSG_CLOEXEC);
	if (n < 0) {
		int e = -errno;
		if (e == -EAGAIN || e == -EWOULDBLOCK || e == -EINTR)
			return e;
		if (e == -ECONNRESET)
			return error_set(err, -EPIPE, 503, "privsep: the peer reset the channel");
		return error_set(err, e, 500, "privsep: recvmsg: %s", strerror(-e));
	}

	/* Take every descriptor out of the control data first, so that each
	 * one is closed whatever is wrong with the message. */
	int fd = -1, nfds = 0;
	bool foreign = false;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
		    c->cmsg_len < CMSG_LEN(0)) {
			foreign = true;
			continue;
		}
		size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k; i++) {
			int f;
			memcpy(&f, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (nfds++ == 0)
				fd = f;
			else
				close(f);
		}
	}
	const char *why = NULL;
	if (mh.msg_flags & MSG_CTRUNC)
		why = "a truncated control message";
	else if (foreign)
		why = "control data other than a descriptor";
	else if (nfds > 1)
		why = "more than one descriptor";
	else if (nfds == 1 && r->got != 0)
		why = "a descriptor after the first byte of a frame";
	if (why) {
		if (fd >= 0)
			close(fd);
		return error_set(err, -EBADMSG, 500, "privsep: %s", why);
	}
	if (fd >= 0)
		r->fd = fd;
	if (n == 0)
		return r->got ? error_set(err, -EPIPE, 503,
		                          "privsep: the peer closed the channel within a frame")
		              : error_set(err, -EPIPE, 503, "privsep: the peer closed the channel");
	return n;
}

/* The header is complete: check it before anything is allocated for it. */
static int header_done(struct privsep_reader *r, struct error **err)
{
	int e = privsep_hdr_parse(r->hdr_buf, &r->hdr, err);
	if (e < 0)
		return e;
	if (!(privsep_type_senders(r->hdr.type) & r->from))
		return error_set(err, -EBADMSG, 500, "privsep: %s from the wrong side",
		                 privsep_type_name(r->hdr.type));
	if (!!(r->hdr.flags & PRIVSEP_F_FD) != (r->fd >= 0))
		return error_set(err, -EBADMSG, 500, "privsep: %s %s a descriptor",
		                 privsep_type_name(r->hdr.type), r->fd >= 0 ? "with" : "without");
	r->frame = xmalloc(PRIVSEP_HDR_SIZE + (size_t)r->hdr.len);
	memcpy(r->frame, r->hdr_buf, PRIVSEP_HDR_SIZE);
	return 0;
}

int privsep_recv(struct privsep_reader *r, int sock, int timeout_ms, struct privsep_msg *ret,
                 struct error **err)
{
	if (r->failed)
		return error_set(err, r->failed, 500, "privsep: the channel is broken");
	int64_t deadline = deadline_of(timeout_ms);
	/* Never blocked in recvmsg(), even without a deadline: reading a unix
	 * stream socket wakes every thread asleep on the peer's socket to say
	 * there is room to write, and one asleep in recvmsg() there wakes for
	 * nothing.  On a request channel that is the front's connection thread
	 * (priv read its REQUEST) and priv's channel thread (the front read its
	 * RESPONSE): a context switch each per request, on a virtual machine an
	 * inter-processor interrupt too.  poll(POLLIN) filters that wake-up out;
	 * the price is one recvmsg() that finds nothing before it. */
	int flags = MSG_DONTWAIT;
	for (;;) {
		size_t total = r->frame ? PRIVSEP_HDR_SIZE + (size_t)r->hdr.len : PRIVSEP_HDR_SIZE;
		if (r->frame && r->got == total) {
			int e = privsep_msg_decode(r->frame, total, TAKE_FD(r->fd), ret, err);
			free(r->frame);
			r->frame = NULL;
			r->got = 0;
			return e < 0 ? reader_fail(r, e, err) : 1;
		}
		uint8_t *dst = r->frame ? r->frame + r->got : r->hdr_buf + r->got;
		/* a frame's first read, on a channel that carries one at a time */
		uint8_t ahead[PRIVSEP_READ_AHEAD];
		bool first = r->one_at_a_time && !r->frame && r->got == 0;
		ssize_t n = recv_some(r, sock, dst, total - r->got, first ? ahead : NULL,
		                      first ? sizeof(ahead) : 0, flags, err);
		if (n == -EINTR)
			continue;
		if (n == -EAGAIN || n == -EWOULDBLOCK) {
			if (timeout_ms == 0)
				return 0;
			int w = wait_fd(sock, POLLIN, deadline);
			if (w == 0)
				return 0;
			if (w < 0)
				return reader_fail(
				    r, error_set(err, w, 500, "privsep: poll: %s", strerror(-w)),
				    err);
			continue;
		}
		if (n < 0)
			return reader_fail(r, (int)n, err);
		size_t extra = (size_t)n > total - r->got ? (size_t)n - (total - r->got) : 0;
		r->got += (size_t)n - extra;
		if (!r->frame && r->got == PRIVSEP_HDR_SIZE) {
			int e = header_done(r, err);
			if (e < 0)
				return reader_fail(r, e, err);
		}
		if (extra) {
			/* only a first read has extra bytes, and its header is done */
			if (extra > r->hdr.len)
				return reader_fail(
				    r,
				    error_set(err, -EBADMSG, 500,
				              "privsep: a second frame on a one-at-a-time channel"),
				    err);
			memcpy(r->frame + r->got, ahead, extra);
			r->got += extra;
		}
	}
}
