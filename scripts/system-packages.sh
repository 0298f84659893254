#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages that this project needs beyond node and npm, only those that are missing.
#
#   scripts/system-packages.sh seed   what `npm run seed` needs (shellcheck, for `lint`)
#   scripts/system-packages.sh test   what `npm test` needs (its pretest step, and so .ci/run)
#
# Missing packages are installed with apt-get as root. Not root, or no apt-get: it prints exactly what to install
# and exits 1. Nothing missing: it says nothing. MVG_SKIP_SYSTEM_PACKAGES=1 skips it (other distributions, once the
# equivalents are installed).
set -o errexit -o nounset -o pipefail

# seed: `macvlan-gen lint` prefers the system's shellcheck (the npm wrapper's download needs the internet).
readonly SEED_PACKAGES=(shellcheck)

# test: lint; the lab and node-script tests (ip, ping, arping, nsenter/unshare, dnsmasq and dhclient for the dhcp
# profile, radvd for IPv6 router advertisements); systemd-analyze for the unit; Chromium and a CJK font for the docs
# site in both languages.
readonly TEST_PACKAGES=(
  shellcheck iproute2 iputils-ping iputils-arping util-linux systemd dnsmasq-base isc-dhcp-client radvd
  chromium fonts-wqy-microhei
)

# test, the VM test bench (test/vm): qemu under TCG, qemu-img overlays, mmdebstrap and mke2fs -d for the image,
# ssh/scp to log in.
readonly VM_BENCH_PACKAGES=(qemu-system-x86 qemu-utils mmdebstrap e2fsprogs openssh-client)

# test, the fleet rollout (test/lab/ansible.test.ts): Ansible runs the generated playbook from a lab namespace against
# an sshd in each emulated node (only its binary is used; the lab never starts the machine's own ssh service).
readonly FLEET_PACKAGES=(ansible openssh-server)

readonly EXIT_MISSING=1
readonly EXIT_USAGE=2

err() {
  printf 'system-packages: %s\n' "$*" >&2
}

# The packages among "$@" that dpkg does not have installed, on one line.
missing_packages() {
  local package status
  local missing=()
  for package in "$@"; do
    status="$(dpkg-query --show --showformat='${Status}' "${package}" 2>/dev/null)" || status="unknown"
    if [[ "${status}" != "install ok installed" ]]; then
      missing+=("${package}")
    fi
  done
  printf '%s\n' "${missing[*]}"
}

main() {
  local wanted=()
  case "${1:-}" in
    seed) wanted=("${SEED_PACKAGES[@]}") ;;
    test) wanted=("${TEST_PACKAGES[@]}" "${VM_BENCH_PACKAGES[@]}" "${FLEET_PACKAGES[@]}") ;;
    *)
      err "usage: scripts/system-packages.sh seed|test"
      exit "${EXIT_USAGE}"
      ;;
  esac
  if [[ "${MVG_SKIP_SYSTEM_PACKAGES:-}" == 1 ]]; then
    return 0
  fi
  if ! command -v apt-get >/dev/null || ! command -v dpkg-query >/dev/null; then
    err "this system has no apt-get; install these Debian packages' equivalents with its package manager, then run again with MVG_SKIP_SYSTEM_PACKAGES=1: ${wanted[*]}"
    exit "${EXIT_MISSING}"
  fi

  local listed
  local missing=()
  listed="$(missing_packages "${wanted[@]}")"
  read -r -a missing <<<"${listed}"
  if [[ "${#missing[@]}" -eq 0 ]]; then
    return 0
  fi

  local install=(apt-get install --yes --no-install-recommends "${missing[@]}")
  local uid
  uid="$(id -u)"
  if [[ "${uid}" != 0 ]]; then
    err "missing ${missing[*]}; as root, run: apt-get update && ${install[*]}"
    exit "${EXIT_MISSING}"
  fi
  printf 'system-packages: installing %s\n' "${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  "${install[@]}" -qq >/dev/null

  listed="$(missing_packages "${missing[@]}")"
  if [[ -n "${listed}" ]]; then
    err "apt-get finished but these are still not installed: ${listed}"
    exit "${EXIT_MISSING}"
  fi
}

main "$@"
