#!/usr/bin/env bash
# A private Postfix instance on loopback, for tests that need bounces made by a real MTA.
#
#   instance.sh start DIR SMTPD_PORT RELAY_PORT [BOUNCE_DOMAIN]
#   instance.sh stop DIR
#
# `start` writes DIR/etc/{main.cf,master.cf} and starts a Postfix master whose queue, data,
# log and mail all live under DIR: it listens on 127.0.0.1:SMTPD_PORT only, relays every
# message to the SMTP server at 127.0.0.1:RELAY_PORT (the test's server, which accepts some
# recipients and refuses others), tries each message once (a 4xx is final too, so a test need
# not wait for retries), and delivers what comes back for BOUNCE_DOMAIN (default bounce.test,
# the envelope senders' domain) — the DSNs Postfix writes — into the Maildir DIR/mail/.
# Nothing outside DIR is touched: no /etc/postfix/main.cf, no port 25, no system service.
# Needs root (the Postfix master starts as root and drops to the `postfix` user) and Debian's
# postfix package (install.sh). The log is DIR/postfix.log.
set -euo pipefail

die() { echo "instance.sh: $*" >&2; exit 1; }

postfix_bin=/usr/sbin/postfix

start() {
  local dir=$1 port=$2 relay=$3 domain=${4:-bounce.test}
  [ -x "$postfix_bin" ] || die "postfix is not installed (run .ci/postfix/install.sh)"
  [ "$(id -u)" -eq 0 ] || die "a Postfix master must be started as root"
  case $port$relay in *[!0-9]*) die "ports must be numbers: $port $relay";; esac
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  local owner uid gid
  owner=$(/usr/sbin/postconf -dh mail_owner)
  uid=$(id -u "$owner")
  gid=$(id -g "$owner")
  # The queue directory belongs to root, its insides to the mail owner (postfix-script sets
  # them); the Maildir to the user the virtual delivery agent writes as.
  mkdir -p "$dir/etc" "$dir/spool" "$dir/data" "$dir/mail"
  chmod 755 "$dir" "$dir/etc" "$dir/spool"
  chown "$owner:" "$dir/data"
  chown "$uid:$gid" "$dir/mail"
  write_main_cf "$dir" "$port" "$relay" "$domain" "$uid" "$gid"
  write_master_cf "$dir" "$port"
  "$postfix_bin" -c "$dir/etc" check
  "$postfix_bin" -c "$dir/etc" start
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
    sleep 0.1
  done
  die "Postfix did not listen on 127.0.0.1:$port within 10 s; see $dir/postfix.log"
}

write_main_cf() {
  local dir=$1 port=$2 relay=$3 domain=$4 uid=$5 gid=$6
  cat > "$dir/etc/main.cf" <<CONF
# A private test instance; see .ci/postfix/instance.sh.
compatibility_level = 3.6
queue_directory = $dir/spool
data_directory = $dir/data
maillog_file = $dir/postfix.log
maillog_file_prefixes = $dir
myhostname = mta.paperwire.test
mydomain = paperwire.test
myorigin = \$myhostname
inet_interfaces = loopback-only
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
mydestination =
local_recipient_maps =
local_transport = error:5.1.1 no local delivery in this test instance
alias_maps =
alias_database =
smtputf8_enable = no
biff = no
# No DNS: the relay is an address, the peers are loopback.
relayhost = [127.0.0.1]:$relay
smtp_dns_support_level = disabled
smtpd_peername_lookup = no
smtpd_relay_restrictions = permit_mynetworks, reject
smtpd_recipient_restrictions = permit_mynetworks, reject
# Try each message once: a refusal, permanent or temporary, comes back as a DSN at once.
maximal_queue_lifetime = 0
bounce_queue_lifetime = 0
minimal_backoff_time = 1s
maximal_backoff_time = 2s
queue_run_delay = 1s
# Bounces to the envelope senders' domain land in one Maildir.
virtual_mailbox_domains = $domain
virtual_mailbox_base = $dir
virtual_mailbox_maps = static:mail/
virtual_uid_maps = static:$uid
virtual_gid_maps = static:$gid
CONF
}

write_master_cf() {
  local dir=$1 port=$2
  # Only the services this instance needs, none chrooted (the queue is not a chroot jail).
  cat > "$dir/etc/master.cf" <<CONF
127.0.0.1:$port inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
virtual   unix  -       n       n       -       -       virtual
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
CONF
}

stop() {
  local dir=$1
  [ -f "$dir/etc/main.cf" ] || exit 0
  "$postfix_bin" -c "$dir/etc" stop >/dev/null 2>&1 || "$postfix_bin" -c "$dir/etc" abort >/dev/null 2>&1 || true
}

case ${1:-} in
  start) [ $# -ge 4 ] || die "usage: instance.sh start DIR SMTPD_PORT RELAY_PORT [BOUNCE_DOMAIN]"; start "$2" "$3" "$4" "${5:-}";;
  stop) [ $# -eq 2 ] || die "usage: instance.sh stop DIR"; stop "$2";;
  *) die "usage: instance.sh start DIR SMTPD_PORT RELAY_PORT [BOUNCE_DOMAIN] | stop DIR";;
esac
