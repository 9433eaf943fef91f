/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include "common.h"

#define LOG_CATEGORY "netdev"

#include <fcntl.h>
#include <limits.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "cmd.h"
#include "error.h"
#include "fileio.h"
#include "log.h"
#include "netdev.h"
#include "xalloc.h"

int netdev_tap_name(char buf[NETDEV_TAP_NAME_MAX], long vmid, unsigned index)
{
	int n = snprintf(buf, NETDEV_TAP_NAME_MAX, "tap%ldi%u", vmid, index);
	return n < 0 || n >= NETDEV_TAP_NAME_MAX ? -ENAMETOOLONG : 0;
}

static bool ifname_ok(const char *name)
{
	size_t n = strlen(name);
	return n > 0 && n < IFNAMSIZ && !strchr(name, '/') && !streq(name, ".") &&
	       !streq(name, "..");
}

bool netdev_exists(const char *ifname)
{
	if (!ifname_ok(ifname))
		return false;
	_cleanup_free_ char *p = xasprintf("/sys/class/net/%s", ifname);
	return access(p, F_OK) == 0;
}

static int read_sys_uint(const char *ifname, const char *attr, unsigned *ret)
{
	_cleanup_free_ char *p = xasprintf("/sys/class/net/%s/%s", ifname, attr);
	_cleanup_free_ char *s = NULL;
	int r = read_file(p, 64, &s, NULL, NULL);
	if (r < 0)
		return r;
	char *end;
	unsigned long v = strtoul(s, &end, 10);
	if (end == s || v > UINT32_MAX)
		return -EINVAL;
	*ret = (unsigned)v;
	return 0;
}

int netdev_bridge_info(const char *bridge, unsigned *ret_mtu, bool *ret_vlan_aware,
                       struct error **err)
{
	if (!ifname_ok(bridge))
		return error_set(err, -EINVAL, 400, "invalid bridge name '%s'", bridge);
	_cleanup_free_ char *p = xasprintf("/sys/class/net/%s/bridge", bridge);
	if (access(p, F_OK) < 0)
		return error_set(err, -ENOENT, 400, "bridge '%s' does not exist", bridge);
	unsigned mtu = 1500, vf = 0;
	read_sys_uint(bridge, "mtu", &mtu);
	read_sys_uint(bridge, "bridge/vlan_filtering", &vf);
	if (ret_mtu)
		*ret_mtu = mtu;
	if (ret_vlan_aware)
		*ret_vlan_aware = vf != 0;
	return 0;
}

/* Attaches to (or creates) tap name; returns the tun fd. */
static int tun_attach(const char *name, struct error **err)
{
	_cleanup_close_ int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return error_set(err, -errno, 500, "unable to open /dev/net/tun - %m");
	struct ifreq ifr = {0};
	/* QEMU's flags (net/tap-linux.c), so it can attach to the same device */
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0)
		return error_set(err, -errno, 500, "unable to create tap device '%s' - %m", name);
	return TAKE_FD(fd);
}

int netdev_tap_delete(const char *name, struct error **err)
{
	if (!ifname_ok(name))
		return error_set(err, -EINVAL, 400, "invalid interface name '%s'", name);
	if (!netdev_exists(name))
		return 0;
	_cleanup_error_ struct error *e = NULL;
	_cleanup_close_ int fd = tun_attach(name, &e);
	if (fd < 0) {
		/* EBUSY: a QEMU still holds it; it goes when that QEMU exits
		 * only if it is not persistent, so report it */
		error_propagate(err, TAKE_PTR(e));
		return fd;
	}
	if (ioctl(fd, TUNSETPERSIST, 0) < 0)
		return error_set(err, -errno, 500, "unable to delete tap device '%s' - %m", name);
	return 0; /* gone when fd closes */
}

int netdev_tap_create(const char *name, struct error **err)
{
	if (!ifname_ok(name))
		return error_set(err, -EINVAL, 400, "invalid interface name '%s'", name);
	/* a tap left by a QEMU that died unseen: start from a clean device */
	if (netdev_exists(name)) {
		int r = netdev_tap_delete(name, err);
		if (r < 0)
			return r;
	}
	_cleanup_close_ int fd = tun_attach(name, err);
	if (fd < 0)
		return fd;
	if (ioctl(fd, TUNSETPERSIST, 1) < 0)
		return error_set(err, -errno, 500, "unable to create tap device '%s' - %m", name);
	return 0;
}

static int ifreq_ioctl(unsigned long req, struct ifreq *ifr, const char *what, const char *name,
                       struct error **err)
{
	_cleanup_close_ int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return error_set(err, -errno, 500, "socket: %m");
	if (ioctl(s, req, ifr) < 0)
		return error_set(err, -errno, 500, "unable to %s '%s' - %m", what, name);
	return 0;
}

static int run_bridge_cmd(const char *tap, const char *verb, unsigned vid, bool pvid,
                          struct error **err)
{
	struct cmd c;
	cmd_init(&c, "bridge");
	cmd_add(&c, "vlan");
	cmd_add(&c, verb);
	cmd_add(&c, "dev");
	cmd_add(&c, tap);
	cmd_add(&c, "vid");
	cmd_addf(&c, "%u", vid);
	if (pvid) {
		cmd_add(&c, "pvid");
		cmd_add(&c, "untagged");
	}
	cmd_set_timeout(&c, 10000);
	int r = cmd_run(&c, NULL, err);
	cmd_release(&c);
	return r;
}

int netdev_tap_plug(const char *tap, const char *bridge, unsigned mtu, unsigned tag,
                    struct error **err)
{
	unsigned br_mtu;
	bool vlan_aware;
	int r = netdev_bridge_info(bridge, &br_mtu, &vlan_aware, err);
	if (r < 0)
		return r;
	if (tag > 4094)
		return error_set(err, -EINVAL, 400, "invalid VLAN tag %u", tag);
	if (tag && !vlan_aware)
		return error_set(err, -EINVAL, 400,
		                 "bridge '%s' is not VLAN aware - unable to use tag %u", bridge,
		                 tag);
	if (!mtu)
		mtu = br_mtu;
	if (mtu > br_mtu)
		return error_set(err, -EINVAL, 400,
		                 "MTU %u is bigger than the MTU %u of bridge '%s'", mtu, br_mtu,
		                 bridge);

	struct ifreq ifr = {0};
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", tap);
	ifr.ifr_mtu = (int)mtu;
	if ((r = ifreq_ioctl(SIOCSIFMTU, &ifr, "set the MTU of", tap, err)) < 0)
		return r;

	unsigned idx = 0;
	if (read_sys_uint(tap, "ifindex", &idx) < 0 || idx == 0)
		return error_set(err, -ENODEV, 500, "tap device '%s' vanished", tap);
	ifr = (struct ifreq){0};
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", bridge);
	ifr.ifr_ifindex = (int)idx;
	if ((r = ifreq_ioctl(SIOCBRADDIF, &ifr, "add the port to bridge", bridge, err)) < 0)
		return r;

	if (tag) {
		/* Proxmox's tap_plug on a VLAN-aware bridge: only the tag,
		 * untagged towards the guest */
		if ((r = run_bridge_cmd(tap, "del", 1, false, err)) < 0 ||
		    (r = run_bridge_cmd(tap, "add", tag, true, err)) < 0)
			return r;
	}

	ifr = (struct ifreq){0};
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", tap);
	if ((r = ifreq_ioctl(SIOCGIFFLAGS, &ifr, "read the flags of", tap, err)) < 0)
		return r;
	ifr.ifr_flags |= IFF_UP;
	return ifreq_ioctl(SIOCSIFFLAGS, &ifr, "bring up", tap, err);
}

int netdev_tap_unplug(const char *tap, struct error **err)
{
	if (!ifname_ok(tap))
		return error_set(err, -EINVAL, 400, "invalid interface name '%s'", tap);
	_cleanup_free_ char *link = xasprintf("/sys/class/net/%s/master", tap);
	char target[PATH_MAX];
	ssize_t n = readlink(link, target, sizeof(target) - 1);
	if (n < 0)
		return errno == ENOENT
		           ? 0
		           : error_set(err, -errno, 500, "unable to read %s - %m", link);
	target[n] = 0;
	const char *bridge = strrchr(target, '/') ? strrchr(target, '/') + 1 : target;
	if (!ifname_ok(bridge))
		return error_set(err, -EINVAL, 500, "invalid bridge of '%s'", tap);
	char br[IFNAMSIZ] = {0};
	memcpy(br, bridge, strlen(bridge)); /* ifname_ok: shorter than IFNAMSIZ */
	unsigned idx = 0;
	if (read_sys_uint(tap, "ifindex", &idx) < 0 || idx == 0)
		return error_set(err, -ENODEV, 500, "tap device '%s' vanished", tap);
	struct ifreq ifr = {0};
	memcpy(ifr.ifr_name, br, sizeof(br));
	ifr.ifr_ifindex = (int)idx;
	return ifreq_ioctl(SIOCBRDELIF, &ifr, "remove the port from bridge", br, err);
}

static int run_tc(const char *const *args, struct error **err)
{
	struct cmd c;
	cmd_init(&c, "tc");
	for (size_t i = 0; args[i]; i++)
		cmd_add(&c, args[i]);
	cmd_set_timeout(&c, 10000);
	int r = cmd_run(&c, NULL, err);
	cmd_release(&c);
	return r;
}

int netdev_tap_rate_clear(const char *tap, struct error **err)
{
	if (!ifname_ok(tap))
		return error_set(err, -EINVAL, 400, "invalid interface name '%s'", tap);
	const char *root[] = {"qdisc", "del", "dev", tap, "root", NULL};
	const char *ingress[] = {"qdisc", "del", "dev", tap, "ingress", NULL};
	/* tc fails for a qdisc that is not there: that is the state wanted */
	_cleanup_error_ struct error *e = NULL;
	run_tc(root, &e);
	error_free(TAKE_PTR(e));
	run_tc(ingress, &e);
	return 0;
}

int netdev_tap_rate_limit(const char *tap, double rate_mbps, bool *ret_ingress_ok,
                          struct error **err)
{
	if (!ifname_ok(tap))
		return error_set(err, -EINVAL, 400, "invalid interface name '%s'", tap);
	if (!(rate_mbps > 0) || rate_mbps > 1e6)
		return error_set(err, -EINVAL, 400, "invalid rate %g", rate_mbps);
	char rate[64], burst[] = "1048576b";
	snprintf(rate, sizeof(rate), "%llubps", (unsigned long long)(rate_mbps * 1024 * 1024));

	const char *root[] = {"qdisc", "add", "dev",     tap, "root", "handle",
	                      "1:",    "htb", "default", "1", NULL};
	const char *cls[] = {"class", "add", "dev",  tap,  "parent", "1:",  "classid",
	                     "1:1",   "htb", "rate", rate, "burst",  burst, NULL};
	int r = run_tc(root, err);
	if (r >= 0)
		r = run_tc(cls, err);
	if (r < 0)
		return r;

	const char *ingress[] = {"qdisc", "add", "dev", tap, "handle", "ffff:", "ingress", NULL};
	const char *police[] = {
	    "filter", "add",    "dev",    tap,  "parent", "ffff:",  "prio", "50",
	    "basic",  "police", "avrate", rate, "drop",   "flowid", ":1",   NULL};
	_cleanup_error_ struct error *e = NULL;
	bool ok = run_tc(ingress, &e) >= 0 && run_tc(police, &e) >= 0;
	if (!ok)
		log_debug("rate limit of '%s' towards the host: %s", tap, e ? e->msg : "?");
	if (ret_ingress_ok)
		*ret_ingress_ok = ok;
	return 0;
}
