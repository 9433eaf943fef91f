#!/bin/sh
# SPDX-License-Identifier: AGPL-3.0-or-later
#
# /init of the lab VM (busybox sh, PID 1).  Runs one backend's part of the
# tier, named on the kernel command line (ctvm.backend=lvm), and reports on
# the serial console with lines the host parses (labvm.sh):
#
#   LABVM-STEP <name> ok|FAIL         preparation and smoke checks
#   LABVM-BEGIN <backend>             the contract suite's output follows
#   LABVM-RESULT <backend> <rc>       its exit status (124: guest timeout)
#   LABVM-DONE                        then the VM powers off
#
# PID 1 must never exit (the kernel would panic), so everything runs in a
# subshell and poweroff -f follows whatever happens.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /run
mkdir -p /run/lock /run/lvm /dev/pts /dev/shm /var/tmp
ln -sf /proc/mounts /etc/mtab

arg() { tr ' ' '\n' </proc/cmdline | sed -n "s/^$1=//p" | head -n 1; }
backend=$(arg ctvm.backend)
suite_timeout=$(arg ctvm.timeout)
[ -n "$suite_timeout" ] || suite_timeout=900
uptime_s() { cut -d' ' -f1 /proc/uptime; }

step() { # step NAME CMD...: the command's output, then one marker line
	name=$1
	shift
	echo "LABVM\$ $*"
	if "$@" 2>&1; then
		echo "LABVM-STEP $name ok"
	else
		echo "LABVM-STEP $name FAIL (exit $?)"
		return 1
	fi
}

load_modules() {
	kver=$(uname -r)
	for ko in $(cat /etc/modules.load); do
		insmod "/lib/modules/$kver/$ko" || { echo "insmod $ko failed"; return 1; }
	done
}

wait_dev() { # wait_dev DEV: up to 10 s for a block device to appear
	i=0
	while [ ! -b "$1" ] && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ -b "$1" ] || { echo "no $1"; return 1; }
}

# Smoke checks on the third disk, so the suite gets blank ones.
smoke_lvm() {
	pvcreate -q -y /dev/vdc && vgcreate -q smokevg /dev/vdc &&
		lvcreate -q -y -L 64M -n thick smokevg &&
		lvcreate -q -y --type thin-pool -L 256M -n pool smokevg &&
		lvcreate -q -y -V 1G --thinpool smokevg/pool -n thin &&
		lvcreate -q -s -n snap smokevg/thin &&
		dd if=/dev/zero of=/dev/smokevg/thin bs=1M count=8 conv=fsync 2>/dev/null &&
		lvs --reportformat json --units b --nosuffix smokevg &&
		vgremove -q -y -f smokevg && pvremove -q -y /dev/vdc
}

smoke_zfs() {
	zpool create -f -o ashift=12 -m none smokepool /dev/vdc1 &&
		zfs create -s -V 1G smokepool/vol && wait_dev /dev/zvol/smokepool/vol &&
		zfs snapshot smokepool/vol@s &&
		zfs list -Hp -t all -o name,used,avail && zpool destroy smokepool
}

run() {
	echo "LABVM: init started uptime=$(uptime_s)s kernel=$(uname -r) backend=$backend"
	step modules load_modules || return 1
	for d in /dev/vda /dev/vdb /dev/vdc /dev/vdd; do
		wait_dev $d || { echo "LABVM-STEP disks FAIL"; return 1; }
	done
	# the host's ext4 (the suite needs user xattrs, which tmpfs lacks here)
	step tmp mount -t ext4 /dev/vdd /tmp || return 1
	disk=/dev/vda
	disk2=/dev/vdb
	case $backend in
	lvm | lvmthin)
		step lvm-version lvm version || return 1
		step smoke-$backend smoke_lvm || return 1
		;;
	zfspool)
		# Without udev: zvol links come from zvol-links.sh, and zpool gets
		# partitions the host made (a whole disk would wait for udev).
		mkdir -p /run/zvol-links
		/sbin/labvm-zvol-links </dev/null >/dev/null 2>&1 &
		mkdir -p /etc/zfs
		for d in /dev/vda1 /dev/vdb1 /dev/vdc1; do
			wait_dev $d || { echo "LABVM-STEP disks FAIL"; return 1; }
		done
		disk=/dev/vda1
		disk2=/dev/vdb1
		step zfs-version zfs version || return 1
		step smoke-zfspool smoke_zfs || return 1
		;;
	disks | full | bench | ct)
		# the Disks API on real disks (disks-lab.c), full pools
		# (full-lab.c), the bench: /dev/vdc blank, vda and vdb with one
		# partition each for zfs (as above)
		mkdir -p /run/zvol-links /etc/zfs
		/sbin/labvm-zvol-links </dev/null >/dev/null 2>&1 &
		for d in /dev/vda1 /dev/vdb1; do
			wait_dev $d || { echo "LABVM-STEP disks FAIL"; return 1; }
		done
		step zfs-version zfs version || return 1
		step lvm-version lvm version || return 1
		;;
	esac
	suite=/ctvm/test-storage-contract
	[ "$backend" != disks ] || suite=/ctvm/test-disks-lab
	[ "$backend" != full ] || suite=/ctvm/test-full-lab
	if [ "$backend" = bench ] || [ "$backend" = ct ]; then
		# ctvmd listens on loopback and names its node by the host name
		ip link set lo up
		hostname lab
		suite=/ctvm/$backend
	fi
	if [ "$backend" = ct ]; then
		# liblxc: the unified cgroup hierarchy (no systemd to mount it)
		step cgroup2 mount -t cgroup2 cgroup2 /sys/fs/cgroup || return 1
		echo "+cpu +memory +pids" >/sys/fs/cgroup/cgroup.subtree_control
	fi
	echo "LABVM: suite starts uptime=$(uptime_s)s"
	echo "LABVM-BEGIN $backend"
	cd /tmp || return 1
	# CTVM_CONTRACT_REQUIRE: a fixture that cannot be set up here fails.
	CTVM_LAB_DISK=$disk CTVM_LAB_DISK2=$disk2 CTVM_CONTRACT_BACKEND=$backend CTVM_CONTRACT_REQUIRE=1 \
		CTVM_LAB_DISKS="/dev/vdc /dev/vda1 /dev/vdb1" CTVM_BENCH_COUNT=$(arg ctvm.count) LC_ALL=C TMPDIR=/tmp HOME=/root \
		timeout "$suite_timeout" $suite 2>&1
	rc=$?
	echo "LABVM-RESULT $backend $rc"
	echo "LABVM: suite done uptime=$(uptime_s)s"
	# the console shows only emergencies (loglevel=1): the kernel's view here
	echo "LABVM-DMESG"
	dmesg | tail -n 40
}

(run) </dev/null
echo "LABVM-DONE uptime=$(uptime_s)s"
sync
poweroff -f
sleep 30
