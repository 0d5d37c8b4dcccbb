#!/usr/bin/env bash
# Proves the README's two commands on a fresh machine: builds a clean Debian 12 (amd64) root file system with
# mmdebstrap, holding nothing but what the .NET SDK itself needs, lends it this machine's .NET SDK folder and the
# offline NuGet folder that nuget.config names (read-only; every machine of this kind has both, and no Debian
# package provides them), copies this checkout's HEAD commit in (as a clean clone has it) and runs, as root
# under chroot, with the network this machine has:
#   1. scripts/setup.sh && printf 'echo hi\npoweroff -f\n' | ./jit boot    (must print "hi" and exit 0)
#   2. scripts/test.sh
# and reports each one's wall time. A package that was once installed here by hand, or that is only a
# Recommends of another, is not in that root file system, so a missing install step fails here.
#
#   scripts/check-fresh.sh [--keep] [--root DIR] [--boot-only] [--worktree]
#     --keep       leave the root file system (DIR) in place afterwards, for a look inside
#     --worktree   copy the working tree instead of HEAD (uncommitted changes too)
#     --root DIR   build it in DIR (must not exist yet; default: a new folder under /var/tmp)
#     --boot-only  run step 1 only
#
# Needs root (it mounts and chroots) and mmdebstrap (apt-get install mmdebstrap). The root file system reaches
# the network the way this machine does: its apt sources and Acquire:: settings, its CA bundle, and its proxy,
# certificate-file, NuGet and .NET environment variables. Nothing else of this machine goes in.
# Exit status: 0 both steps passed, 1 a step failed, 2 the check itself could not run.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
keep=0
boot_only=0
worktree=0
rootfs=""
while [ $# -gt 0 ]; do
  case "$1" in
    --keep) keep=1 ;;
    --boot-only) boot_only=1 ;;
    --worktree) worktree=1 ;;
    --root) [ $# -ge 2 ] || { echo "check-fresh: --root needs a folder" >&2; exit 2; }; rootfs="$2"; shift ;;
    -h|--help) sed -n '2,21p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "check-fresh: unknown argument '$1' (scripts/check-fresh.sh --help)" >&2; exit 2 ;;
  esac
  shift
done

fail() { echo "check-fresh: $*" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || fail "must run as root: it mounts file systems and uses chroot"
command -v mmdebstrap >/dev/null || fail "mmdebstrap is missing (apt-get install --no-install-recommends mmdebstrap)"
command -v dotnet >/dev/null || fail "the .NET SDK is missing on this machine: there is nothing to lend the root file system"
sdk_exe="$(readlink -f "$(command -v dotnet)")"
sdk_dir="$(dirname "$sdk_exe")"
nuget_dir="$(sed -n 's/.*key="offline"[^>]*value="\([^"]*\)".*/\1/p' "$repo/nuget.config" | head -n1)"
[ -n "$nuget_dir" ] || fail "$repo/nuget.config: no package source with key \"offline\""
[ -d "$nuget_dir" ] || fail "$repo/nuget.config names the offline NuGet folder $nuget_dir, which this machine does not have"

if [ -z "$rootfs" ]; then
  rootfs="$(mktemp -d /var/tmp/jit-fresh.XXXXXX)"
  rmdir "$rootfs"
fi
[ ! -e "$rootfs" ] || fail "$rootfs already exists; give a new folder with --root"

mounts=()
cleanup() {
  local i
  for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do umount -l "${mounts[$i]}" 2>/dev/null || true; done
  if [ "$keep" -eq 0 ]; then
    rm -rf --one-file-system "$rootfs"
  else
    echo "check-fresh: the root file system stays in $rootfs" >&2
  fi
}
trap cleanup EXIT

# This machine's sources and Acquire:: settings (a snapshot archive may need Check-Valid-Until false).
sources=()
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
  [ -s "$f" ] && grep -qE '^[[:space:]]*(deb|Types:)' "$f" && sources+=("$f")
done
[ ${#sources[@]} -gt 0 ] || fail "this machine has no apt sources to give the root file system"
aptopts=()
for f in /etc/apt/apt.conf /etc/apt/apt.conf.d/*; do
  [ -f "$f" ] && grep -q '^[[:space:]]*Acquire::' "$f" && aptopts+=("--aptopt=$f")
done

echo "== building a clean Debian 12 root file system in $rootfs" >&2
t0=$SECONDS
mmdebstrap --quiet --variant=apt --architectures=amd64 --include=ca-certificates,libicu72,libssl3 \
  "${aptopts[@]}" bookworm "$rootfs" "${sources[@]}" >&2 || fail "mmdebstrap could not build the root file system"
echo "   ($((SECONDS - t0)) s)" >&2

bind() { # bind SOURCE TARGET [ro]
  mkdir -p "$2"
  mount --bind "$1" "$2"
  mounts+=("$2")
  if [ "${3:-}" = ro ]; then mount -o remount,bind,ro "$2"; fi
}
mount -t proc proc "$rootfs/proc"; mounts+=("$rootfs/proc")
mount -t sysfs sysfs "$rootfs/sys"; mounts+=("$rootfs/sys")
bind /dev "$rootfs/dev"
bind /dev/pts "$rootfs/dev/pts"
bind "$sdk_dir" "$rootfs$sdk_dir" ro
bind "$nuget_dir" "$rootfs$nuget_dir" ro
ln -sf "$sdk_exe" "$rootfs/usr/bin/dotnet"
cp -L /etc/resolv.conf "$rootfs/etc/resolv.conf"
# The network the machine has includes whom it trusts: a machine of this kind may reach NuGet through a
# certificate authority of its own, in its CA bundle rather than in Debian's ca-certificates.
cp -L /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"
# ... and how its clients are told to reach the network (proxies, certificate files, NuGet's revocation mode).
machine_env=()
while IFS= read -r var; do machine_env+=("$var=${!var}"); done < <(compgen -e | grep -E '^(https?_proxy|HTTPS?_PROXY|no_proxy|NO_PROXY|SSL_CERT_(FILE|DIR)|NUGET_[A-Z_]+|DOTNET_[A-Z_]+)$' || true)

mkdir -p "$rootfs/root/jit"
if [ "$worktree" -eq 1 ]; then
  echo "== copying $repo in (the working tree: tracked and untracked files, not what .gitignore ignores)" >&2
  (cd "$repo" && git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf -) | tar -xf - -C "$rootfs/root/jit"
else
  echo "== copying $repo in (commit $(git -C "$repo" rev-parse --short HEAD), as a clean clone has it)" >&2
  git -C "$repo" archive --format=tar HEAD | tar -xf - -C "$rootfs/root/jit"
fi

in_root() { # in_root COMMAND: runs COMMAND in the checkout, in a login-like environment with nothing inherited
  chroot "$rootfs" /usr/bin/env -i HOME=/root TERM=dumb LANG=C.UTF-8 "${machine_env[@]}" \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    bash -c "cd /root/jit && $1"
}

status=0
echo "== 1. scripts/setup.sh && printf 'echo hi\\npoweroff -f\\n' | ./jit boot" >&2
t0=$SECONDS
out="$rootfs/root/boot.out"
if in_root "scripts/setup.sh && printf 'echo hi\\npoweroff -f\\n' | ./jit boot" >"$out" 2>&1; then rc=0; else rc=$?; fi
boot_time=$((SECONDS - t0))
tail -n 20 "$out" >&2
if [ "$rc" -eq 0 ] && grep -qx 'hi' <(tr -d '\r' <"$out"); then
  echo "   PASS: printed hi and exited 0 ($boot_time s)" >&2
else
  echo "   FAIL: exit $rc, $(grep -cx 'hi' <(tr -d '\r' <"$out")) line(s) 'hi' ($boot_time s)" >&2
  status=1
fi

if [ "$boot_only" -eq 0 ]; then
  echo "== 2. scripts/test.sh" >&2
  t0=$SECONDS
  if in_root "scripts/test.sh"; then rc=0; else rc=$?; fi
  test_time=$((SECONDS - t0))
  if [ "$rc" -eq 0 ]; then echo "   PASS ($test_time s)" >&2; else echo "   FAIL: exit $rc ($test_time s)" >&2; status=1; fi
fi

echo "check-fresh: setup + boot $boot_time s${test_time:+, setup + tests $test_time s}: $([ $status -eq 0 ] && echo PASS || echo FAIL)"
exit $status
