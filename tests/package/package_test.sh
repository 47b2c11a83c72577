#!/usr/bin/env bash
# The install rules and the Debian package: `cmake --install` into a scratch prefix, then cpack
# into a scratch directory (the build directory is only read), and check what each one holds.
# Usage: package_test.sh BUILD_DIR CPACK CMAKE
set -euo pipefail
build=$1 cpack=$2 cmake=$3
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
expect_file() { [[ -f $1 ]] || fail "missing $1"; }

# ---- cmake --install into a prefix ---------------------------------------------------------------
prefix=$scratch/prefix
"$cmake" --install "$build" --prefix "$prefix" >"$scratch/install.log" 2>&1 ||
    { cat "$scratch/install.log"; exit 1; }
for f in bin/lwgate bin/lwgatectl lib/systemd/system/lwgate.service etc/lwgate/gateway.yaml \
    share/bash-completion/completions/lwgatectl share/doc/lwgate/README.md; do
    expect_file "$prefix/$f"
done
[[ ! -e $prefix/bin/lwm2m-core-sim ]] || fail "simulators installed without --component simulators"
grep -qx "ExecStart=$prefix/bin/lwgate --config $prefix/etc/lwgate/gateway.yaml" \
    "$prefix/lib/systemd/system/lwgate.service" || fail "unit ExecStart does not name the prefix"
"$prefix/bin/lwgate" --check-config "$prefix/etc/lwgate/gateway.yaml" >/dev/null ||
    fail "installed config does not validate"
"$prefix/bin/lwgatectl" --help >/dev/null || fail "installed lwgatectl does not run"
if command -v systemd-analyze >/dev/null; then
    systemd-analyze verify "$prefix/lib/systemd/system/lwgate.service" ||
        fail "systemd-analyze verify lwgate.service"
fi
# A second install keeps the operator's config.
echo "# edited by the operator" >>"$prefix/etc/lwgate/gateway.yaml"
"$cmake" --install "$build" --prefix "$prefix" >/dev/null 2>&1
grep -q "edited by the operator" "$prefix/etc/lwgate/gateway.yaml" || fail "config overwritten"
"$cmake" --install "$build" --prefix "$prefix" --component simulators >/dev/null 2>&1
expect_file "$prefix/bin/lwm2m-core-sim"
expect_file "$prefix/bin/lwm2m-device-sim"

# ---- the .deb ----------------------------------------------------------------------------------
"$cpack" -G DEB --config "$build/CPackConfig.cmake" -B "$scratch/deb" >"$scratch/cpack.log" 2>&1 ||
    { cat "$scratch/cpack.log"; exit 1; }
debs=("$scratch"/deb/lwgate_*.deb)
[[ -f ${debs[0]} ]] || { cat "$scratch/cpack.log"; echo "FAIL: no .deb" >&2; exit 1; }
deb=${debs[0]}
echo "built $(basename "$deb") ($(stat -c %s "$deb") bytes)"
dpkg-deb -c "$deb" | awk '{print $NF}' >"$scratch/listing"
for f in ./usr/bin/lwgate ./usr/bin/lwgatectl ./usr/lib/systemd/system/lwgate.service \
    ./etc/lwgate/gateway.yaml ./usr/share/bash-completion/completions/lwgatectl \
    ./usr/share/doc/lwgate/README.md; do
    grep -qx -- "$f" "$scratch/listing" || fail "$f not in the package"
done
if grep -q -e lwm2m-core-sim -e lwm2m-device-sim -e lwgate-bench -e '/include/' "$scratch/listing"; then
    fail "package holds tools or headers"
fi
[[ $(dpkg-deb -f "$deb" Package) == lwgate ]] || fail "package name"
depends=$(dpkg-deb -f "$deb" Depends)
echo "Depends: $depends"
for lib in libc6 libssl3 libsystemd0 libcoap; do
    [[ $depends == *"$lib"* ]] || fail "Depends lacks $lib (shlibdeps)"
done
# Whole outputs into files first: `grep -q` in a pipe can stop reading early, and pipefail then
# turns the writer's SIGPIPE into a failure.
mkdir "$scratch/control"
dpkg-deb -e "$deb" "$scratch/control"
grep -qx /etc/lwgate/gateway.yaml "$scratch/control/conffiles" || fail "gateway.yaml is not a conffile"
for script in postinst prerm postrm; do
    [[ -x $scratch/control/$script ]] || fail "no executable $script"
done
unit=$(dpkg-deb --fsys-tarfile "$deb" | tar -xO ./usr/lib/systemd/system/lwgate.service)
grep -qx "ExecStart=/usr/bin/lwgate --config /etc/lwgate/gateway.yaml" <<<"$unit" ||
    fail "unit ExecStart in the package"
grep -qx "Type=notify" <<<"$unit" || fail "unit Type"
exit $((failures > 0))
