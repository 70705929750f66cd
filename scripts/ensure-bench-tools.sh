#!/usr/bin/env bash
# Makes sure the peers of benchmark P2 (bench/batch-issue.ts) are installed: the ACME
# clients certloop is compared with, certbot and lego (Debian packages), curl for their
# DNS hooks, and the local CA the tests already need (pebble + pebble-challtestsrv,
# openssl). Installs the missing ones with apt-get when running as root; otherwise
# fails with the exact command to run. Never skips silently. On a fresh machine, as root,
# that is: apt-get update && apt-get install -y certbot lego curl pebble openssl
set -euo pipefail

missing=()
command -v certbot >/dev/null 2>&1 || missing+=(certbot)
command -v lego >/dev/null 2>&1 || missing+=(lego)
# The DNS hooks the benchmark writes for certbot and lego call challtestsrv with curl.
command -v curl >/dev/null 2>&1 || missing+=(curl)
command -v pebble >/dev/null 2>&1 || missing+=(pebble)
command -v pebble-challtestsrv >/dev/null 2>&1 || missing+=(pebble)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)

[ ${#missing[@]} -eq 0 ] && exit 0

packages=$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "certloop: installing ${packages}(Debian packages) for the benchmarks" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # Install without starting any service: Debian's certbot package ships a renewal
  # timer, which must not start renewing anything on this machine; the benchmark runs
  # certbot and lego itself, against a local pebble, with its own state folders.
  guard=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && guard=1
  fi
  status=0
  # shellcheck disable=SC2086
  apt-get install -y -qq ${packages} >/dev/null || status=$?
  [ -n "$guard" ] && rm -f /usr/sbin/policy-rc.d
  exit "$status"
fi
echo "certloop: missing ${packages}- install with:" >&2
echo "  sudo apt-get update && sudo apt-get install -y ${packages}" >&2
exit 1
