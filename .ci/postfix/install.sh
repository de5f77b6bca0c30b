#!/usr/bin/env bash
# Installs Debian's Postfix for the bounce tests, if it is missing, without configuring or
# starting the system-wide instance: debconf is told "No configuration", so no /etc/postfix/main.cf
# is written, nothing listens on port 25, and the machine's mail setup is left as it was. The
# tests run private instances of their own (see instance.sh).
set -euo pipefail
if command -v postfix >/dev/null 2>&1 || [ -x /usr/sbin/postfix ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install.sh: postfix is missing and installing it needs root (apt-get install postfix)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends postfix >/dev/null
/usr/sbin/postconf -d mail_version
