#!/usr/bin/env bash
# The package's postinst, run against a scratch root (DPKG_ROOT) with the commands that would
# change this machine (getent, addgroup, adduser, chgrp, dpkg-statoverride, systemctl) replaced
# by stubs that log their arguments: the account is created once, /etc/lwgate and its config get
# the group lwgate only while they are in root's group, no mode is ever changed, and a path under
# dpkg-statoverride is left alone.
# Usage: postinst_test.sh POSTINST
set -euo pipefail
postinst=$(realpath "$1")
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

stubs=$scratch/bin
mkdir "$stubs"
for command in getent addgroup adduser chgrp dpkg-statoverride systemctl; do
    cat >"$stubs/$command" <<EOF
#!/bin/sh
echo "$command \$*" >>"$scratch/calls"
case $command in
    getent) exit "\${STUB_GETENT_STATUS:-2}" ;;
    dpkg-statoverride) for p in \${STUB_OVERRIDES:-}; do [ "\$p" = "\$2" ] && exit 0; done; exit 1 ;;
esac
exit 0
EOF
    chmod +x "$stubs/$command"
done

# A root as dpkg unpacks the package: /etc/lwgate 0750 and gateway.yaml 0640, root:root.
new_root() {
    rm -rf "$scratch/root" "$scratch/calls"
    touch "$scratch/calls"
    mkdir -p "$scratch/root/etc/lwgate"
    echo "listeners: []" >"$scratch/root/etc/lwgate/gateway.yaml"
    chmod 0750 "$scratch/root/etc/lwgate"
    chmod 0640 "$scratch/root/etc/lwgate/gateway.yaml"
}
run_postinst() {
    DPKG_ROOT=$scratch/root PATH="$stubs:$PATH" sh "$postinst" "$@" ||
        fail "postinst $* exited $?"
}
called() { grep -qxF -- "$1" "$scratch/calls"; }
expect_called() { called "$1" || fail "$2: expected '$1'; calls: $(tr '\n' ';' <"$scratch/calls")"; }
expect_not_called() { ! called "$1" || fail "$2: did not expect '$1'"; }
mode_of() { stat -c %a "$scratch/root$1"; }

# First installation: no account yet.
new_root
run_postinst configure ""
expect_called "addgroup --system --quiet lwgate" "first install"
expect_called "adduser --system --quiet --ingroup lwgate --no-create-home --home /nonexistent --shell /usr/sbin/nologin --gecos lwgate gateway lwgate" "first install"
expect_called "chgrp lwgate $scratch/root/etc/lwgate" "first install"
expect_called "chgrp lwgate $scratch/root/etc/lwgate/gateway.yaml" "first install"
[[ $(mode_of /etc/lwgate) == 750 && $(mode_of /etc/lwgate/gateway.yaml) == 640 ]] ||
    fail "postinst changed a mode: $(mode_of /etc/lwgate) $(mode_of /etc/lwgate/gateway.yaml)"

# An upgrade: the account exists; the operator tightened the config to 0600 and gave the
# directory a group of their own (daemon).
new_root
chmod 0600 "$scratch/root/etc/lwgate/gateway.yaml"
chgrp daemon "$scratch/root/etc/lwgate"
STUB_GETENT_STATUS=0 run_postinst configure 0.1.0-1
expect_not_called "addgroup --system --quiet lwgate" "existing account"
grep -q '^adduser' "$scratch/calls" && fail "existing account: adduser called"
expect_not_called "chgrp lwgate $scratch/root/etc/lwgate" "the operator's group"
expect_called "chgrp lwgate $scratch/root/etc/lwgate/gateway.yaml" "upgrade"
[[ $(mode_of /etc/lwgate/gateway.yaml) == 600 ]] ||
    fail "the operator's 0600 became $(mode_of /etc/lwgate/gateway.yaml)"

# dpkg-statoverride owns the config's owner and mode.
new_root
STUB_GETENT_STATUS=0 STUB_OVERRIDES=/etc/lwgate/gateway.yaml run_postinst configure 0.1.0-1
expect_not_called "chgrp lwgate $scratch/root/etc/lwgate/gateway.yaml" "statoverride"
expect_called "chgrp lwgate $scratch/root/etc/lwgate" "statoverride on the file only"

# Other actions do nothing.
for action in abort-upgrade abort-remove abort-deconfigure; do
    new_root
    run_postinst "$action" 0.1.0-1
    [[ ! -s $scratch/calls ]] || fail "postinst $action: $(tr '\n' ';' <"$scratch/calls")"
done

# A config removed by the operator is not an error.
new_root
rm "$scratch/root/etc/lwgate/gateway.yaml"
STUB_GETENT_STATUS=0 run_postinst configure 0.1.0-1
expect_not_called "chgrp lwgate $scratch/root/etc/lwgate/gateway.yaml" "no config"

if ((failures == 0)); then echo "postinst: all checks passed"; fi
exit $((failures > 0))
