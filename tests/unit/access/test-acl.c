/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Table-driven permission tests: for each built-in role, paths and the
 * privileges API methods check there, with the expected allow/deny; then
 * propagation, user vs group precedence, NoAccess, pools and API tokens.
 */
#include "common.h"

#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>

#include "acl.h"
#include "error.h"
#include "privileges.h"
#include "strbuf.h"
#include "usercfg.h"
#include "xalloc.h"

struct row {
	const char *authid;
	const char *path;
	const char *priv;
	bool allow;
};

/* One user per built-in role, named after it, holding it on '/'. */
static const char role_cfg[] =
    "user:Administrator@pve:1:0::::::\nuser:NoAccess@pve:1:0::::::\n"
    "user:PVEAdmin@pve:1:0::::::\nuser:PVEAuditor@pve:1:0::::::\n"
    "user:PVEVMAdmin@pve:1:0::::::\nuser:PVEVMUser@pve:1:0::::::\n"
    "user:PVEDatastoreAdmin@pve:1:0::::::\nuser:PVEDatastoreUser@pve:1:0::::::\n"
    "user:PVEUserAdmin@pve:1:0::::::\nuser:PVESysAdmin@pve:1:0::::::\n"
    "user:PVEPoolAdmin@pve:1:0::::::\nuser:PVEPoolUser@pve:1:0::::::\n"
    "user:PVESDNAdmin@pve:1:0::::::\nuser:PVESDNUser@pve:1:0::::::\n"
    "user:PVEMappingAdmin@pve:1:0::::::\nuser:PVEMappingUser@pve:1:0::::::\n"
    "user:PVETemplateUser@pve:1:0::::::\n"
    "acl:1:/:Administrator@pve:Administrator:\nacl:1:/:NoAccess@pve:NoAccess:\n"
    "acl:1:/:PVEAdmin@pve:PVEAdmin:\nacl:1:/:PVEAuditor@pve:PVEAuditor:\n"
    "acl:1:/:PVEVMAdmin@pve:PVEVMAdmin:\nacl:1:/:PVEVMUser@pve:PVEVMUser:\n"
    "acl:1:/:PVEDatastoreAdmin@pve:PVEDatastoreAdmin:\n"
    "acl:1:/:PVEDatastoreUser@pve:PVEDatastoreUser:\n"
    "acl:1:/:PVEUserAdmin@pve:PVEUserAdmin:\nacl:1:/:PVESysAdmin@pve:PVESysAdmin:\n"
    "acl:1:/:PVEPoolAdmin@pve:PVEPoolAdmin:\nacl:1:/:PVEPoolUser@pve:PVEPoolUser:\n"
    "acl:1:/:PVESDNAdmin@pve:PVESDNAdmin:\nacl:1:/:PVESDNUser@pve:PVESDNUser:\n"
    "acl:1:/:PVEMappingAdmin@pve:PVEMappingAdmin:\n"
    "acl:1:/:PVEMappingUser@pve:PVEMappingUser:\n"
    "acl:1:/:PVETemplateUser@pve:PVETemplateUser:\n";

/* What the core API methods check (pve-api.md 4.8 and sections 6-7). */
static const struct row role_rows[] = {
    /* Administrator: everything, everywhere */
    {"Administrator@pve", "/", "Sys.Modify", true},
    {"Administrator@pve", "/access", "Permissions.Modify", true},
    {"Administrator@pve", "/access/realm/pve", "Realm.Allocate", true},
    {"Administrator@pve", "/vms/100", "VM.Allocate", true},
    {"Administrator@pve", "/nodes/n1", "Sys.PowerMgmt", true},
    /* NoAccess: nothing */
    {"NoAccess@pve", "/", "Sys.Audit", false},
    {"NoAccess@pve", "/vms/100", "VM.Audit", false},
    {"NoAccess@pve", "/storage/local", "Datastore.Audit", false},
    /* PVEAdmin: all but root-only privs and Mapping.Modify */
    {"PVEAdmin@pve", "/vms/100", "VM.Config.Disk", true},
    {"PVEAdmin@pve", "/storage/local", "Datastore.Allocate", true},
    {"PVEAdmin@pve", "/access/groups", "User.Modify", true},
    {"PVEAdmin@pve", "/nodes/n1", "Sys.Console", true},
    {"PVEAdmin@pve", "/", "Sys.Audit", true},
    {"PVEAdmin@pve", "/", "Sys.Modify", false},
    {"PVEAdmin@pve", "/nodes/n1", "Sys.PowerMgmt", false},
    {"PVEAdmin@pve", "/access", "Permissions.Modify", false},
    {"PVEAdmin@pve", "/access/realm/pve", "Realm.Allocate", false},
    {"PVEAdmin@pve", "/mapping/pci/x", "Mapping.Modify", false},
    {"PVEAdmin@pve", "/mapping/pci/x", "Mapping.Use", true},
    /* PVEAuditor: the audit privs */
    {"PVEAuditor@pve", "/vms/100", "VM.Audit", true},
    {"PVEAuditor@pve", "/vms/100", "VM.PowerMgmt", false},
    {"PVEAuditor@pve", "/storage/local", "Datastore.Audit", true},
    {"PVEAuditor@pve", "/storage/local", "Datastore.AllocateSpace", false},
    {"PVEAuditor@pve", "/", "Sys.Audit", true},
    {"PVEAuditor@pve", "/access", "Sys.Audit", true},
    {"PVEAuditor@pve", "/pool/x", "Pool.Audit", true},
    {"PVEAuditor@pve", "/access/groups", "User.Modify", false},
    /* PVEVMAdmin: every VM priv, nothing else */
    {"PVEVMAdmin@pve", "/vms/100", "VM.Allocate", true},
    {"PVEVMAdmin@pve", "/vms/100", "VM.Snapshot.Rollback", true},
    {"PVEVMAdmin@pve", "/vms/100", "VM.GuestAgent.Unrestricted", true},
    {"PVEVMAdmin@pve", "/vms/100", "Permissions.Modify", false},
    {"PVEVMAdmin@pve", "/storage/local", "Datastore.AllocateSpace", false},
    {"PVEVMAdmin@pve", "/", "Sys.Audit", false},
    /* PVEVMUser: use, not configure */
    {"PVEVMUser@pve", "/vms/100", "VM.PowerMgmt", true},
    {"PVEVMUser@pve", "/vms/100", "VM.Console", true},
    {"PVEVMUser@pve", "/vms/100", "VM.Config.CDROM", true},
    {"PVEVMUser@pve", "/vms/100", "VM.Backup", true},
    {"PVEVMUser@pve", "/vms/100", "VM.Config.Disk", false},
    {"PVEVMUser@pve", "/vms/100", "VM.Allocate", false},
    {"PVEVMUser@pve", "/vms/100", "VM.Migrate", false},
    /* datastore roles */
    {"PVEDatastoreAdmin@pve", "/storage/local", "Datastore.Allocate", true},
    {"PVEDatastoreAdmin@pve", "/storage/local", "Datastore.AllocateTemplate", true},
    {"PVEDatastoreAdmin@pve", "/vms/100", "VM.Audit", false},
    {"PVEDatastoreUser@pve", "/storage/local", "Datastore.AllocateSpace", true},
    {"PVEDatastoreUser@pve", "/storage/local", "Datastore.Audit", true},
    {"PVEDatastoreUser@pve", "/storage/local", "Datastore.Allocate", false},
    {"PVEDatastoreUser@pve", "/storage/local", "Datastore.AllocateTemplate", false},
    /* user admin */
    {"PVEUserAdmin@pve", "/access/groups", "User.Modify", true},
    {"PVEUserAdmin@pve", "/access/groups", "Group.Allocate", true},
    {"PVEUserAdmin@pve", "/access/realm/pve", "Realm.AllocateUser", true},
    {"PVEUserAdmin@pve", "/access/realm/pve", "Realm.Allocate", false},
    {"PVEUserAdmin@pve", "/access", "Permissions.Modify", false},
    /* sys admin */
    {"PVESysAdmin@pve", "/nodes/n1", "Sys.Console", true},
    {"PVESysAdmin@pve", "/nodes/n1", "Sys.Syslog", true},
    {"PVESysAdmin@pve", "/nodes/n1", "Sys.Audit", true},
    {"PVESysAdmin@pve", "/nodes/n1", "Sys.Modify", false},
    {"PVESysAdmin@pve", "/nodes/n1", "Sys.PowerMgmt", false},
    /* pools */
    {"PVEPoolAdmin@pve", "/pool/web", "Pool.Allocate", true},
    {"PVEPoolAdmin@pve", "/pool/web", "Pool.Audit", true},
    {"PVEPoolUser@pve", "/pool/web", "Pool.Audit", true},
    {"PVEPoolUser@pve", "/pool/web", "Pool.Allocate", false},
    /* sdn */
    {"PVESDNAdmin@pve", "/sdn/zones/z1", "SDN.Allocate", true},
    {"PVESDNAdmin@pve", "/sdn/zones/z1", "SDN.Use", true},
    {"PVESDNUser@pve", "/sdn/zones/z1/vnet1", "SDN.Use", true},
    {"PVESDNUser@pve", "/sdn/zones/z1", "SDN.Audit", true},
    {"PVESDNUser@pve", "/sdn/zones/z1", "SDN.Allocate", false},
    /* mapping */
    {"PVEMappingAdmin@pve", "/mapping/pci/gpu", "Mapping.Modify", true},
    {"PVEMappingUser@pve", "/mapping/pci/gpu", "Mapping.Use", true},
    {"PVEMappingUser@pve", "/mapping/pci/gpu", "Mapping.Modify", false},
    /* template user */
    {"PVETemplateUser@pve", "/vms/9000", "VM.Clone", true},
    {"PVETemplateUser@pve", "/vms/9000", "VM.Audit", true},
    {"PVETemplateUser@pve", "/vms/9000", "VM.PowerMgmt", false},
    /* root@pam needs no ACL; unknown users and privs get nothing */
    {"root@pam", "/", "Permissions.Modify", true},
    {"root@pam", "/whatever/deep", "Sys.Modify", true},
    {"ghost@pve", "/vms/100", "VM.Audit", false},
    {"Administrator@pve", "/vms/100", "VM.Monitor", false},
    {"Administrator@pve", "/vms/100", "No.Such", false},
};

static const char scenario_cfg[] =
    "user:root@pam:1:0::::::\n"
    "user:alice@pve:1:0::::::\n"
    "user:bob@pve:1:0::::::\n"
    "user:carol@pve:1:0::::::\n"
    "user:dave@pve:1:0::::::\n"
    "user:erin@pve:1:0::::::\n"
    "token:erin@pve!sep:0:1::\n"
    "token:erin@pve!full:0:0::\n"
    "user:frank@pve:1:0::::::\n"
    "user:gina@pve:1:0::::::\n"
    "token:gina@pve!ci:0:1::\n"
    "group:ops:bob@pve,frank@pve,gina@pve::\n"
    "group:audit:frank@pve::\n"
    "pool:web::200,201:local-lvm:\n"
    "pool:locked::300::\n"
    "role:Starter:VM.PowerMgmt,VM.Audit:\n"
    /* alice: VM user on all VMs, propagating */
    "acl:1:/vms:alice@pve:PVEVMUser:\n"
    /* dave: datastore user on /storage only, not propagating */
    "acl:0:/storage:dave@pve:PVEDatastoreUser:\n"
    /* group ops: VM admin on /vms; bob's own entry on /vms/100 wins there */
    "acl:1:/vms:@ops:PVEVMAdmin:\n"
    "acl:1:/vms/100:bob@pve:PVEAuditor:\n"
    /* frank: union of ops and audit at the same level */
    "acl:1:/storage:@ops:PVEDatastoreUser:\n"
    "acl:1:/storage:@audit:PVEDatastoreAdmin:\n"
    /* carol: admin everywhere but NoAccess on one VM */
    "acl:1:/:carol@pve:Administrator:\n"
    "acl:1:/vms/666:carol@pve:NoAccess:\n"
    /* erin: pool member rule; NoAccess on a pool */
    "acl:1:/pool/web:erin@pve:Starter:\n"
    "acl:1:/pool/locked:erin@pve:NoAccess:\n"
    "acl:1:/vms:erin@pve:PVEAuditor:\n"
    /* erin's privsep token: VM admin on /vms, cut down to erin's privs */
    "acl:1:/vms:erin@pve!sep:PVEVMAdmin:\n"
    /* gina's token, no ACL of its own on /storage */
    "acl:1:/vms/100:gina@pve!ci:PVEVMUser:\n";

static const struct row scenario_rows[] = {
    /* propagation */
    {"alice@pve", "/vms", "VM.PowerMgmt", true},
    {"alice@pve", "/vms/100", "VM.PowerMgmt", true},
    {"alice@pve", "/vms/100/sub", "VM.Console", true},
    {"alice@pve", "/", "VM.PowerMgmt", false},
    {"alice@pve", "/storage/local", "VM.PowerMgmt", false},
    {"dave@pve", "/storage", "Datastore.AllocateSpace", true},
    {"dave@pve", "/storage/local", "Datastore.AllocateSpace", false},
    /* group vs user: bob's user entry on /vms/100 replaces the group's */
    {"bob@pve", "/vms/101", "VM.Allocate", true},
    {"bob@pve", "/vms/100", "VM.Allocate", false},
    {"bob@pve", "/vms/100", "VM.Audit", true},
    {"bob@pve", "/vms/100", "Sys.Audit", true},
    /* union of groups at one level */
    {"frank@pve", "/storage/local", "Datastore.Allocate", true},
    {"frank@pve", "/storage/local", "Datastore.AllocateSpace", true},
    {"frank@pve", "/vms/100", "VM.Allocate", true},
    /* NoAccess cancels everything on its path, deeper wins */
    {"carol@pve", "/vms/665", "VM.Allocate", true},
    {"carol@pve", "/vms/666", "VM.Audit", false},
    {"carol@pve", "/vms/666", "Sys.Audit", false},
    {"carol@pve", "/", "Permissions.Modify", true},
    /* pools: members get the pool's roles, not propagating */
    {"erin@pve", "/vms/200", "VM.PowerMgmt", true},
    {"erin@pve", "/vms/201", "VM.PowerMgmt", true},
    {"erin@pve", "/vms/202", "VM.PowerMgmt", false},
    {"erin@pve", "/vms/202", "VM.Audit", true},
    {"erin@pve", "/storage/local-lvm", "VM.PowerMgmt", true},
    {"erin@pve", "/storage/local", "VM.PowerMgmt", false},
    {"erin@pve", "/pool/web", "VM.PowerMgmt", true},
    /* NoAccess on the pool beats the regular /vms ACL for members */
    {"erin@pve", "/vms/300", "VM.Audit", false},
    {"erin@pve", "/vms/301", "VM.Audit", true},
    /* privsep token: own ACLs intersected with the user's */
    {"erin@pve!sep", "/vms/100", "VM.Audit", true},
    {"erin@pve!sep", "/vms/100", "VM.Allocate", false},
    {"erin@pve!sep", "/vms/200", "VM.PowerMgmt", true}, /* user has it via the pool */
    {"erin@pve!sep", "/vms/300", "VM.Audit", false},    /* user: NoAccess via pool */
    /* non-privsep token: exactly the user's privs */
    {"erin@pve!full", "/vms/200", "VM.PowerMgmt", true},
    {"erin@pve!full", "/vms/100", "VM.Audit", true},
    /* missing token: nothing */
    {"erin@pve!nope", "/vms/100", "VM.Audit", false},
    /* gina's privsep token: its ACL on /vms/100 within gina's (ops: VM admin) */
    {"gina@pve!ci", "/vms/100", "VM.Console", true},
    {"gina@pve!ci", "/vms/100", "VM.Allocate", false},
    {"gina@pve!ci", "/vms/101", "VM.Console", false},
    {"gina@pve", "/vms/101", "VM.Allocate", true},
};

static struct usercfg *parse(const char *in)
{
	struct usercfg *cfg = NULL;
	struct error *e = NULL;
	assert_int_equal(usercfg_parse(in, strlen(in), &cfg, &e), 0);
	if (cfg->n_warnings)
		fail_msg("unexpected warning: %s", cfg->warnings[0]);
	return cfg;
}

static void run_rows(const struct usercfg *cfg, const struct row *rows, size_t n)
{
	int failures = 0;
	for (size_t i = 0; i < n; i++) {
		const struct row *r = &rows[i];
		bool got = access_check(cfg, r->authid, r->path, r->priv);
		if (got != r->allow) {
			print_error("%s on %s, %s: expected %s\n", r->authid, r->path, r->priv,
			            r->allow ? "allow" : "deny");
			failures++;
		}
	}
	assert_int_equal(failures, 0);
}

static void test_builtin_roles(void **state)
{
	struct usercfg *cfg = parse(role_cfg);
	run_rows(cfg, role_rows, ARRAY_SIZE(role_rows));
	/* every built-in role is covered above */
	for (size_t i = 0; i < special_role_count(); i++) {
		const char *name = special_role_get(i)->name;
		bool covered = false;
		for (size_t k = 0; k < ARRAY_SIZE(role_rows) && !covered; k++)
			covered = str_startswith(role_rows[k].authid, name) &&
			          role_rows[k].authid[strlen(name)] == '@';
		if (!covered)
			fail_msg("role %s has no rows", name);
	}
	usercfg_free(cfg);
}

static void test_scenarios(void **state)
{
	struct usercfg *cfg = parse(scenario_cfg);
	run_rows(cfg, scenario_rows, ARRAY_SIZE(scenario_rows));
	/* propagate bits: privsep token's bits are ANDed with the user's */
	struct privset ps;
	access_permissions(cfg, "erin@pve", "/vms/200", &ps);
	assert_false(privset_propagates(&ps, priv_lookup("VM.PowerMgmt"))); /* pool: 0 */
	assert_true(privset_propagates(&ps, priv_lookup("VM.Audit")));
	access_permissions(cfg, "alice@pve", "/vms/100", &ps);
	assert_true(privset_propagates(&ps, priv_lookup("VM.Console")));
	access_permissions(cfg, "dave@pve", "/storage", &ps);
	assert_false(privset_propagates(&ps, priv_lookup("Datastore.Audit")));
	usercfg_free(cfg);
}

static void test_role_table(void **state)
{
	static const struct {
		const char *role;
		size_t n;
	} sizes[] = {
	    {"Administrator", 47},    {"NoAccess", 0},         {"PVEAdmin", 40},
	    {"PVEAuditor", 7},        {"PVEVMAdmin", 23},      {"PVEVMUser", 10},
	    {"PVEDatastoreAdmin", 4}, {"PVEDatastoreUser", 2}, {"PVEUserAdmin", 3},
	    {"PVESysAdmin", 3},       {"PVEPoolAdmin", 2},     {"PVEPoolUser", 1},
	    {"PVESDNAdmin", 3},       {"PVESDNUser", 2},       {"PVEMappingAdmin", 3},
	    {"PVEMappingUser", 2},    {"PVETemplateUser", 2},
	};
	assert_int_equal(special_role_count(), ARRAY_SIZE(sizes));
	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		const struct special_role *r = special_role_find(sizes[i].role);
		assert_non_null(r);
		struct privset ps = {r->privs, 0};
		if (privset_count(&ps) != sizes[i].n)
			fail_msg("%s has %zu privs, expected %zu", sizes[i].role,
			         privset_count(&ps), sizes[i].n);
	}
	struct privset a = {special_role_find("PVEAuditor")->privs, 0};
	_cleanup_free_ char *s = privset_to_string(&a);
	assert_string_equal(s, "Datastore.Audit,Mapping.Audit,Pool.Audit,SDN.Audit,Sys.Audit,"
	                       "VM.Audit,VM.GuestAgent.Audit");
	/* names sorted bytewise, lookups round-trip */
	for (int i = 0; i < PRIV_COUNT; i++) {
		assert_int_equal(priv_lookup(priv_name(i)), i);
		if (i)
			assert_true(strcmp(priv_name(i - 1), priv_name(i)) < 0);
	}
	assert_true(priv_is_legacy("VM.Monitor"));
	assert_int_equal(priv_lookup("VM.Monitor"), -EINVAL);
}

static void test_userid_group(void **state)
{
	const char *in = "user:root@pam:1:0::::::\nuser:boss@pve:1:0::::::\n"
	                 "user:m1@pve:1:0::::::\nuser:other@pve:1:0::::::\n"
	                 "user:ga@pve:1:0::::::\n"
	                 "group:team:m1@pve::\ngroup:else:other@pve::\n"
	                 "acl:1:/access/groups/team:boss@pve:PVEUserAdmin:\n"
	                 "acl:1:/access/groups:ga@pve:PVEUserAdmin:\n";
	struct usercfg *cfg = parse(in);
	const char *const privs[] = {"User.Modify", NULL};
	/* boss may modify members of team only */
	assert_true(access_check_userid_group(cfg, "boss@pve", "m1@pve", NULL, privs, NULL));
	assert_false(access_check_userid_group(cfg, "boss@pve", "other@pve", NULL, privs, NULL));
	assert_true(access_check_userid_group(cfg, "boss@pve", "new@pve", "team", privs, "create"));
	assert_false(
	    access_check_userid_group(cfg, "boss@pve", "new@pve", "else", privs, "create"));
	assert_false(access_check_userid_group(cfg, "boss@pve", "new@pve", "", privs, "create"));
	assert_true(access_check_userid_group(cfg, "boss@pve", "m1@pve", "team", privs, "update"));
	/* an update without groups: members of team only (ctvm; Proxmox refuses) */
	assert_true(access_check_userid_group(cfg, "boss@pve", "m1@pve", NULL, privs, "update"));
	assert_true(access_check_userid_group(cfg, "boss@pve", "m1@pve", "", privs, "update"));
	assert_false(
	    access_check_userid_group(cfg, "boss@pve", "other@pve", NULL, privs, "update"));
	assert_false(access_check_userid_group(cfg, "boss@pve", "m1@pve", "else", privs, "update"));
	/* /access/groups covers everyone, missing users fail unless creating */
	assert_true(access_check_userid_group(cfg, "ga@pve", "other@pve", NULL, privs, NULL));
	assert_false(access_check_userid_group(cfg, "ga@pve", "ghost@pve", NULL, privs, NULL));
	assert_true(access_check_userid_group(cfg, "ga@pve", "ghost@pve", NULL, privs, "create"));
	usercfg_free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_builtin_roles),
	    cmocka_unit_test(test_scenarios),
	    cmocka_unit_test(test_role_table),
	    cmocka_unit_test(test_userid_group),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
