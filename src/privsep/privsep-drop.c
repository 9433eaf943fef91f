/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The front process's sandbox (privsep-drop.h).  The order matters: every
 * step that needs a privilege (chroot, securebits, the bounding set, the
 * groups) comes before the user switch that ends them, the filter is built
 * first (so a failure changes nothing) and loaded last, and the switch is
 * verified by trying to undo it.
 */
#include "common.h"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <pwd.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#include "error.h"
#include "privsep-drop.h"

/*
 * Allowed with any arguments.  Each group is what a threaded TLS server on
 * glibc and GnuTLS does with what it already holds; docs/dev/PRIVSEP.md
 * says why each is there.  Names unknown on this architecture are skipped.
 */
const char *const privsep_front_syscalls[] = {
    /* descriptors it holds: the channel, listening and accepted sockets,
     * files and pipes passed to it */
    "read", "readv", "pread64", "write", "writev", "pwrite64", "lseek", "close", "close_range",
    "dup", "dup2", "dup3", "fcntl", "fstat", "newfstatat", "statx", "fsync", "fdatasync",
    "sendfile", "pipe2", "eventfd2",
    /* sockets it holds (no socket(), connect() or bind()) */
    "accept", "accept4", "recvmsg", "sendmsg", "recvfrom", "sendto", "shutdown", "getsockname",
    "getpeername", "getsockopt", "setsockopt",
    /* waiting */
    "poll", "ppoll", "epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait", "epoll_pwait2",
    "futex", "nanosleep", "clock_nanosleep", "sched_yield",
    /* memory (mmap and mprotect: restricted below) */
    "brk", "munmap", "mremap", "madvise",
    /* threads (pthread_create, thread exit) */
    "set_robust_list", "rseq", "gettid", "sched_getaffinity", "exit",
    /* time and randomness (GnuTLS) */
    "clock_gettime", "clock_getres", "gettimeofday", "time", "getrandom",
    /* signals of its own */
    "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "rt_sigtimedwait", "sigaltstack",
    "restart_syscall",
    /* facts about itself */
    "getpid", "getuid", "geteuid", "getgid", "getegid", "getresuid", "getresgid", "getgroups",
    "uname", "sysinfo", "getrlimit", "exit_group", NULL};

/* Allowed only as add_restricted() below says. */
const char *const privsep_front_syscalls_restricted[] = {
    "openat",    "open",     /* read-only: no write access, O_CREAT or O_TRUNC */
    "mmap",      "mprotect", /* never PROT_EXEC */
    "clone",                 /* threads only (CLONE_THREAD): no fork */
    "clone3",                /* fails with ENOSYS, so glibc falls back to clone */
    "kill",      "tgkill",   /* its own process only */
    "prlimit64",             /* reading its own limits */
    "prctl",                 /* PR_SET_NAME, PR_GET_NAME (thread names) */
    "ioctl",                 /* TIOCSWINSZ (a console's size); else fails with ENOTTY */
    NULL};

static int resolve(const char *name)
{
	int nr = seccomp_syscall_resolve_name(name);
	return nr == __NR_SCMP_ERROR ? -1 : nr; /* negative: not on this architecture */
}

static int rule(scmp_filter_ctx ctx, uint32_t action, const char *name, unsigned n,
                const struct scmp_arg_cmp *cmp)
{
	int nr = resolve(name);
	if (nr < 0)
		return 0;
	return seccomp_rule_add_array(ctx, action, nr, n, cmp);
}

static int add_restricted(scmp_filter_ctx ctx)
{
	const scmp_datum_t wr = O_ACCMODE | O_CREAT | O_TRUNC;
	const scmp_datum_t pid = (scmp_datum_t)getpid();
	const struct scmp_arg_cmp open_a1[] = {SCMP_A1(SCMP_CMP_MASKED_EQ, wr, 0)};
	const struct scmp_arg_cmp openat_a2[] = {SCMP_A2(SCMP_CMP_MASKED_EQ, wr, 0)};
	const struct scmp_arg_cmp noexec[] = {SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0)};
	const struct scmp_arg_cmp thread[] = {
	    SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD)};
	const struct scmp_arg_cmp self[] = {SCMP_A0(SCMP_CMP_EQ, pid)};
	const struct scmp_arg_cmp getlimit[] = {SCMP_A0(SCMP_CMP_EQ, 0), SCMP_A2(SCMP_CMP_EQ, 0)};
	const struct scmp_arg_cmp setname[] = {SCMP_A0(SCMP_CMP_EQ, PR_SET_NAME)};
	const struct scmp_arg_cmp getname[] = {SCMP_A0(SCMP_CMP_EQ, PR_GET_NAME)};
	const struct scmp_arg_cmp winsz[] = {SCMP_A1(SCMP_CMP_EQ, TIOCSWINSZ)};
	const struct scmp_arg_cmp not_winsz[] = {SCMP_A1(SCMP_CMP_NE, TIOCSWINSZ)};
	int r;
	if ((r = rule(ctx, SCMP_ACT_ALLOW, "openat", 1, openat_a2)) < 0 ||
	    (r = rule(ctx, SCMP_ACT_ALLOW, "open", 1, open_a1)) < 0 ||
	    (r = rule(ctx, SCMP_ACT_ALLOW, "mmap", 1, noexec)) < 0 ||
	    (r = rule(ctx, SCMP_ACT_ALLOW, "mprotect", 1, noexec)) < 0 ||
	    (r = rule(ctx, SCMP_ACT_ALLOW, "clone", 1, thread)) < 0 ||
	    (r = rule(ctx, SCMP_ACT_ERRNO(ENOSYS), "clone3", 0, NULL)) < 0 ||
	    (r = rule(ctx, SCMP_ACT_ALLOW, "kill", 1, self)) < 0 ||
	    (r = rule(ctx, SCMP_ACT_ALLOW, "tgkill", 1, self)) < 0 ||
	    (r = rule(ctx, SCMP_ACT_ALLOW, "prlimit64", 2, getlimit)) < 0 ||
	    (r = rule(ctx, SCMP_ACT_ALLOW, "prctl", 1, setname)) < 0 ||
	    (r = rule(ctx, SCMP_ACT_ALLOW, "prctl", 1, getname)) < 0 ||
	    (r = rule(ctx, SCMP_ACT_ALLOW, "ioctl", 1, winsz)) < 0 ||
	    (r = rule(ctx, SCMP_ACT_ERRNO(ENOTTY), "ioctl", 1, not_winsz)) < 0)
		return r;
	return 0;
}

/* Builds the filter without loading it; *ret NULL with PRIVSEP_SECCOMP_OFF. */
static int build_filter(enum privsep_seccomp mode, scmp_filter_ctx *ret, struct error **err)
{
	uint32_t fail;
	switch (mode) {
	case PRIVSEP_SECCOMP_KILL:
		fail = SCMP_ACT_KILL_PROCESS;
		break;
	case PRIVSEP_SECCOMP_ERRNO:
		fail = SCMP_ACT_ERRNO(EPERM);
		break;
	case PRIVSEP_SECCOMP_LOG:
		fail = SCMP_ACT_LOG;
		break;
	case PRIVSEP_SECCOMP_OFF:
		*ret = NULL;
		return 0;
	default:
		return error_set(err, -EINVAL, 500, "privsep: unknown seccomp mode %d", mode);
	}
	scmp_filter_ctx ctx = seccomp_init(fail);
	if (!ctx)
		return error_set(err, -ENOMEM, 500, "privsep: seccomp_init failed");
	/* Another architecture's calls (int 0x80 on x86-64) fail the same way;
	 * threads that exist anyway get the filter too. */
	int r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH,
	                         mode == PRIVSEP_SECCOMP_LOG ? SCMP_ACT_KILL_PROCESS : fail);
	if (r == 0)
		r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	for (const char *const *s = privsep_front_syscalls; r == 0 && *s; s++)
		r = rule(ctx, SCMP_ACT_ALLOW, *s, 0, NULL);
	if (r == 0)
		r = add_restricted(ctx);
	if (r < 0) {
		seccomp_release(ctx);
		return error_set(err, r, 500, "privsep: cannot build the seccomp filter: %s",
		                 strerror(-r));
	}
	*ret = ctx;
	return 0;
}

static void seccomp_releasep(scmp_filter_ctx *ctx)
{
	if (*ctx)
		seccomp_release(*ctx);
}

/* Threads do not share capabilities or the bounding set: only a process
 * with one thread can drop them all.  -1 when /proc cannot tell. */
static int count_threads(void)
{
	DIR *d = opendir("/proc/self/task");
	if (!d)
		return -1;
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static int set_caps_zero(void)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3] = {{0}};
	return syscall(SYS_capset, &h, d) < 0 ? -errno : 0;
}

static bool caps_are_zero(void)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];
	if (syscall(SYS_capget, &h, d) < 0)
		return false;
	for (int i = 0; i < _LINUX_CAPABILITY_U32S_3; i++)
		if (d[i].effective || d[i].permitted || d[i].inheritable)
			return false;
	for (int c = 0; c < 64; c++) {
		int r = prctl(PR_CAPBSET_READ, c, 0, 0, 0);
		if (r < 0)
			break; /* EINVAL: past the last capability */
		if (r)
			return false;
	}
	for (int c = 0; c < 64; c++) {
		int r = prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, c, 0, 0);
		if (r < 0)
			break;
		if (r)
			return false;
	}
	return true;
}

static int drop_bounding_set(void)
{
	for (int c = 0; c < 64; c++)
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0) {
			if (errno == EINVAL)
				return 0; /* past the last capability the kernel knows */
			return -errno;
		}
	return 0;
}

#define FAIL(what, ...) \
	error_set(err, -errno, 500, "privsep: " what ": %s", ##__VA_ARGS__, strerror(errno))

static int switch_user(uid_t uid, gid_t gid, struct error **err)
{
	if (setgroups(0, NULL) < 0)
		return FAIL("setgroups");
	if (setresgid(gid, gid, gid) < 0)
		return FAIL("setresgid(%u)", (unsigned)gid);
	if (setresuid(uid, uid, uid) < 0)
		return FAIL("setresuid(%u)", (unsigned)uid);
	int r = set_caps_zero();
	if (r < 0)
		return error_set(err, r, 500, "privsep: capset: %s", strerror(-r));

	/* Verify by trying to undo it: a success here would be root again. */
	uid_t ru, eu, su;
	gid_t rg, eg, sg;
	if (getresuid(&ru, &eu, &su) < 0 || getresgid(&rg, &eg, &sg) < 0 || ru != uid ||
	    eu != uid || su != uid || rg != gid || eg != gid || sg != gid ||
	    getgroups(0, NULL) != 0)
		return error_set(err, -EPERM, 500, "privsep: the user switch did not hold");
	if (setuid(0) == 0 || setgid(0) == 0 || setresuid(-1, 0, -1) == 0 || !caps_are_zero())
		return error_set(err, -EPERM, 500, "privsep: root can be regained");
	return 0;
}

int privsep_drop(const struct privsep_drop_config *cfg, struct error **err)
{
	if (!cfg->user)
		return error_set(err, -EINVAL, 500, "privsep: no user to run as");
	if (geteuid() != 0)
		return error_set(err, -EPERM, 500, "privsep: dropping privileges needs root");
	int threads = count_threads();
	if (threads > 1)
		return error_set(err, -EBUSY, 500,
		                 "privsep: %d threads: privileges must be dropped before any "
		                 "thread starts",
		                 threads);

	struct passwd pw, *res = NULL;
	char buf[4096];
	int r = getpwnam_r(cfg->user, &pw, buf, sizeof(buf), &res);
	if (!res)
		return error_set(err, r ? -r : -ENOENT, 500, "privsep: no user '%s'", cfg->user);
	uid_t uid = pw.pw_uid;
	gid_t gid = pw.pw_gid;
	if (uid == 0 || gid == 0)
		return error_set(err, -EINVAL, 500, "privsep: user '%s' is root", cfg->user);

	_cleanup_(seccomp_releasep) scmp_filter_ctx filter = NULL;
	if ((r = build_filter(cfg->seccomp, &filter, err)) < 0)
		return r;

	if (cfg->chroot_dir) {
		if (chroot(cfg->chroot_dir) < 0)
			return FAIL("chroot('%s')", cfg->chroot_dir);
	}
	if (chdir("/") < 0)
		return FAIL("chdir('/')");

	/* While root still has CAP_SETPCAP: keep-caps off and locked (the
	 * switch below clears every capability), root never gains any again,
	 * no ambient capability can be raised, and none is left to gain. */
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0 ||
	    prctl(PR_SET_SECUREBITS,
	          SECBIT_KEEP_CAPS_LOCKED | SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_NOROOT |
	              SECBIT_NOROOT_LOCKED | SECBIT_NO_CAP_AMBIENT_RAISE |
	              SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED,
	          0, 0, 0) < 0)
		return FAIL("securebits");
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return FAIL("clearing ambient capabilities");
	if ((r = drop_bounding_set()) < 0)
		return error_set(err, r, 500, "privsep: dropping the bounding set: %s",
		                 strerror(-r));

	if ((r = switch_user(uid, gid, err)) < 0)
		return r;

	/* No core file and no ptrace by other processes of the same user: the
	 * front holds the TLS key and requests' tickets in memory. */
	struct rlimit no_core = {0, 0};
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0 || setrlimit(RLIMIT_CORE, &no_core) < 0)
		return FAIL("dumpable");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return FAIL("no_new_privs");
	if (filter && (r = seccomp_load(filter)) < 0)
		return error_set(err, r, 500, "privsep: cannot load the seccomp filter: %s",
		                 strerror(-r));
	return 0;
}
