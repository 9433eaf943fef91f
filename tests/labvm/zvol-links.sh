#!/bin/sh
# SPDX-License-Identifier: AGPL-3.0-or-later
#
# The lab VM's stand-in for udev's zvol rule: keeps /dev/zvol/<pool>/<name>
# and <name>-part<N> pointing at /dev/zdN[pM], as the zfspool backend expects
# on a real host.  Debian's kernel has no uevent helper, so this polls
# /sys/class/block every 0.2 s (started in the background by /init).
while :; do
	for s in /sys/class/block/zd*; do
		[ -e "$s" ] || continue
		dev=${s##*/}
		if [ -e "$s/partition" ]; then
			parent=$(basename "$(dirname "$(readlink -f "$s")")")
			name=$(/lib/udev/zvol_id "/dev/$parent" 2>/dev/null) || continue
			name=$name-part$(cat "$s/partition")
		else
			name=$(/lib/udev/zvol_id "/dev/$dev" 2>/dev/null) || continue
		fi
		[ -n "$name" ] || continue
		echo "$name" >"/run/zvol-links/$dev.new"
		[ "$(readlink "/dev/zvol/$name")" = "/dev/$dev" ] && continue
		mkdir -p "/dev/zvol/${name%/*}"
		ln -sfn "/dev/$dev" "/dev/zvol/$name"
	done
	# links to a device that is gone or now has another name (zfs rename)
	for l in $(find /dev/zvol -type l 2>/dev/null); do
		t=$(readlink "$l")
		n=$(cat "/run/zvol-links/${t#/dev/}.new" 2>/dev/null)
		[ "/dev/zvol/$n" = "$l" ] || rm -f "$l"
	done
	rm -f /run/zvol-links/*.new
	sleep 0.2
done
