/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * privsep: the allow-list is enough for the front's real work.  A child
 * loads a certificate, drops into the sandbox with the kill action, and
 * then, on a thread of its own as the front's connection threads will,
 * serves a TLS session (GnuTLS handshake, records, bye) to the parent and
 * hands the plaintext to the parent through the channel.  Any system call
 * GnuTLS, glibc or the channel makes outside the list kills it with SIGSYS.
 * Root only (skipped otherwise).
 */
#include "common.h"

#include <fcntl.h>
#include <pthread.h>
#include <pwd.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cmocka.h>
#include <gnutls/gnutls.h>

#include "error.h"
#include "http.h"
#include "privsep-drop.h"
#include "privsep.h"
#include "xalloc.h"

#define USER "nobody"

static char dir[64], cert[128], key[128];

struct front {
	gnutls_certificate_credentials_t cred;
	int tls_fd;  /* the "accepted connection" */
	int channel; /* to the "privileged side" */
	int ok;
};

/* One connection, as a front's connection thread serves it. */
static void *serve(void *arg)
{
	struct front *f = arg;
	gnutls_session_t s;
	gnutls_priority_t prio;
	if (gnutls_init(&s, GNUTLS_SERVER) < 0 ||
	    gnutls_priority_init(&prio, "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2", NULL) < 0)
		return NULL;
	gnutls_priority_set(s, prio);
	gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, f->cred);
	gnutls_transport_set_int(s, f->tls_fd);
	int r;
	do
		r = gnutls_handshake(s);
	while (r < 0 && !gnutls_error_is_fatal(r));
	char buf[64];
	ssize_t n = r < 0 ? -1 : gnutls_record_recv(s, buf, sizeof(buf));
	if (n == 4 && memcmp(buf, "ping", 4) == 0 && gnutls_record_send(s, "pong", 4) == 4) {
		/* what a front does with a request: the channel */
		struct privsep_msg m;
		privsep_msg_init(&m, PRIVSEP_REQUEST, 1);
		m.request.method = xstrdup("GET");
		m.request.path = xstrdup("/ping");
		m.request.flags = PRIVSEP_REQ_TLS;
		snprintf(m.request.peer_addr, sizeof(m.request.peer_addr), "127.0.0.1");
		f->ok = privsep_send(f->channel, &m, 5000, NULL) == 0;
		privsep_msg_clear(&m);
	}
	gnutls_bye(s, GNUTLS_SHUT_WR);
	gnutls_deinit(s);
	gnutls_priority_deinit(prio);
	return NULL;
}

static void _noreturn_ front_main(int tls_fd, int channel)
{
	struct front f = {.tls_fd = tls_fd, .channel = channel};
	/* as the daemon: a client gone before the bye is not a reason to die */
	signal(SIGPIPE, SIG_IGN);
	tzset();
	if (gnutls_certificate_allocate_credentials(&f.cred) < 0 ||
	    gnutls_certificate_set_x509_key_file(f.cred, cert, key, GNUTLS_X509_FMT_PEM) < 0)
		_exit(3);
	struct privsep_drop_config cfg = {.user = USER, .seccomp = PRIVSEP_SECCOMP_KILL};
	if (privsep_drop(&cfg, NULL) < 0)
		_exit(4);
	pthread_t t;
	if (pthread_create(&t, NULL, serve, &f) != 0 || pthread_join(t, NULL) != 0)
		_exit(5);
	gnutls_certificate_free_credentials(f.cred);
	_exit(f.ok ? 0 : 6);
}

static void test_tls_in_sandbox(void **state)
{
	if (geteuid() != 0 || !getpwnam(USER))
		skip();
	int tls[2], chan[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, tls), 0);
	assert_int_equal(privsep_socketpair(chan, NULL), 0);
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		alarm(20);
		close(tls[1]);
		close(chan[1]);
		front_main(tls[0], chan[0]);
	}
	close(tls[0]);
	close(chan[0]);

	gnutls_certificate_credentials_t cred;
	gnutls_session_t s;
	assert_int_equal(gnutls_certificate_allocate_credentials(&cred), 0);
	assert_int_equal(gnutls_init(&s, GNUTLS_CLIENT), 0);
	gnutls_set_default_priority(s);
	gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, cred);
	gnutls_transport_set_int(s, tls[1]);
	int r;
	do
		r = gnutls_handshake(s);
	while (r < 0 && !gnutls_error_is_fatal(r));
	char buf[8] = "";
	if (r == 0 && gnutls_record_send(s, "ping", 4) == 4)
		r = gnutls_record_recv(s, buf, sizeof(buf));
	gnutls_deinit(s);
	gnutls_certificate_free_credentials(cred);
	close(tls[1]);

	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("front: status 0x%x%s", status,
		         WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS
		             ? " (SIGSYS: a system call outside the allow-list)"
		             : "");
	assert_int_equal(r, 4);
	assert_memory_equal(buf, "pong", 4);

	struct privsep_reader rd;
	struct privsep_msg m;
	privsep_reader_init(&rd, PRIVSEP_FRONT);
	assert_int_equal(privsep_recv(&rd, chan[1], 1000, &m, NULL), 1);
	assert_string_equal(m.request.path, "/ping");
	privsep_msg_clear(&m);
	privsep_reader_release(&rd);
	close(chan[1]);
}

static int setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/privsep-tls-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
	snprintf(key, sizeof(key), "%s/key.pem", dir);
	return http_tls_ensure_cert(cert, key, "localhost", NULL) < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	unlink(cert);
	unlink(key);
	rmdir(dir);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_tls_in_sandbox)};
	int failed = cmocka_run_group_tests(tests, setup, teardown);
	return failed == 0 && geteuid() != 0 ? 77 : failed; /* 77: skipped, for meson */
}
