#!/usr/bin/env bash
# Makes sure the protocol peers that `npm test` and `npm start` run are installed:
# pebble + pebble-challtestsrv (a real RFC 8555 CA and its DNS), openssl (pebble's
# listener certificate, TLS session checks), nginx (session-ticket-key exports),
# moto_server and cfn-lint. Installs them with apt-get when running as root; otherwise
# fails with the exact command to run. Never skips silently.
set -euo pipefail

missing=()
command -v pebble >/dev/null 2>&1 || missing+=(pebble)
command -v pebble-challtestsrv >/dev/null 2>&1 || missing+=(pebble)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
# nginx lives in /usr/sbin, which is not on every user's PATH.
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx)
command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || missing+=(haproxy)
# Python peers (Secrets Manager/Route 53/SQS on moto, template lint): preinstalled on
# the project's machines; pip would need PyPI, so only say how to get them.
python_missing=()
command -v moto_server >/dev/null 2>&1 || python_missing+=("'moto[server]>=5.2'")
command -v cfn-lint >/dev/null 2>&1 || python_missing+=(cfn-lint)
if [ ${#python_missing[@]} -gt 0 ]; then
  echo "certloop: missing Python test peers - install with:" >&2
  echo "  pip install ${python_missing[*]}" >&2
  exit 1
fi

[ ${#missing[@]} -eq 0 ] && exit 0

packages=$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "certloop: installing ${packages}(Debian packages) for the local CA" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # Install without starting any service (nginx would otherwise listen on :80 on all
  # interfaces); the tests start their own servers on loopback.
  guard=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && guard=1
  fi
  # shellcheck disable=SC2086
  apt-get install -y -qq ${packages} >/dev/null
  [ -n "$guard" ] && rm -f /usr/sbin/policy-rc.d
  exit 0
fi
echo "certloop: missing ${packages}- install with:" >&2
echo "  sudo apt-get update && sudo apt-get install -y ${packages}" >&2
exit 1
