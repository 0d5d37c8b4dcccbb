#!/usr/bin/env bash
# Builds a Debian 12 (bookworm) arm64 root file system image from Debian's packages, for guests that boot
# a real distribution from a disk: mmdebstrap with this machine's own apt sources, minbase plus systemd,
# udev, iproute2, openssh-server, kmod and the modules of the kernel that `fetch-arm64.sh kernel` gives.
#   scripts/make-rootfs.sh          -> prints the raw image, the qcow2 image and the SSH private key, one a line
#   scripts/make-rootfs.sh raw|qcow2|key  -> prints that one
# In the image: root logs in on the serial console (ttyAMA0) without a password and over SSH with the key
# printed here (generated once into the cache), systemd-networkd asks DHCP on every ethernet, fstab mounts
# LABEL=jit-root on /, the hostname is jit. The images are cached in ~/.cache/jit/rootfs (or $JIT_CACHE) under
# a name holding a hash of this script, the kernel package and the public key, so they are rebuilt only
# when one of those changed; nothing is rebuilt when they are there. The raw file is a bare ext4 file
# system (no partition table): root=/dev/vda with the rootfs initramfs (guests/initramfs/build.sh rootfs).
# Boot a copy or a snapshot: a read-write boot changes the image.
#
# Runs as root: mmdebstrap builds the tree as root and runs the arm64 maintainer scripts under
# qemu-user-static through binfmt_misc, which is mounted and enabled here when it is not yet.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cache="${JIT_CACHE:-$HOME/.cache/jit}"
dir="$cache/rootfs"
what="${1:-all}"
case "$what" in all|raw|qcow2|key) ;; *) echo "usage: $0 [raw|qcow2|key]" >&2; exit 2 ;; esac

suite=bookworm
label=jit-root
hostname=jit
size=2G
packages=(
  systemd systemd-sysv udev kmod iproute2 openssh-server
  # systemd-logind needs the system bus, and the login sessions it tracks come through libpam-systemd; both
  # are only Recommends, which mmdebstrap does not install.
  dbus libpam-systemd
  # /etc/services and /etc/protocols for the network tools (Priority: important, not in minbase).
  netbase
)

mkdir -p "$dir"
exec 9>"$dir/.lock"
flock 9

key="$dir/id_ed25519"
if [ ! -f "$key" ]; then
  command -v ssh-keygen >/dev/null || { echo "make-rootfs: ssh-keygen is missing (package openssh-client)" >&2; exit 1; }
  ssh-keygen -q -t ed25519 -N '' -C "jit-rootfs" -f "$key.tmp" >&2
  mv "$key.tmp.pub" "$key.pub"
  mv "$key.tmp" "$key"
fi

moddir="$("$here/fetch-arm64.sh" modules)"
kernel_package="$(cat "${moddir%/lib/modules/*}/.package")"
recipe="$( { cat "$0"; echo "$kernel_package"; cat "$key.pub"; } | sha256sum | cut -c1-16)"
raw="$dir/debian-12-arm64-$recipe.raw"
qcow2="$dir/debian-12-arm64-$recipe.qcow2"

print() {
  case "$what" in
    all) printf '%s\n' "$raw" "$qcow2" "$key" ;;
    raw) echo "$raw" ;;
    qcow2) echo "$qcow2" ;;
    key) echo "$key" ;;
  esac
}
if [ -f "$raw" ] && [ -f "$qcow2" ]; then print; exit 0; fi

[ "$(id -u)" -eq 0 ] || { echo "make-rootfs: building the image needs root (mmdebstrap --mode=root)" >&2; exit 1; }

# Foreign-architecture maintainer scripts run under qemu-user-static through binfmt_misc; in a container
# or a fresh boot the file system may not be mounted or the qemu-aarch64 entry not enabled.
if ! arch-test arm64 >/dev/null 2>&1; then
  mountpoint -q /proc/sys/fs/binfmt_misc || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
  update-binfmts --enable qemu-aarch64 >&2 || true
  arch-test arm64 >/dev/null 2>&1 || {
    echo "make-rootfs: arm64 binaries do not run here (arch-test arm64 fails); qemu-user-static's binfmt_misc entry is needed" >&2
    exit 1
  }
fi

# This machine's apt sources for the suite, as they are (one-line or deb822 files): the image is built from
# the same archive the kernel came from, and no archive address is written here.
sources=()
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
  [ -f "$f" ] && grep -v '^[[:space:]]*#' "$f" | grep -qw "$suite" && sources+=("$f")
done
[ ${#sources[@]} -gt 0 ] || { echo "make-rootfs: no apt source on this machine names $suite (/etc/apt/sources.list*)" >&2; exit 1; }

tree="$dir/tree.tmp"
cleanup() { rm -rf "$tree" "$raw.tmp" "$qcow2.tmp"; }
trap cleanup EXIT
rm -rf "$tree"

# The customize hook runs on the host with the tree as $1, after every package is configured.
customize=$(cat <<'HOOK'
set -e
root="$1"
# Root without a password: PAM's pam_unix accepts an empty one (nullok in Debian's common-auth).
sed -i 's/^root:[^:]*:/root::/' "$root/etc/shadow"
echo "$JIT_HOSTNAME" > "$root/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\t%s\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' "$JIT_HOSTNAME" > "$root/etc/hosts"
printf 'LABEL=%s\t/\text4\terrors=remount-ro\t0\t1\n' "$JIT_LABEL" > "$root/etc/fstab"
mkdir -p "$root/etc/systemd/network"
printf '[Match]\nType=ether\n\n[Network]\nDHCP=yes\n' > "$root/etc/systemd/network/20-ethernet.network"
chroot "$root" systemctl enable systemd-networkd.service >/dev/null 2>&1
# Everything systemd-firstboot would ask on the console is set at build time.
ln -sf /dev/null "$root/etc/systemd/system/systemd-firstboot.service"
install -d -m 700 "$root/root/.ssh"
install -m 600 "$JIT_KEY.pub" "$root/root/.ssh/authorized_keys"
mkdir -p "$root/lib/modules"
cp -a "$JIT_MODULES" "$root/lib/modules/"
HOOK
)

echo "make-rootfs: building $raw" >&2
start=$(date +%s)
JIT_HOSTNAME="$hostname" JIT_LABEL="$label" JIT_KEY="$key" JIT_MODULES="$moddir" \
  mmdebstrap --mode=root --arch=arm64 --variant=minbase --include="$(IFS=,; echo "${packages[*]}")" \
  --customize-hook="$customize" "$suite" "$tree" "${sources[@]}" >&2

# A bare ext4 file system filled from the tree (no loop mount); the file is sparse, so its size is room for
# the guest to write, not disk used.
rm -f "$raw.tmp"
mke2fs -q -t ext4 -L "$label" -d "$tree" "$raw.tmp" "$size" >&2
qemu-img convert -f raw -O qcow2 "$raw.tmp" "$qcow2.tmp"
mv "$qcow2.tmp" "$qcow2"
mv "$raw.tmp" "$raw"
# Images of an older recipe are of no further use.
for old in "$dir"/debian-12-arm64-*.raw "$dir"/debian-12-arm64-*.qcow2; do
  [ "$old" = "$raw" ] || [ "$old" = "$qcow2" ] || rm -f "$old"
done
echo "make-rootfs: built in $(( $(date +%s) - start )) s" >&2
print
