/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The guest layer's state rules (guest_check_op()): one table of state x
 * operation -> allowed, or Proxmox's refusal word for word.
 */
#include "common.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "error.h"
#include "guest.h"

struct rule_case {
	const char *conf; /* JSON object: the main section */
	bool running, paused;
	enum guest_op op;
	unsigned flags;
	const char *refusal; /* NULL: allowed */
};

#define RUNNING true, false
#define PAUSED  true, true
#define STOPPED false, false

static const struct rule_case cases[] = {
    /* start */
    {"{}", STOPPED, GUEST_OP_START, 0, NULL},
    {"{}", RUNNING, GUEST_OP_START, 0, "VM 100 already running"},
    {"{\"template\":\"1\"}", STOPPED, GUEST_OP_START, 0, "you can't start a vm if it's a template"},
    {"{\"template\":\"1\",\"lock\":\"backup\"}", STOPPED, GUEST_OP_START, 0,
     "you can't start a vm if it's a template"},
    {"{\"lock\":\"backup\"}", STOPPED, GUEST_OP_START, 0, "VM is locked (backup)"},
    {"{\"lock\":\"backup\"}", STOPPED, GUEST_OP_START, GUEST_SKIPLOCK, NULL},
    {"{\"lock\":\"suspended\"}", STOPPED, GUEST_OP_START, 0, NULL},
    {"{\"lock\":\"create\"}", STOPPED, GUEST_OP_START, 0, "VM is locked (create)"},
    {"{\"protection\":\"1\"}", STOPPED, GUEST_OP_START, 0, NULL},
    /* stop, shutdown */
    {"{}", STOPPED, GUEST_OP_STOP, 0, NULL},
    {"{}", RUNNING, GUEST_OP_STOP, 0, NULL},
    {"{\"lock\":\"migrate\"}", RUNNING, GUEST_OP_STOP, 0, "VM is locked (migrate)"},
    {"{\"lock\":\"migrate\"}", RUNNING, GUEST_OP_STOP, GUEST_SKIPLOCK, NULL},
    {"{}", RUNNING, GUEST_OP_SHUTDOWN, 0, NULL},
    {"{}", STOPPED, GUEST_OP_SHUTDOWN, 0, NULL},
    {"{}", PAUSED, GUEST_OP_SHUTDOWN, 0, "VM is paused - cannot shutdown"},
    {"{}", PAUSED, GUEST_OP_SHUTDOWN, GUEST_FORCE, NULL},
    {"{\"lock\":\"snapshot\"}", RUNNING, GUEST_OP_SHUTDOWN, 0, "VM is locked (snapshot)"},
    /* reboot, reset */
    {"{}", RUNNING, GUEST_OP_REBOOT, 0, NULL},
    {"{}", STOPPED, GUEST_OP_REBOOT, 0, "VM 100 not running"},
    {"{}", PAUSED, GUEST_OP_REBOOT, 0, "VM is paused - cannot shutdown"},
    {"{}", RUNNING, GUEST_OP_RESET, 0, NULL},
    {"{}", STOPPED, GUEST_OP_RESET, 0, "VM 100 not running"},
    {"{\"lock\":\"backup\"}", RUNNING, GUEST_OP_RESET, 0, "VM is locked (backup)"},
    /* suspend, resume */
    {"{}", RUNNING, GUEST_OP_SUSPEND, 0, NULL},
    {"{}", STOPPED, GUEST_OP_SUSPEND, 0, "VM 100 not running"},
    {"{}", RUNNING, GUEST_OP_SUSPEND, GUEST_TODISK, NULL},
    {"{\"lock\":\"clone\"}", RUNNING, GUEST_OP_SUSPEND, 0, "VM is locked (clone)"},
    {"{}", PAUSED, GUEST_OP_RESUME, 0, NULL},
    {"{}", STOPPED, GUEST_OP_RESUME, 0, "VM 100 not running"},
    {"{\"lock\":\"suspended\"}", STOPPED, GUEST_OP_RESUME, 0, NULL},
    {"{\"lock\":\"backup\"}", PAUSED, GUEST_OP_RESUME, 0, NULL},
    {"{\"lock\":\"rollback\"}", PAUSED, GUEST_OP_RESUME, 0, "VM is locked (rollback)"},
    /* destroy */
    {"{}", STOPPED, GUEST_OP_DESTROY, 0, NULL},
    {"{\"template\":\"1\"}", STOPPED, GUEST_OP_DESTROY, 0, NULL},
    {"{}", RUNNING, GUEST_OP_DESTROY, 0, "VM 100 is running - destroy failed"},
    {"{\"protection\":\"1\"}", STOPPED, GUEST_OP_DESTROY, 0,
     "can't remove VM 100 - protection mode enabled"},
    {"{\"protection\":\"1\"}", RUNNING, GUEST_OP_DESTROY, 0,
     "can't remove VM 100 - protection mode enabled"},
    {"{\"protection\":\"0\"}", STOPPED, GUEST_OP_DESTROY, 0, NULL},
    {"{\"lock\":\"backup\"}", STOPPED, GUEST_OP_DESTROY, 0, "VM is locked (backup)"},
    {"{\"lock\":\"backup\"}", STOPPED, GUEST_OP_DESTROY, GUEST_SKIPLOCK, NULL},
    /* config */
    {"{}", RUNNING, GUEST_OP_CONFIG, 0, NULL},
    {"{\"lock\":\"snapshot-delete\"}", STOPPED, GUEST_OP_CONFIG, 0,
     "VM is locked (snapshot-delete)"},
    {"{\"lock\":\"suspended\"}", STOPPED, GUEST_OP_CONFIG, 0, "VM is locked (suspended)"},
    {"{\"lock\":\"suspended\"}", STOPPED, GUEST_OP_CONFIG, GUEST_SKIPLOCK, NULL},
    /* template */
    {"{}", STOPPED, GUEST_OP_TEMPLATE, 0, NULL},
    {"{}", RUNNING, GUEST_OP_TEMPLATE, 0, "you can't convert a VM to template if VM is running"},
    {"{\"template\":\"1\"}", STOPPED, GUEST_OP_TEMPLATE, 0,
     "you can't convert a template to a template"},
    {"{\"lock\":\"backup\"}", STOPPED, GUEST_OP_TEMPLATE, 0, "VM is locked (backup)"},
    /* snapshots */
    {"{}", RUNNING, GUEST_OP_SNAPSHOT, 0, NULL},
    {"{\"template\":\"1\"}", STOPPED, GUEST_OP_SNAPSHOT, 0,
     "you can't take a snapshot if it's a template"},
    {"{\"lock\":\"snapshot\"}", STOPPED, GUEST_OP_SNAPSHOT, 0, "VM is locked (snapshot)"},
    {"{\"template\":\"1\"}", STOPPED, GUEST_OP_ROLLBACK, 0,
     "you can't rollback if vm is a template"},
    {"{\"lock\":\"backup\"}", STOPPED, GUEST_OP_DELSNAPSHOT, 0, "VM is locked (backup)"},
    /* clone, disks, migrate */
    {"{\"template\":\"1\"}", STOPPED, GUEST_OP_CLONE, 0, NULL},
    {"{\"lock\":\"clone\"}", STOPPED, GUEST_OP_CLONE, 0, "VM is locked (clone)"},
    {"{}", RUNNING, GUEST_OP_RESIZE, 0, NULL},
    {"{\"lock\":\"backup\"}", RUNNING, GUEST_OP_MOVE_DISK, 0, "VM is locked (backup)"},
    {"{}", STOPPED, GUEST_OP_MIGRATE, 0, "no cluster: migration is not possible"},
};

/* A kind with every capability, so the table sees the rules themselves
 * (what a real kind lacks is test_caps's business). */
static const struct guest_kind_ops full_kind = {
    .type = "qemu",
    .noun = "VM",
    .caps = GUEST_CAP_SNAPSHOT | GUEST_CAP_SNAPSHOT_RAM | GUEST_CAP_SUSPEND | GUEST_CAP_HIBERNATE |
            GUEST_CAP_CLONE | GUEST_CAP_TEMPLATE | GUEST_CAP_RESET | GUEST_CAP_HOTPLUG,
};

static void test_rules(void **state)
{
	const struct guest_kind_ops *k = &full_kind;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct rule_case *c = &cases[i];
		json_t *conf = json_loads(c->conf, 0, NULL);
		assert_non_null(conf);
		struct guest_state st = {.conf = conf, .running = c->running, .paused = c->paused};
		struct error *e = NULL;
		int r = guest_check_op(k, 100, &st, c->op, c->flags, &e);
		if (!c->refusal && r != 0)
			fail_msg("case %zu (%s %s): refused: %s", i, guest_op_name(c->op), c->conf,
			         e ? e->msg : "?");
		if (c->refusal) {
			if (r >= 0 || !e)
				fail_msg("case %zu (%s %s): allowed, want '%s'", i,
				         guest_op_name(c->op), c->conf, c->refusal);
			if (!streq(e->msg, c->refusal))
				fail_msg("case %zu (%s %s): '%s', want '%s'", i,
				         guest_op_name(c->op), c->conf, e->msg, c->refusal);
			assert_int_equal(e->http_status, 500);
		}
		error_free(e);
		json_decref(conf);
	}
}

/* A kind without a capability refuses the operations that need it, the
 * same way for every kind. */
static void test_caps(void **state)
{
	static const struct guest_kind_ops bare = {.type = "bare", .noun = "CT"};
	json_t *conf = json_object();
	struct guest_state st = {.conf = conf, .running = true};
	struct error *e = NULL;
	assert_int_equal(guest_check_op(&bare, 101, &st, GUEST_OP_SUSPEND, 0, &e), -EOPNOTSUPP);
	assert_string_equal(e->msg, "suspend of a bare guest is not supported");
	e = error_free(e);
	assert_int_equal(guest_check_op(&bare, 101, &st, GUEST_OP_STOP, 0, &e), 0);
	json_object_set_new(conf, "lock", json_string("backup"));
	assert_int_equal(guest_check_op(&bare, 101, &st, GUEST_OP_STOP, 0, &e), -EBUSY);
	assert_string_equal(e->msg, "CT is locked (backup)");
	e = error_free(e);
	json_decref(conf);
}

static void test_lock_values(void **state)
{
	static const char *const want[] = {"backup",          "clone",      "create",
	                                   "migrate",         "rollback",   "snapshot",
	                                   "snapshot-delete", "suspending", "suspended"};
	for (size_t i = 0; i < ARRAY_SIZE(want); i++)
		assert_true(guest_lock_value_valid(want[i]));
	assert_false(guest_lock_value_valid("mounted"));
	assert_false(guest_lock_value_valid(""));
}

/* The qemu kind claims only what its slots do: a suspend to disk would
 * only pause the VM, so it is refused. */
static void test_qemu_caps(void **state)
{
	const struct guest_kind_ops *k = guest_kind_find("qemu");
	assert_non_null(k);
	json_t *conf = json_object();
	struct guest_state st = {.conf = conf, .running = true};
	struct error *e = NULL;
	/* suspend to disk: a running VM, not a stopped one */
	assert_int_equal(guest_check_op(k, 100, &st, GUEST_OP_SUSPEND, GUEST_TODISK, NULL), 0);
	st.running = false;
	assert_int_equal(guest_check_op(k, 100, &st, GUEST_OP_SUSPEND, GUEST_TODISK, &e), -EINVAL);
	assert_string_equal(e->msg, "VM 100 not running");
	e = error_free(e);
	st.running = true;
	/* a container has no state to disk */
	const struct guest_kind_ops *ct = guest_kind_find("lxc");
	if (ct) {
		assert_int_equal(guest_check_op(ct, 100, &st, GUEST_OP_SUSPEND, GUEST_TODISK, &e),
		                 -EOPNOTSUPP);
		assert_string_equal(e->msg, "suspend of a lxc guest is not supported");
		e = error_free(e);
	}
	assert_int_equal(guest_check_op(k, 100, &st, GUEST_OP_SUSPEND, 0, NULL), 0);
	assert_int_equal(guest_check_op(k, 100, &st, GUEST_OP_RESET, 0, NULL), 0);
	json_decref(conf);
}

static void test_startup(void **state)
{
	struct guest_startup s;
	assert_int_equal(guest_startup_parse("order=2,up=30,down=60", &s, NULL), 0);
	assert_int_equal(s.order, 2);
	assert_int_equal(s.up, 30);
	assert_int_equal(s.down, 60);
	assert_int_equal(guest_startup_parse("3", &s, NULL), 0);
	assert_int_equal(s.order, 3);
	assert_int_equal(s.up, -1);
	assert_int_equal(guest_startup_parse("up=5", &s, NULL), 0);
	assert_int_equal(s.order, -1);
	assert_int_equal(s.up, 5);
	struct error *e = NULL;
	assert_int_equal(guest_startup_parse("order=x", &s, &e), -EINVAL);
	assert_int_equal(e->http_status, 400);
	e = error_free(e);
	assert_int_equal(guest_startup_parse("sideways=1", &s, NULL), -EINVAL);
	assert_int_equal(guest_startup_parse("order=-1", &s, NULL), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rules),       cmocka_unit_test(test_caps),
	    cmocka_unit_test(test_lock_values), cmocka_unit_test(test_qemu_caps),
	    cmocka_unit_test(test_startup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
