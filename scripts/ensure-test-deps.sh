#!/usr/bin/env bash
# Run by `npm test` before the suites: the end-to-end suite needs Debian's
# chromium, the MQTT suite needs mosquitto, the deployment test haproxy. Installs them when missing and
# we are root with apt-get (a fresh CI machine); otherwise says what is missing.
set -u
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || missing+=(mosquitto)
command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || missing+=(haproxy)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "ensure-test-deps: installing ${missing[*]} from Debian"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "ensure-test-deps: missing ${missing[*]}; install them (apt-get install ${missing[*]}) or the suites that need them fail" >&2
fi
exit 0
