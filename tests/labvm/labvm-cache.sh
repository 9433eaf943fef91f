# SPDX-License-Identifier: AGPL-3.0-or-later
#
# The lab VM's downloads and builds, kept in a cache outside the clone so a
# later run on the same machine skips them (docs/dev/TESTING.md, "Lab VM").
# Sourced by labvm.sh; every function returns non-zero with a message naming
# what failed, and every command that can wait on the network or on a build
# runs under timeout(1).
#
#   $LABVM_CACHE/<kver>/                 Debian's kernel, unpacked (never installed)
#   $LABVM_CACHE/userland/               busybox, lvm2, thin-provisioning-tools, unpacked
#   $LABVM_CACHE/zfs-<zfsver>-<kver>/    zfs.ko and friends built by zfs-dkms, zfsutils unpacked
#
# A directory is complete when its file .complete exists; it is written last.

# Packages unpacked into the initramfs.  Libraries that the host also has are
# taken from the host (ldd), so only what the host lacks needs to be here.
LABVM_USERLAND_PKGS=(busybox-static lvm2 dmsetup libdevmapper1.02.1 libdevmapper-event1.02.1
	libaio1 thin-provisioning-tools)
LABVM_ZFS_PKGS=(zfsutils-linux libzfs4linux libzpool5linux libnvpair3linux libuutil3linux)

say() { printf 'labvm: %s\n' "$*" >&2; }

# apt_retry SECONDS CMD...: runs an apt command, waiting (up to ~10 minutes)
# only while another apt/dpkg holds the lock; any other failure is final.
apt_retry() {
	local tmo=$1 tries=0 rc out
	shift
	out=$(mktemp)
	while :; do
		timeout "$tmo" env DEBIAN_FRONTEND=noninteractive "$@" >"$out" 2>&1
		rc=$?
		[ $rc -eq 0 ] && break
		if grep -q 'Could not get lock\|Unable to acquire the dpkg\|is held by process' "$out" &&
			[ $tries -lt 60 ]; then
			tries=$((tries + 1))
			sleep 10
			continue
		fi
		tail -n 40 "$out" >&2
		[ $rc -eq 124 ] && say "timed out after ${tmo}s: $*"
		break
	done
	rm -f "$out"
	return $rc
}

# Names the kernel package linux-image-amd64 points to, sets KPKG and KVER.
labvm_kernel_name() {
	local try
	for try in 1 2; do
		KPKG=$(apt-cache depends linux-image-amd64 2>/dev/null |
			awk '/Depends: linux-image-[0-9]/{print $2; exit}')
		[ -z "$KPKG" ] && [ $try = 1 ] && [ "$(id -u)" = 0 ] || break
		# a machine whose package lists were never fetched
		say "apt-cache knows no linux-image-amd64: apt-get update"
		apt_retry 600 apt-get update -q || return 1
	done
	[ -n "$KPKG" ] || { say "apt-cache knows no linux-image-amd64"; return 1; }
	KVER=${KPKG#linux-image-}
}

# Sets KROOT, VMLINUZ; downloads and unpacks the kernel unless cached.
labvm_kernel() {
	labvm_kernel_name || return 1
	local d=$LABVM_CACHE/$KVER
	KROOT=$d/root
	VMLINUZ=$KROOT/boot/vmlinuz-$KVER
	if [ -e "$d/.complete" ]; then
		say "kernel $KVER: cached ($d)"
		return 0
	fi
	say "kernel $KVER: downloading $KPKG"
	rm -rf "$d" && mkdir -p "$d/debs" || return 1
	(cd "$d/debs" && apt_retry 900 apt-get download -q "$KPKG") || return 1
	dpkg-deb -x "$d"/debs/"$KPKG"_*.deb "$KROOT" || return 1
	[ -f "$VMLINUZ" ] || { say "no $VMLINUZ in $KPKG"; return 1; }
	depmod -b "$KROOT" "$KVER" || return 1
	rm -rf "$d/debs"
	touch "$d/.complete"
}

# Sets UROOT: the userland packages unpacked into one tree.
labvm_userland() {
	local d=$LABVM_CACHE/userland
	UROOT=$d/root
	if [ -e "$d/.complete" ] && [ "$(cat "$d/.complete")" = "${LABVM_USERLAND_PKGS[*]}" ]; then
		say "userland: cached ($d)"
		return 0
	fi
	say "userland: downloading ${LABVM_USERLAND_PKGS[*]}"
	rm -rf "$d" && mkdir -p "$d/debs" || return 1
	(cd "$d/debs" && apt_retry 900 apt-get download -q "${LABVM_USERLAND_PKGS[@]}") || return 1
	local deb
	for deb in "$d"/debs/*.deb; do
		dpkg-deb -x "$deb" "$UROOT" || return 1
	done
	rm -rf "$d/debs"
	echo "${LABVM_USERLAND_PKGS[*]}" >"$d/.complete"
}

LABVM_CONTRIB_SRC=/etc/apt/sources.list.d/ctvm-labvm-contrib.sources

# Adds Debian's contrib component (zfs-dkms, zfsutils-linux) as an extra
# source of the same archive the host uses; labvm_contrib_off removes it.
labvm_contrib_on() {
	local mirror
	mirror=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null)
	[ -n "$mirror" ] || mirror=http://deb.debian.org/debian
	cat >"$LABVM_CONTRIB_SRC" <<S
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: contrib
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
S
	apt_retry 600 apt-get update -q
}

labvm_contrib_off() {
	[ -e "$LABVM_CONTRIB_SRC" ] || return 0
	rm -f "$LABVM_CONTRIB_SRC"
	apt_retry 600 apt-get update -q || say "apt-get update after removing contrib failed"
}

# Sets ZDIR and ZMODROOT (a module tree: the kernel's, hard-linked, plus
# zfs); builds the zfs modules with zfs-dkms once per kernel and zfs version.
# Installs linux-headers-$KVER, dkms and zfs-dkms on the host (the build
# needs them where dkms looks) and removes zfs-dkms once the modules are
# cached; the host's own kernel and /boot are untouched.
labvm_zfs() {
	local d
	for d in "$LABVM_CACHE"/zfs-*-"$KVER"; do
		if [ -e "$d/.complete" ]; then
			ZDIR=$d
			ZMODROOT=$d/modroot
			say "zfs: cached ($d)"
			return 0
		fi
	done
	[ "$(id -u)" = 0 ] || { say "zfs: building the modules needs root"; return 1; }
	say "zfs: adding contrib for zfs-dkms"
	labvm_contrib_on || { labvm_contrib_off; return 1; }
	labvm_zfs_build
	local rc=$?
	say "zfs: removing contrib again"
	labvm_contrib_off
	return $rc
}

labvm_zfs_build() {
	local zv t0=$SECONDS
	zv=$(apt-cache policy zfs-dkms | awk '/Candidate:/{print $2}')
	zv=${zv%%-*}
	[ -n "$zv" ] && [ "$zv" != "(none)" ] || { say "zfs: no zfs-dkms candidate in contrib"; return 1; }
	ZDIR=$LABVM_CACHE/zfs-$zv-$KVER
	ZMODROOT=$ZDIR/modroot
	rm -rf "$ZDIR" && mkdir -p "$ZDIR/debs" "$ZDIR/modules" || return 1
	say "zfs: installing linux-headers-$KVER and dkms"
	apt_retry 1200 apt-get install -y -q --no-install-recommends "linux-headers-$KVER" dkms ||
		{ say "zfs: installing linux-headers-$KVER failed"; return 1; }
	local built=/lib/modules/$KVER/updates/dkms
	if ! ls "$built"/zfs.ko* >/dev/null 2>&1; then
		# zfs-dkms' postinst builds for every kernel with headers: only $KVER here.
		say "zfs: installing zfs-dkms $zv (builds the modules, 8-15 minutes on 2 cores)"
		apt_retry 2400 apt-get install -y -q --no-install-recommends zfs-dkms
		if ! ls "$built"/zfs.ko* >/dev/null 2>&1; then
			say "zfs: the postinst built no zfs.ko; dkms build zfs/$zv -k $KVER"
			timeout 2400 dkms build "zfs/$zv" -k "$KVER" >&2 &&
				timeout 600 dkms install "zfs/$zv" -k "$KVER" >&2
			if ! ls "$built"/zfs.ko* >/dev/null 2>&1; then
				tail -n 60 /var/lib/dkms/zfs/"$zv"/build/make.log >&2 2>/dev/null
				say "zfs: dkms build of zfs $zv for $KVER failed"
				return 1
			fi
		fi
	fi
	cp "$built"/*.ko* "$ZDIR/modules/" || return 1
	# The modules are cached: take zfs-dkms (a contrib package) off the host
	# again, so no later kernel or header update on it runs a zfs build.
	apt_retry 600 apt-get purge -y -q zfs-dkms || say "zfs: warning: could not remove zfs-dkms"
	(cd "$ZDIR/debs" && apt_retry 900 apt-get download -q "${LABVM_ZFS_PKGS[@]}") ||
		{ say "zfs: downloading zfsutils failed"; return 1; }
	mkdir -p "$ZDIR/root" "$ZMODROOT/lib/modules" || return 1
	local deb
	for deb in "$ZDIR"/debs/*.deb; do
		dpkg-deb -x "$deb" "$ZDIR/root" || return 1
	done
	rm -rf "$ZDIR/debs"
	# The kernel's module tree plus zfs, for modprobe --show-depends.
	cp -al "$KROOT/lib/modules/$KVER" "$ZMODROOT/lib/modules/$KVER" || return 1
	mkdir -p "$ZMODROOT/lib/modules/$KVER/updates/zfs" &&
		cp "$ZDIR"/modules/*.ko* "$ZMODROOT/lib/modules/$KVER/updates/zfs/" &&
		depmod -b "$ZMODROOT" "$KVER" || return 1
	say "zfs: built zfs $zv for $KVER in $((SECONDS - t0))s"
	echo "$zv" >"$ZDIR/.complete"
}
