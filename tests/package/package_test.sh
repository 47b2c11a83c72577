#!/usr/bin/env bash
# The install rules and the Debian package: `cmake --install` into a scratch prefix, then cpack
# into a scratch directory (the build directory is only read), and check what each one holds.
# Usage: package_test.sh BUILD_DIR CPACK CMAKE CONTACT (CONTACT: LWGATE_PACKAGE_CONTACT)
set -euo pipefail
build=$1 cpack=$2 cmake=$3 contact=$4
source_dir=$(cd "$(dirname "$0")/../.." && pwd)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
expect_file() { [[ -f $1 ]] || fail "missing $1"; }

# The owner, group and mode of /etc/lwgate and its config in the data archive: private to root
# and the group lwgate (which postinst gives them); every other file is root's.
check_modes() {
    local listing
    listing=$(dpkg-deb -c "$1")
    grep -qE '^drwxr-x--- root/root .* \./etc/lwgate/$' <<<"$listing" ||
        fail "etc/lwgate is not drwxr-x--- root/root: $(grep ' ./etc/lwgate/$' <<<"$listing")"
    grep -qE '^-rw-r----- root/root .* \./etc/lwgate/gateway\.yaml$' <<<"$listing" ||
        fail "gateway.yaml is not -rw-r----- root/root: $(grep gateway.yaml <<<"$listing")"
    if grep -v ' root/root ' <<<"$listing" | grep -q .; then
        fail "files not owned by root/root: $(grep -v ' root/root ' <<<"$listing")"
    fi
}

# Maintainer, the Debian changelog (its first entry is the package's version) and the DEP-5
# copyright file.
check_metadata() {
    local deb=$1 docs=$scratch/docs version
    [[ $(dpkg-deb -f "$deb" Maintainer) == "$contact" ]] ||
        fail "Maintainer: $(dpkg-deb -f "$deb" Maintainer)"
    version=$(dpkg-deb -f "$deb" Version)
    mkdir -p "$docs"
    dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$docs" ./usr/share/doc/lwgate
    gzip -t "$docs/usr/share/doc/lwgate/changelog.Debian.gz" || fail "changelog.Debian.gz"
    zcat "$docs/usr/share/doc/lwgate/changelog.Debian.gz" >"$docs/changelog"
    [[ $(dpkg-parsechangelog -l "$docs/changelog" -S Version) == "$version" ]] ||
        fail "the changelog's first entry is not version $version: $(head -1 "$docs/changelog")"
    [[ $(dpkg-parsechangelog -l "$docs/changelog" -S Maintainer) == "$contact" ]] ||
        fail "changelog maintainer"
    grep -qxF "Upstream-Contact: $contact" "$docs/usr/share/doc/lwgate/copyright" ||
        fail "copyright: Upstream-Contact is not $contact"
    check_dep5 "$docs/usr/share/doc/lwgate/copyright"
}

# DEP-5: the Format line first; every Files paragraph has Copyright and License; every licence a
# Files paragraph names only by its short name has a paragraph of its own with the text.
check_dep5() {
    local file=$1
    [[ $(head -1 "$file") == "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/" ]] ||
        fail "copyright: no DEP-5 Format line"
    awk -v RS= '
        /(^|\n)Files:/ {
            if ($0 !~ /\nCopyright:/) { print "a Files paragraph without Copyright"; bad = 1 }
            if (match($0, /\nLicense: [^\n]*/)) {
                name = substr($0, RSTART + 10, RLENGTH - 10)
                if ($0 !~ /\nLicense: [^\n]*\n /) wanted[name] = 1
            } else { print "a Files paragraph without License"; bad = 1 }
            next
        }
        /^License: / { split($0, l, "\n"); texts[substr(l[1], 10)] = 1 }
        END {
            for (n in wanted) if (!(n in texts)) { print "no text for licence " n; bad = 1 }
            exit bad
        }' "$file" || fail "copyright is not valid DEP-5"
}

# ---- cmake --install into a prefix ---------------------------------------------------------------
prefix=$scratch/prefix
"$cmake" --install "$build" --prefix "$prefix" >"$scratch/install.log" 2>&1 ||
    { cat "$scratch/install.log"; exit 1; }
for f in bin/lwgate bin/lwgatectl lib/systemd/system/lwgate.service etc/lwgate/gateway.yaml \
    share/bash-completion/completions/lwgatectl share/doc/lwgate/README.md \
    share/doc/lwgate/copyright share/doc/lwgate/changelog.Debian.gz share/man/man8/lwgate.8.gz \
    share/man/man1/lwgatectl.1.gz share/man/man5/lwgate.yaml.5.gz \
    share/lwgate/monitoring/lwgate-alerts.yml share/lwgate/monitoring/lwgate-dashboard.json \
    share/lwgate/monitoring/README.md; do
    expect_file "$prefix/$f"
done
# The installed rules are the ones Prometheus will load from there.
if command -v promtool >/dev/null; then
    promtool check rules "$prefix/share/lwgate/monitoring/lwgate-alerts.yml" >/dev/null ||
        fail "installed lwgate-alerts.yml does not pass promtool check rules"
fi
for page in man8/lwgate.8 man1/lwgatectl.1 man5/lwgate.yaml.5; do
    zcat "$prefix/share/man/$page.gz" | cmp -s - "$source_dir/man/${page#*/}" ||
        fail "share/man/$page.gz is not man/${page#*/} compressed"
done
[[ ! -e $prefix/bin/lwm2m-core-sim ]] || fail "simulators installed without --component simulators"
grep -qx "ExecStart=$prefix/bin/lwgate --config $prefix/etc/lwgate/gateway.yaml" \
    "$prefix/lib/systemd/system/lwgate.service" || fail "unit ExecStart does not name the prefix"
"$prefix/bin/lwgate" --check-config "$prefix/etc/lwgate/gateway.yaml" >/dev/null ||
    fail "installed config does not validate"
"$prefix/bin/lwgatectl" --help >/dev/null || fail "installed lwgatectl does not run"
if command -v systemd-analyze >/dev/null; then
    # --man=no: it would run man(1) for each page of Documentation=, and a machine without
    # man-db has none; the pages are checked here instead, as files the install put in place.
    systemd-analyze verify --man=no "$prefix/lib/systemd/system/lwgate.service" ||
        fail "systemd-analyze verify lwgate.service"
fi
for page in $(grep -o 'man:[^ ]*' "$prefix/lib/systemd/system/lwgate.service"); do
    name=${page#man:}; section=${name##*(}; section=${section%)}; name=${name%(*}
    ls "$prefix/share/man/man$section/$name.$section"* >/dev/null 2>&1 ||
        fail "Documentation=$page: no $prefix/share/man/man$section/$name.$section"
done
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
    ./usr/share/doc/lwgate/README.md ./usr/share/doc/lwgate/copyright \
    ./usr/share/doc/lwgate/changelog.Debian.gz ./usr/share/man/man8/lwgate.8.gz \
    ./usr/share/man/man1/lwgatectl.1.gz ./usr/share/man/man5/lwgate.yaml.5.gz \
    ./usr/share/lwgate/monitoring/lwgate-alerts.yml \
    ./usr/share/lwgate/monitoring/lwgate-dashboard.json; do
    grep -qx -- "$f" "$scratch/listing" || fail "$f not in the package"
done
check_modes "$deb"
check_metadata "$deb"
if grep -q -e lwm2m-core-sim -e lwm2m-device-sim -e lwgate-bench -e '/include/' "$scratch/listing"; then
    fail "package holds tools or headers"
fi
[[ $(dpkg-deb -f "$deb" Package) == lwgate ]] || fail "package name"
depends=$(dpkg-deb -f "$deb" Depends)
echo "Depends: $depends"
for lib in libc6 libssl3 libsystemd0 libcoap; do
    [[ $depends == *"$lib"* ]] || fail "Depends lacks $lib (shlibdeps)"
done
[[ $depends == *adduser* ]] || fail "Depends lacks adduser (postinst creates the account)"
# Whole outputs into files first: `grep -q` in a pipe can stop reading early, and pipefail then
# turns the writer's SIGPIPE into a failure.
mkdir "$scratch/control"
dpkg-deb -e "$deb" "$scratch/control"
grep -qx /etc/lwgate/gateway.yaml "$scratch/control/conffiles" || fail "gateway.yaml is not a conffile"
for script in postinst prerm postrm; do
    [[ -x $scratch/control/$script ]] || fail "no executable $script"
    cmp -s "$scratch/control/$script" "$source_dir/conf/debian/$script" ||
        fail "$script in the package is not conf/debian/$script"
done
unit=$(dpkg-deb --fsys-tarfile "$deb" | tar -xO ./usr/lib/systemd/system/lwgate.service)
grep -qx "ExecStart=/usr/bin/lwgate --config /etc/lwgate/gateway.yaml" <<<"$unit" ||
    fail "unit ExecStart in the package"
grep -qx "Type=notify" <<<"$unit" || fail "unit Type"
for line in DynamicUser=yes User=lwgate Group=lwgate \
    "Documentation=man:lwgate(8) man:lwgate.yaml(5) man:lwgatectl(1)"; do
    grep -qxF "$line" <<<"$unit" || fail "unit lacks $line"
done
exit $((failures > 0))
