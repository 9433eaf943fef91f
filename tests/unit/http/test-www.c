/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The console pages' file table: what is loaded, what is answered, bounds. */
#include "common.h"

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "error.h"
#include "fileio.h"
#include "http-parse.h"
#include "http-www.h"
#include "http.h"
#include "xalloc.h"

static char dir[] = "/tmp/test-www-XXXXXX";

static void put(const char *rel, const char *text)
{
	_cleanup_free_ char *p = path_join(dir, rel);
	_cleanup_free_ char *d = xstrdup(p);
	*strrchr(d, '/') = '\0';
	assert_int_equal(mkdir_p(d, 0755), 0);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void rm_rf(void)
{
	const char *argv[] = {"rm", "-rf", dir, NULL};
	pid_t pid = fork();
	if (pid == 0) {
		execv("/bin/rm", (char **)argv);
		_exit(127);
	}
	waitpid(pid, NULL, 0);
}

static int setup(void **state)
{
	assert_non_null(mkdtemp(dir));
	put("console.html", "<html>page</html>");
	put("secret.txt", "top-level files other than the page are not served");
	put("assets/H/a.js", "export const a = 1;");
	put("assets/H/sub/b.css", "body{}");
	put("assets/H/.hidden.js", "dot files are skipped");
	_cleanup_free_ char *ln = path_join(dir, "assets/H/link.js");
	assert_int_equal(symlink("/etc/passwd", ln), 0);
	_cleanup_free_ char *fifo = path_join(dir, "assets/H/fifo.js");
	assert_int_equal(mkfifo(fifo, 0600), 0);
	return 0;
}

static int teardown(void **state)
{
	rm_rf();
	return 0;
}

/* Answers one request; returns the status, or 0 when www_handle passed. */
static int ask(const struct www *w, const char *method, const char *path, const char *console,
               struct http_response *resp)
{
	struct http_request *req = http_request_new_forwarded(method, path);
	req->params = console ? json_pack("{s:s}", "console", console) : json_object();
	memset(resp, 0, sizeof(*resp));
	bool answered = www_handle(w, req, resp);
	http_request_free(req);
	return answered ? resp->status : 0;
}

static bool has_header(const struct http_response *r, const char *line)
{
	for (size_t i = 0; i < r->n_headers; i++)
		if (streq(r->headers[i], line))
			return true;
	return false;
}

static void test_load_and_answer(void **state)
{
	struct www *w = NULL;
	_cleanup_error_ struct error *e = NULL;
	assert_int_equal(www_load(dir, &w, &e), 0);
	/* the page and two assets: no link, FIFO, dot file or other top file */
	assert_int_equal(www_count(w), 3);

	struct http_response r;
	assert_int_equal(ask(w, "GET", "/", "kvm", &r), 200);
	assert_string_equal(r.content_type, "text/html;charset=UTF-8");
	assert_memory_equal(r.body, "<html>page</html>", r.body_len);
	assert_true(has_header(&r, "Cache-Control: no-cache"));
	http_response_release(&r);

	assert_int_equal(ask(w, "GET", "/assets/H/a.js", NULL, &r), 200);
	assert_string_equal(r.content_type, "text/javascript;charset=UTF-8");
	assert_true(has_header(&r, "Cache-Control: max-age=31536000, immutable"));
	assert_true(has_header(&r, "X-Content-Type-Options: nosniff"));
	http_response_release(&r);
	assert_int_equal(ask(w, "GET", "/assets/H/sub/b.css", NULL, &r), 200);
	assert_string_equal(r.content_type, "text/css;charset=UTF-8");
	http_response_release(&r);

	/* nothing outside the table, however the path is spelled */
	static const char *const missing[] = {
	    "/assets/H/link.js",
	    "/assets/H/fifo.js",
	    "/assets/H/.hidden.js",
	    "/assets/../secret.txt",
	    "/assets/H/../../secret.txt",
	    "/assets/H/sub/../a.js",
	    "/assets//H/a.js",
	    "/assets/H/a.js/",
	    "/assets/console.html",
	    "/assets/H/A.JS",
	    "/assets/",
	    "/assets/H",
	};
	for (size_t i = 0; i < ARRAY_SIZE(missing); i++) {
		assert_int_equal(ask(w, "GET", missing[i], NULL, &r), 404);
		assert_null(r.body);
		http_response_release(&r);
	}
	/* everything else is the API's */
	assert_int_equal(ask(w, "GET", "/", NULL, &r), 0);
	assert_int_equal(ask(w, "GET", "/secret.txt", NULL, &r), 0);
	assert_int_equal(ask(w, "GET", "/console.html", NULL, &r), 0);
	assert_int_equal(ask(w, "POST", "/assets/H/a.js", NULL, &r), 0);
	assert_int_equal(ask(w, "GET", "/api2/json/version", "kvm", &r), 0);
	assert_int_equal(ask(NULL, "GET", "/", "kvm", &r), 0);
	www_free(w);
}

static void test_bounds(void **state)
{
	struct www *w = NULL;
	/* no page: not built */
	char empty[] = "/tmp/test-www-empty-XXXXXX";
	assert_non_null(mkdtemp(empty));
	_cleanup_error_ struct error *e = NULL;
	assert_int_equal(www_load(empty, &w, &e), -ENOENT);
	rmdir(empty);
	error_free(TAKE_PTR(e));

	/* one file too big (sparse) */
	_cleanup_free_ char *big = path_join(dir, "assets/H/big.js");
	int fd = open(big, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, WWW_MAX_FILE_BYTES + 1), 0);
	close(fd);
	assert_int_equal(www_load(dir, &w, &e), -EFBIG);
	assert_null(w);
	error_free(TAKE_PTR(e));
	unlink(big);

	/* too deep */
	put("assets/H/1/2/3/4/5/6/7/8/9/deep.js", "x");
	assert_int_equal(www_load(dir, &w, &e), -EINVAL);
	error_free(TAKE_PTR(e));
	_cleanup_free_ char *deep = path_join(dir, "assets/H/1");
	const char *argv[] = {"rm", "-rf", deep, NULL};
	pid_t pid = fork();
	if (pid == 0) {
		execv("/bin/rm", (char **)argv);
		_exit(127);
	}
	waitpid(pid, NULL, 0);

	/* too many files */
	for (int i = 0; i < WWW_MAX_FILES; i++) {
		char rel[64];
		snprintf(rel, sizeof(rel), "assets/M/%d.js", i);
		put(rel, "x");
	}
	assert_int_equal(www_load(dir, &w, &e), -E2BIG);
	assert_null(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_load_and_answer),
	    cmocka_unit_test(test_bounds),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
