#!/bin/sh
# SPDX-License-Identifier: AGPL-3.0-or-later
#
# The lab VM's stand-in for udev's zvol rule (/proc/sys/kernel/hotplug):
# /dev/zvol/<pool>/<name>[-partN] -> /dev/zdN[pM], as the zfspool backend
# expects on a real host.
case $SUBSYSTEM:$DEVNAME in
block:zd*) ;;
*) exit 0 ;;
esac
case $ACTION in
add | change)
	name=$(/lib/udev/zvol_id "/dev/$DEVNAME" 2>/dev/null) || exit 0
	[ -n "$name" ] || exit 0
	[ "$DEVTYPE" = partition ] && name=$name-part$PARTN
	mkdir -p "/dev/zvol/${name%/*}"
	ln -sfn "/dev/$DEVNAME" "/dev/zvol/$name"
	;;
remove)
	for l in $(find /dev/zvol -type l 2>/dev/null); do
		[ "$(readlink "$l")" = "/dev/$DEVNAME" ] && rm -f "$l"
	done
	;;
esac
exit 0
