#!/bin/bash
# SPDX-License-Identifier: AGPL-3.0-or-later
#
# The lab VM tier (docs/dev/TESTING.md, "Lab VM"): boots Debian's kernel
# under QEMU TCG from an initramfs holding busybox, lvm2,
# thin-provisioning-tools, zfsutils, the modules they need and the storage
# contract suite, with blank raw files as virtio disks, and runs the suite for
# one backend.  The guest reports through the serial console (init.sh); this
# script turns that into an exit status: 0 passed, 77 skipped, 1 failed, and
# prints the suite's output.  Every wait is bounded and the VM is always
# killed at the end.
#
# Usage: labvm.sh [--build DIR] [--log FILE] BACKEND
#   BACKEND   dir, lvm, lvmthin or zfspool; or disks: the Disks API's
#             operations on blank disks (disks-lab.c) instead of the suite;
#             or full: full lvmthin and zfs pools (full-lab.c); or bench:
#             bench/storage-api-guest with ctvmd (bench/storage-api-lab); or
#             ct: containers on lvmthin and zfspool through ctvmd's API
#             (ct-guest.py), started with liblxc
#   --build   meson build dir holding tests/unit/test-storage-contract
#             (default: build)
#   --log     where to keep the serial log (default: DIR/meson-logs/labvm-BACKEND.serial.log)
# Environment:
#   CTVM_LABVM_CACHE    cache of downloads and builds (default /var/cache/ctvm-test/labvm)
#   CTVM_LABVM_TIMEOUT  seconds the VM may run, boot to poweroff (default 1500)
#   CTVM_LABVM_MEM      guest memory in MiB (default 2048)
#   CTVM_LABVM_SMP      guest CPUs (default 2)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=build
log=
while [ $# -gt 1 ]; do
	case $1 in
	--build) build=$2; shift 2 ;;
	--log) log=$2; shift 2 ;;
	*) break ;;
	esac
done
[ $# -eq 1 ] || { echo "usage: $0 [--build DIR] [--log FILE] dir|lvm|lvmthin|zfspool|disks|full|bench|ct" >&2; exit 2; }
backend=$1
case $backend in
dir | lvm | lvmthin | zfspool | disks | full | bench | ct) ;;
*) echo "labvm: unknown backend '$backend'" >&2; exit 2 ;;
esac
zfs=
case $backend in zfspool | disks | full | bench | ct) zfs=1 ;; esac
build=$(cd "$build" && pwd)
[ -n "$log" ] || log=$build/meson-logs/labvm-$backend.serial.log
LABVM_CACHE=${CTVM_LABVM_CACHE:-/var/cache/ctvm-test/labvm}
vm_timeout=${CTVM_LABVM_TIMEOUT:-1500}
contract=$build/tests/unit/test-storage-contract

. "$here/labvm-cache.sh"

t_start=$SECONDS
# fail STEP MESSAGE: one clear line naming the step, then exit 1.
fail() {
	echo "labvm-$backend: FAILED at step '$1': $2"
	exit 1
}
skip() {
	echo "labvm-$backend: SKIP: $*"
	exit 77
}
# timed STEP CMD...: runs a preparation step, prints its duration.
timed() {
	local name=$1 t0=$SECONDS
	shift
	"$@" || fail "$name" "see the lines above"
	printf 'labvm: [time] %-28s %4ds\n' "$name" $((SECONDS - t0)) >&2
}

api=
case $backend in bench | ct) api=1 ;; esac
if [ -n "$api" ]; then
	[ -x "$build/src/daemon/ctvmd" ] || fail build "no $build/src/daemon/ctvmd (build first)"
else
	[ -x "$contract" ] || fail build "no $contract (build first)"
fi
for p in qemu-system-x86_64 cpio dpkg-deb modprobe depmod sfdisk flock timeout; do
	command -v $p >/dev/null || fail setup "no $p on this host (tools/setup-deps installs it)"
done
if [ "$(id -u)" != 0 ] && [ ! -w "$LABVM_CACHE" ]; then
	skip "needs root (apt-get download, dkms) or a writable cache $LABVM_CACHE"
fi
mkdir -p "$LABVM_CACHE" "$(dirname "$log")"

work=$(mktemp -d /var/tmp/ctvm-labvm.XXXXXX)
qemu_pid=
cleanup() {
	labvm_contrib_off # only if a zfs build was cut short
	if [ -n "$qemu_pid" ] && kill -0 "$qemu_pid" 2>/dev/null; then
		kill -KILL "$qemu_pid" 2>/dev/null || true
		wait "$qemu_pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# Downloads and builds: one run at a time per cache (meson may start the
# backends in parallel; another checkout may share the cache).
exec 9>"$LABVM_CACHE/.lock"
timeout 3000 flock 9 || fail cache-lock "$LABVM_CACHE/.lock held for 50 minutes"
# ct: the busybox template (cached outside the clone, built once per machine)
if [ "$backend" = ct ]; then
	tdir=$("$here/../fixtures/ct-template/build-ct-template.sh") || fail template "build-ct-template.sh"
	[ -f "$tdir/debian-12-busybox_12.0-1_amd64.tar.gz" ] || fail template "no template in $tdir"
fi
timed kernel labvm_kernel
timed userland labvm_userland
[ -z "$zfs" ] || timed zfs-modules labvm_zfs
flock -u 9

# --- the initramfs ---------------------------------------------------------
stage=$work/stage
libdirs=$UROOT/lib/x86_64-linux-gnu:$UROOT/usr/lib/x86_64-linux-gnu
[ -z "$zfs" ] || libdirs+=:$ZDIR/root/lib/x86_64-linux-gnu:$ZDIR/root/usr/lib/x86_64-linux-gnu

# ir_tree ROOT: merges an unpacked package tree into the stage (whose /bin,
# /sbin and /lib are links into /usr, as on the host).
ir_tree() {
	tar -C "$1" --exclude=./usr/share/doc --exclude=./usr/share/man --exclude=./usr/share/locale \
		--exclude=./etc/init.d --exclude=./lib/systemd --exclude=./usr/lib/systemd -cf - . |
		tar -C "$stage" --keep-directory-symlink -xf -
}

# ir_libs FILE...: the shared libraries FILE needs that the stage lacks, from
# the host.
ir_libs() {
	local f l
	for f in "$@"; do
		file_is_elf "$f" || continue
		while read -r l; do
			case $l in
			"not found "*) echo "labvm: $f: library ${l#not found } not found" >&2; return 1 ;;
			esac
			[ -e "$stage$l" ] || { mkdir -p "$stage$(dirname "$l")" && cp -L "$l" "$stage$l"; } || return 1
		done < <(LD_LIBRARY_PATH=$libdirs ldd "$f" 2>/dev/null |
			awk '$3=="not" {print "not found " $1; next}
			     $2=="=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}' |
			while read -r x; do
				case $x in
				"not found "*) echo "$x" ;;
				"$UROOT"/*) echo "${x#"$UROOT"}" ;;
				"${ZDIR:-/nonexistent}/root"/*) echo "${x#"$ZDIR"/root}" ;;
				*) echo "$x" ;;
				esac
			done)
	done
}
file_is_elf() { [ -f "$1" ] && [ "$(head -c 4 "$1" | tr -d '\0')" = "$(printf '\177ELF')" ]; }

# ir_host FILE...: host files at the same path, with their libraries.
ir_host() {
	local f
	for f in "$@"; do
		[ -e "$f" ] || { echo "labvm: no $f on the host" >&2; return 1; }
		mkdir -p "$stage$(dirname "$f")" && cp -L "$f" "$stage$f" && ir_libs "$f" || return 1
	done
}

# ir_modules MODROOT MOD...: modules and their dependencies, in load order.
ir_modules() {
	local root=$1 m ko rel
	shift
	for m in "$@"; do
		for ko in $(modprobe -d "$root" -S "$KVER" --show-depends "$m" | awk '/^insmod/{print $2}'); do
			rel=${ko#"$root"/lib/modules/"$KVER"/}
			grep -qxF "$rel" "$stage/etc/modules.load" && continue
			mkdir -p "$stage/usr/lib/modules/$KVER/$(dirname "$rel")"
			cp "$ko" "$stage/usr/lib/modules/$KVER/$rel" || return 1
			echo "$rel" >>"$stage/etc/modules.load"
		done
		[ -n "$(modprobe -d "$root" -S "$KVER" --show-depends "$m")" ] ||
			{ echo "labvm: module $m not found for $KVER" >&2; return 1; }
	done
}

build_initramfs() {
	mkdir -p "$stage"/usr/{bin,sbin,lib,lib64} "$stage"/{etc,proc,sys,dev,run,tmp,root,ctvm}
	ln -s usr/bin "$stage/bin"
	ln -s usr/sbin "$stage/sbin"
	ln -s usr/lib "$stage/lib"
	ln -s usr/lib64 "$stage/lib64"
	: >"$stage/etc/modules.load"
	ir_tree "$UROOT"
	if [ -n "$zfs" ]; then
		ir_tree "$ZDIR/root"
		ir_libs "$stage"/usr/sbin/{zfs,zpool,mount.zfs} "$stage"/usr/lib/udev/zvol_id || return 1
		install -m 0755 "$here/zvol-links.sh" "$stage/usr/sbin/labvm-zvol-links"
	fi
	ir_libs "$stage"/usr/sbin/{lvm,dmsetup,pdata_tools} || return 1
	# disks: what the Disks API runs besides lvm2 and zfs (before the
	# busybox links, which cp would write through)
	if [ "$backend" = disks ]; then
		ir_host /usr/bin/lsblk /usr/sbin/blkid /usr/sbin/mke2fs /usr/sbin/wipefs || return 1
		ln -s mke2fs "$stage/usr/sbin/mkfs.ext4"
		cp "$build/tests/labvm/test-disks-lab" "$stage/ctvm/" || return 1
		ir_libs "$stage/ctvm/test-disks-lab" || return 1
	fi
	if [ "$backend" = full ]; then
		ir_host /usr/sbin/wipefs || return 1
		cp "$build/tests/labvm/test-full-lab" "$stage/ctvm/" || return 1
		ir_libs "$stage/ctvm/test-full-lab" || return 1
	fi
	# ct: what container create/resize/start run besides lvm2 and zfs,
	# and liblxc's runtime files (before the busybox links, as above)
	if [ "$backend" = ct ]; then
		ir_host /usr/bin/tar /usr/bin/gzip /usr/sbin/mke2fs /usr/sbin/e2fsck /usr/sbin/resize2fs \
			/usr/bin/nsenter /usr/bin/ssh-keygen /usr/bin/lxc-usernsexec /usr/sbin/blkid || return 1
		ln -s mke2fs "$stage/usr/sbin/mkfs.ext4"
		local d
		for d in /usr/share/lxc /usr/libexec/lxc /usr/lib/x86_64-linux-gnu/lxc; do
			[ -d "$d" ] || { echo "labvm: no $d on the host (install lxc)" >&2; return 1; }
			mkdir -p "$stage$d" && cp -a "$d/." "$stage$d/" || return 1
		done
		ir_host /usr/sbin/init.lxc.static || return 1
		cp "$tdir/debian-12-busybox_12.0-1_amd64.tar.gz" "$stage/ctvm/" || return 1
		install -m 0755 "$here/ct-guest.py" "$stage/ctvm/ct" || return 1
		# lxc-usernsexec maps the default idmap (100000:65536) from these
		printf 'root:100000:65536\n' >"$stage/etc/subuid"
		printf 'root:100000:65536\n' >"$stage/etc/subgid"
	fi
	# busybox applets where no real program is
	local a
	for a in $("$stage/bin/busybox" --list-full); do
		[ -e "$stage/$a" ] || [ -L "$stage/$a" ] || ln -s /bin/busybox "$stage/$a"
	done
	# No udev and no dmeventd in here (host-facts.md, "Pitfalls seen").
	cat >"$stage/etc/lvm/lvm.conf" <<-C
		devices { obtain_device_list_from_udev = 0 }
		activation { udev_sync = 0 udev_rules = 0 monitoring = 0 }
		global { use_lvmpolld = 0 event_activation = 0 }
	C
	# what the contract suite runs besides the backend's own tools
	ir_host /usr/bin/qemu-img /usr/bin/qemu-io /usr/bin/setfacl /usr/bin/getfacl /usr/bin/rsync || return 1
	if [ -n "$api" ]; then
		# ctvmd, python3's standard library (no tests, no static
		# libpython) and the bench's guest half
		cp "$build/src/daemon/ctvmd" "$stage/ctvm/ctvmd" && ir_libs "$stage/ctvm/ctvmd" || return 1
		local py
		py=$(/usr/bin/python3 -c 'import sys; print("python%d.%d" % sys.version_info[:2])') &&
			ir_host /usr/bin/python3 || return 1
		tar -C / --exclude="./usr/lib/$py/test" --exclude="./usr/lib/$py/config-*" \
			--exclude="./usr/lib/$py/idlelib" --exclude="./usr/lib/$py/tkinter" \
			--exclude="./usr/lib/$py/lib2to3" --exclude="./usr/lib/$py/pydoc_data" \
			--exclude="./usr/lib/$py/ensurepip" -cf - "./usr/lib/$py" |
			tar -C "$stage" --keep-directory-symlink -xf - || return 1
		ir_libs "$stage/usr/lib/$py"/lib-dynload/*.so || return 1
		[ "$backend" != bench ] ||
			install -m 0755 "$here/../../bench/storage-api-guest" "$stage/ctvm/bench" || return 1
		printf 'root:x:0:0:root:/root:/bin/sh\n' >"$stage/etc/passwd"
		printf 'root:x:0:\n' >"$stage/etc/group"
	else
		cp "$contract" "$stage/ctvm/test-storage-contract" && ir_libs "$contract" || return 1
	fi
	ir_modules "$KROOT" virtio_pci virtio_blk loop ext4 dm-mod dm-bufio dm-snapshot dm-thin-pool || return 1
	[ -z "$zfs" ] || ir_modules "$ZMODROOT" zfs || return 1
	install -m 0755 "$here/init.sh" "$stage/init"
	(cd "$stage" && find . -print0 | cpio --null -o -H newc --quiet | gzip -1 >"$work/initrd.gz")
}
timed initramfs build_initramfs

# --- the disks: sparse raw files, blank (partitioned for zfs) -------------
for d in a b c; do
	truncate -s 4G "$work/disk-$d.raw"
	if [ "$backend" = zfspool ] || { [ "$backend" != dir ] && [ "$backend" != lvm ] &&
		[ "$backend" != lvmthin ] && [ $d != c ]; }; then
		# One GPT partition of type "Solaris /usr & Apple ZFS", as zpool makes.
		printf 'label: gpt\nstart=2048, type=6A898CC3-1DD2-11B2-99A6-080020000001\n' |
			sfdisk -q "$work/disk-$d.raw" || fail disks "sfdisk"
	fi
done

# /tmp of the guest: ext4, since the suite needs user xattrs (tmpfs has
# them only from Linux 6.6).
truncate -s 8G "$work/disk-tmp.raw"
mkfs.ext4 -q -F -E nodiscard "$work/disk-tmp.raw" || fail disks "mkfs.ext4"

# --- boot, bounded ---------------------------------------------------------
# A TCG guest very rarely hangs before its /init prints a line (seen once:
# 14 minutes at full CPU with an empty serial log, while the same initramfs
# booted in 7 s when started again).  Without the line within boot_limit
# seconds that boot is killed and the VM started once more: the disks are
# untouched until /init runs.
serial=$work/serial.log
boot_limit=${CTVM_LABVM_BOOT_LIMIT:-300}
for attempt in 1 2; do
	: >"$serial"
	t_boot=$SECONDS
	qemu-system-x86_64 -name "labvm-$backend" -machine q35,accel=tcg -cpu max \
		-smp "${CTVM_LABVM_SMP:-2}" -m "${CTVM_LABVM_MEM:-2048}" \
		-nodefaults -display none -no-reboot -serial "file:$serial" \
		-kernel "$VMLINUZ" -initrd "$work/initrd.gz" \
		-append "console=ttyS0 panic=-1 loglevel=1 ctvm.backend=$backend ctvm.timeout=$((vm_timeout - 120)) ctvm.count=${CTVM_BENCH_COUNT:-10}" \
		-drive "file=$work/disk-a.raw,format=raw,if=virtio,cache=unsafe" \
		-drive "file=$work/disk-b.raw,format=raw,if=virtio,cache=unsafe" \
		-drive "file=$work/disk-c.raw,format=raw,if=virtio,cache=unsafe" \
		-drive "file=$work/disk-tmp.raw,format=raw,if=virtio,cache=unsafe" \
		</dev/null >"$work/qemu.out" 2>&1 &
	qemu_pid=$!
	timed_out=
	boot_hung=
	while kill -0 "$qemu_pid" 2>/dev/null; do
		if [ $((SECONDS - t_boot)) -ge "$vm_timeout" ]; then
			timed_out=1
			kill -KILL "$qemu_pid" 2>/dev/null || true
			break
		fi
		if [ $((SECONDS - t_boot)) -ge "$boot_limit" ] &&
			! grep -aq '^LABVM: init started' "$serial"; then
			boot_hung=1
			kill -KILL "$qemu_pid" 2>/dev/null || true
			break
		fi
		sleep 1
	done
	wait "$qemu_pid" 2>/dev/null || true
	qemu_pid=
	if [ -z "$boot_hung" ] || [ "$attempt" = 2 ]; then
		break
	fi
	echo "labvm-$backend: no line from the guest's /init after ${boot_limit}s: a hung boot, starting the VM again"
done
t_vm=$((SECONDS - t_boot))
tr -d '\r' <"$serial" >"$log" || true
cp "$log" "$serial"

# --- the verdict -----------------------------------------------------------
echo "labvm-$backend: VM ran ${t_vm}s (whole test $((SECONDS - t_start))s); serial log: $log"
grep -a '^LABVM' "$serial" | grep -av '^LABVM-RESULT\|^LABVM-BEGIN' || true
echo "---- contract suite ($backend) ----"
sed -n "/^LABVM-BEGIN $backend\$/,/^LABVM-RESULT /{/^LABVM-/d;p}" "$serial"
echo "----"
[ -s "$work/qemu.out" ] && sed 's/^/qemu: /' "$work/qemu.out"

result=$(sed -n "s/^LABVM-RESULT $backend \([0-9]*\)\$/\1/p" "$serial" | tail -n 1)
if [ -z "$result" ]; then
	failed=$(sed -n 's/^LABVM-STEP \([^ ]*\) FAIL.*/\1/p' "$serial" | head -n 1)
	if [ -n "$failed" ]; then
		echo "---- the guest's steps ----"
		sed -n '/^LABVM: init started/,/^LABVM-DONE/p' "$serial"
		fail "guest: $failed" "see the guest's steps above"
	fi
	echo "---- last lines of the serial log ----"
	tail -n 40 "$serial"
	[ -z "$boot_hung" ] || fail boot "no line from the guest's /init after ${boot_limit}s, twice"
	[ -z "$timed_out" ] || fail boot "VM killed after ${vm_timeout}s (CTVM_LABVM_TIMEOUT)"
	fail boot "the VM stopped without reporting a result"
fi
case $result in
0)
	# A suite that has no fixture for this backend passes without running it.
	if [ -n "$api" ]; then
		echo "labvm-$backend: passed"
		exit 0
	fi
	case $backend in
	disks | full) grep -aq '^\[  PASSED  \]' "$serial" || fail suite "no cmocka PASSED line" ;;
	esac
	if [ "$backend" != dir ] && [ "$backend" != full ] && ! grep -aqE "^\[ +(RUN|OK|SKIP) +\] $backend\$" "$serial"; then
		skip "the contract suite has no '$backend' fixture"
	fi
	if grep -aqE "^\[  SKIPPED \] $backend\$|^\[  SKIP    \] contract on $backend:" "$serial"; then
		fail suite "the $backend contract sequence skipped inside the lab VM"
	fi
	echo "labvm-$backend: passed"
	exit 0
	;;
2)
	if grep -aq "no fixture for backend '$backend'" "$serial"; then
		skip "the contract suite has no '$backend' fixture"
	fi
	fail suite "the contract suite exited 2"
	;;
124) fail suite "the contract suite timed out in the guest" ;;
*)
	if grep -aq "CTVM_CONTRACT_REQUIRE is set and $backend is not available" "$serial"; then
		fail suite "the $backend fixture could not be set up in the guest (no $backend backend in this build, or its tools, disk or modules missing: see above)"
	fi
	fail suite "the contract suite exited $result"
	;;
esac
