/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include "common.h"

#include <pthread.h>

#include "privileges.h"
#include "strbuf.h"
#include "xalloc.h"

/* Bytewise sorted: the index order is the output order. */
static const char *const priv_names[PRIV_COUNT] = {
    "Datastore.Allocate",
    "Datastore.AllocateSpace",
    "Datastore.AllocateTemplate",
    "Datastore.Audit",
    "Group.Allocate",
    "Mapping.Audit",
    "Mapping.Modify",
    "Mapping.Use",
    "Permissions.Modify",
    "Pool.Allocate",
    "Pool.Audit",
    "Realm.Allocate",
    "Realm.AllocateUser",
    "SDN.Allocate",
    "SDN.Audit",
    "SDN.Use",
    "Sys.AccessNetwork",
    "Sys.Audit",
    "Sys.Console",
    "Sys.Incoming",
    "Sys.Modify",
    "Sys.PowerMgmt",
    "Sys.Syslog",
    "User.Modify",
    "VM.Allocate",
    "VM.Audit",
    "VM.Backup",
    "VM.Clone",
    "VM.Config.CDROM",
    "VM.Config.CPU",
    "VM.Config.Cloudinit",
    "VM.Config.Disk",
    "VM.Config.HWType",
    "VM.Config.Memory",
    "VM.Config.Network",
    "VM.Config.Options",
    "VM.Console",
    "VM.GuestAgent.Audit",
    "VM.GuestAgent.FileRead",
    "VM.GuestAgent.FileSystemMgmt",
    "VM.GuestAgent.FileWrite",
    "VM.GuestAgent.Unrestricted",
    "VM.Migrate",
    "VM.PowerMgmt",
    "VM.Replicate",
    "VM.Snapshot",
    "VM.Snapshot.Rollback",
};

/*
 * PVE's $privgroups: the built-in roles are generated from it.  "root" privs
 * are only in Administrator; "admin" ones in PVE<Cat>Admin and PVEAdmin;
 * "user" ones also in PVE<Cat>User (which exists only when the category has
 * user privs); "audit" ones also in PVEAuditor.
 */
struct privgroup {
	const char *cat;
	const char *const *root, *const *admin, *const *user, *const *audit;
};

#define L(...) ((const char *const[]){__VA_ARGS__, NULL})
static const char *const none[] = {NULL};

static const struct privgroup privgroups[] = {
    {"VM", none,
     L("VM.Config.Disk", "VM.Config.CPU", "VM.Config.Memory", "VM.Config.Network",
       "VM.Config.HWType", "VM.Config.Options", "VM.Allocate", "VM.Clone",
       "VM.GuestAgent.Unrestricted", "VM.Migrate", "VM.Replicate", "VM.Snapshot",
       "VM.Snapshot.Rollback"),
     L("VM.Config.CDROM", "VM.Config.Cloudinit", "VM.Console", "VM.Backup",
       "VM.GuestAgent.FileRead", "VM.GuestAgent.FileSystemMgmt", "VM.GuestAgent.FileWrite",
       "VM.PowerMgmt"),
     L("VM.Audit", "VM.GuestAgent.Audit")},
    {"Sys", L("Sys.PowerMgmt", "Sys.Modify", "Sys.Incoming", "Sys.AccessNetwork"),
     L("Sys.Console", "Sys.Syslog"), none, L("Sys.Audit")},
    {"Datastore", none, L("Datastore.Allocate", "Datastore.AllocateTemplate"),
     L("Datastore.AllocateSpace"), L("Datastore.Audit")},
    {"SDN", none, L("SDN.Allocate", "SDN.Audit"), L("SDN.Use"), L("SDN.Audit")},
    {"User", L("Realm.Allocate"), L("User.Modify", "Group.Allocate", "Realm.AllocateUser"), none,
     none},
    {"Pool", none, L("Pool.Allocate"), L("Pool.Audit"), L("Pool.Audit")},
    {"Mapping", none, L("Mapping.Modify"), L("Mapping.Use"), L("Mapping.Audit")},
};

#define MAX_SPECIAL 24
static struct special_role special_roles[MAX_SPECIAL];
static size_t n_special;
static pthread_once_t special_once = PTHREAD_ONCE_INIT;

const char *priv_name(int i)
{
	return i >= 0 && i < PRIV_COUNT ? priv_names[i] : NULL;
}

int priv_lookup(const char *name)
{
	int lo = 0, hi = PRIV_COUNT - 1;
	while (lo <= hi) {
		int mid = (lo + hi) / 2;
		int c = strcmp(name, priv_names[mid]);
		if (c == 0)
			return mid;
		if (c < 0)
			hi = mid - 1;
		else
			lo = mid + 1;
	}
	return -EINVAL;
}

bool priv_is_legacy(const char *name)
{
	return streq(name, "VM.Monitor");
}

static uint64_t bits_of(const char *const *list)
{
	uint64_t b = 0;
	for (; *list; list++) {
		int i = priv_lookup(*list);
		if (i < 0)
			abort(); /* table typo */
		b |= UINT64_C(1) << i;
	}
	return b;
}

static struct special_role *role_slot(const char *name)
{
	for (size_t i = 0; i < n_special; i++)
		if (streq(special_roles[i].name, name))
			return &special_roles[i];
	if (n_special == MAX_SPECIAL)
		abort();
	special_roles[n_special].name = xstrdup(name); /* lives for the process */
	return &special_roles[n_special++];
}

static int cmp_role(const void *a, const void *b)
{
	return strcmp(((const struct special_role *)a)->name,
	              ((const struct special_role *)b)->name);
}

static void build_special_roles(void)
{
	role_slot("Administrator")->privs = (UINT64_C(1) << PRIV_COUNT) - 1;
	role_slot("NoAccess")->privs = 0;
	for (size_t g = 0; g < ARRAY_SIZE(privgroups); g++) {
		const struct privgroup *pg = &privgroups[g];
		uint64_t admin = bits_of(pg->admin), user = bits_of(pg->user),
		         audit = bits_of(pg->audit);
		char name[64];
		snprintf(name, sizeof(name), "PVE%sAdmin", pg->cat);
		role_slot(name)->privs |= admin | user | audit;
		role_slot("PVEAdmin")->privs |= admin | user | audit;
		if (user) {
			snprintf(name, sizeof(name), "PVE%sUser", pg->cat);
			role_slot(name)->privs |= user | audit;
		}
		role_slot("PVEAuditor")->privs |= audit;
	}
	/* only Administrator, root@pam and PVEMappingAdmin get Mapping.Modify */
	role_slot("PVEAdmin")->privs &= ~(UINT64_C(1) << priv_lookup("Mapping.Modify"));
	role_slot("PVETemplateUser")->privs = bits_of(L("VM.Clone", "VM.Audit"));
	qsort(special_roles, n_special, sizeof(*special_roles), cmp_role);
}

size_t special_role_count(void)
{
	pthread_once(&special_once, build_special_roles);
	return n_special;
}

const struct special_role *special_role_get(size_t i)
{
	pthread_once(&special_once, build_special_roles);
	return i < n_special ? &special_roles[i] : NULL;
}

const struct special_role *special_role_find(const char *name)
{
	pthread_once(&special_once, build_special_roles);
	for (size_t i = 0; i < n_special; i++)
		if (streq(special_roles[i].name, name))
			return &special_roles[i];
	return NULL;
}

struct privset privset_intersect(struct privset a, struct privset b)
{
	struct privset r;
	r.set = a.set & b.set;
	r.propagate = a.propagate & b.propagate & r.set;
	return r;
}

struct privset privset_union(struct privset a, struct privset b)
{
	struct privset r;
	r.set = a.set | b.set;
	r.propagate = (a.propagate & a.set) | (b.propagate & b.set);
	return r;
}

char *privset_to_string(const struct privset *s)
{
	struct strbuf sb = STRBUF_INIT;
	for (int i = 0; i < PRIV_COUNT; i++) {
		if (!privset_has(s, i))
			continue;
		if (sb.len)
			strbuf_addch(&sb, ',');
		strbuf_addstr(&sb, priv_names[i]);
	}
	return strbuf_detach(&sb, NULL);
}
