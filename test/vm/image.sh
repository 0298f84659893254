#!/usr/bin/env bash
# Builds the VM test bench's disk image: a minimal Debian with systemd as PID 1, udev, ifupdown, OpenSSH and the
# distribution's kernel and initramfs, from Debian's packages only (mmdebstrap), turned into an ext4 disk by
# `mke2fs -d` without mounting anything. Every VM boots this one image through a copy-on-write overlay of its own.
#
# Usage: image.sh OUT_DIR
#   OUT_DIR/vmlinuz, OUT_DIR/initrd.img   the kernel and initramfs qemu boots directly
#   OUT_DIR/root.img                      the root file system (raw ext4, sparse)
#   OUT_DIR/id_ed25519{,.pub}             root's SSH key on every VM (the bench logs in with it; node2 uses it too)
# The caller caches OUT_DIR under the sha256 of this file: change the package list and the image is built anew.
set -o errexit -o nounset -o pipefail

readonly SUITE=bookworm
readonly PACKAGES=(
  systemd systemd-sysv udev dbus libpam-systemd     # systemd as PID 1, with logind sessions as on a real server
  linux-image-amd64 initramfs-tools                 # the distribution's kernel and initramfs
  ifupdown                                          # Debian's own network setup: /etc/network/interfaces
  iproute2 iputils-ping openssh-server openssh-client
)

out="${1:?usage: image.sh OUT_DIR}"
mkdir -p -- "${out}"
work="$(mktemp -d "${out}/build.XXXXXX")"
trap 'rm -rf -- "${work}"' EXIT
tree="${work}/tree"

ssh-keygen -q -t ed25519 -N '' -C macvlan-gen-vm-bench -f "${work}/id_ed25519"

# Everything a node of the bench has that Debian's packages do not already set, written into the finished tree.
customize() {
  local -r root="$1" keys="$2"
  install -d -m 700 "${root}/root/.ssh"
  install -m 600 "${keys}/id_ed25519.pub" "${root}/root/.ssh/authorized_keys"
  install -m 600 "${keys}/id_ed25519" "${root}/root/.ssh/id_ed25519"
  printf 'Host *\n  StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n  LogLevel ERROR\n' >"${root}/root/.ssh/config"
  printf '/dev/vda / ext4 rw,errors=remount-ro 0 1\n' >"${root}/etc/fstab"
  printf 'vm\n' >"${root}/etc/hostname"
  # The NIC is named as on the seed's VMware nodes, whichever of vmxnet3 or virtio-net the VM has.
  printf '[Match]\nDriver=vmxnet3 virtio_net\n\n[Link]\nName=ens160\n' >"${root}/etc/systemd/network/10-macvlan-gen-bench.link"
  # Each VM learns who it is from its kernel command line (mvg.hostname=, mvg.address=, mvg.gateway=) at its first
  # boot and writes it where a Debian node keeps it: /etc/hostname and an ifupdown stanza for ens160.
  cat >"${root}/usr/local/sbin/bench-identity" <<'IDENTITY'
#!/bin/bash
set -o errexit -o nounset
declare -A arg=()
for word in $(cat /proc/cmdline); do
  case "${word}" in mvg.*=*) key="${word%%=*}"; arg["${key#mvg.}"]="${word#*=}" ;; esac
done
[[ -n "${arg[hostname]:-}" ]] || exit 0
if [[ ! -f /etc/network/interfaces.d/ens160 ]]; then
  printf '%s\n' "${arg[hostname]}" >/etc/hostname
  {
    printf 'auto ens160\niface ens160 inet static\n  address %s\n' "${arg[address]}"
    if [[ -n "${arg[gateway]:-}" ]]; then printf '  gateway %s\n' "${arg[gateway]}"; fi
  } >/etc/network/interfaces.d/ens160
fi
hostname "$(cat /etc/hostname)"
IDENTITY
  chmod 755 "${root}/usr/local/sbin/bench-identity"
  cat >"${root}/etc/systemd/system/bench-identity.service" <<'UNIT'
[Unit]
Description=VM bench: hostname and ens160 address from the kernel command line (first boot)
DefaultDependencies=no
After=local-fs.target
Before=network-pre.target networking.service systemd-hostnamed.service
Wants=network-pre.target

[Service]
Type=oneshot
ExecStart=/usr/local/sbin/bench-identity

[Install]
WantedBy=sysinit.target
UNIT
  ln -s /etc/systemd/system/bench-identity.service "${root}/etc/systemd/system/sysinit.target.wants/bench-identity.service"
  # No timers that start apt or scrubbing in the middle of a test.
  for timer in apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer; do
    ln -sf /dev/null "${root}/etc/systemd/system/${timer}"
  done
}

mmdebstrap --quiet --variant=minbase --include="$(IFS=,; echo "${PACKAGES[*]}")" "${SUITE}" "${tree}"
customize "${tree}" "${work}"

cp -L -- "${tree}/vmlinuz" "${work}/vmlinuz"
cp -L -- "${tree}/initrd.img" "${work}/initrd.img"
mke2fs -q -t ext4 -L bench-root -d "${tree}" "${work}/root.img" 2G
mv -- "${work}/vmlinuz" "${work}/initrd.img" "${work}/root.img" "${work}/id_ed25519" "${work}/id_ed25519.pub" "${out}/"
