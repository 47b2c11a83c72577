#!/usr/bin/env bash
# The man pages (man/): groff and mandoc render them without a warning, and they cannot fall
# behind the programs: every option of lwgate --help is in lwgate(8); every command, subcommand
# and option of lwgatectl --help (and of each command's --help) is in lwgatectl(1); every
# top-level key of conf/gateway.yaml has its section in lwgate.yaml(5) (every key below them:
# tests/unit/config/man_page_test.cpp).
# Usage: man_test.sh SOURCE_DIR LWGATE LWGATECTL
set -euo pipefail
source_dir=$1 lwgate=$2 lwgatectl=$3
man=$source_dir/man
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
for tool in groff mandoc; do
    command -v "$tool" >/dev/null || { echo "FAIL: $tool is missing (tools/deps.sh --test)" >&2; exit 1; }
done

for page in lwgate.8 lwgatectl.1 lwgate.yaml.5; do
    [[ -f $man/$page ]] || { fail "no man/$page"; continue; }
    # -ww: every warning; -z: no output but the diagnostics.
    # mandoc's linter, from warnings up (its "style" notes, such as long source lines, aside).
    for lint in "groff -man -Tutf8 -ww -z" "mandoc -Tlint -W warning"; do
        status=0
        out=$($lint "$man/$page" 2>&1) || status=$?
        [[ -z $out && $status == 0 ]] || fail "$lint $page (exit $status): $out"
    done
done

# The long options of a --help text, one per line (e.g. "--config").
long_options() { grep -oE '^ +(-[a-zA-Z],)?--[a-z][a-z-]*' | sed 's/.*--/--/' | sort -u; }
# The commands a --help text lists under "Subcommands:", aliases included.
subcommands() { awk '/^Subcommands:/ { on = 1; next } on && /^  [a-z]/ { print }' |
    sed -E 's/^ +//; s/  .*//; s/, /\n/g'; }
# Whether `page` names the option, written \-\-name in roff.
has_option() { grep -qF -- "${2//-/\\-}" "$man/$1"; }

help=$("$lwgate" --help)
while read -r option; do
    [[ $option == --help ]] || has_option lwgate.8 "$option" || fail "lwgate.8 lacks $option"
done < <(long_options <<<"$help")

help=$("$lwgatectl" --help)
while read -r option; do
    has_option lwgatectl.1 "$option" || fail "lwgatectl.1 lacks the option $option"
done < <(long_options <<<"$help")
while read -r command; do
    grep -qE "^\.(B|BI|BR) \"?$command( |\"|$)" "$man/lwgatectl.1" ||
        fail "lwgatectl.1 does not describe the command $command"
    command_help=$("$lwgatectl" "$command" --help)
    while read -r option; do
        has_option lwgatectl.1 "$option" || fail "lwgatectl.1 lacks $command $option"
    done < <(long_options <<<"$command_help")
    while read -r sub; do
        grep -qE "^\.(B|BI|BR) \"?$command $sub( |\"|$)" "$man/lwgatectl.1" ||
            fail "lwgatectl.1 does not describe $command $sub"
    done < <(subcommands <<<"$command_help")
done < <(subcommands <<<"$help")

# Top-level keys: written at the start of a line, or in a commented-out example ("# key: ...").
while read -r key; do
    grep -qx "\.SS $key" "$man/lwgate.yaml.5" || fail "lwgate.yaml.5 has no section for $key"
done < <(grep -oE '^(# ?)?[a-z_]+:( |$)' "$source_dir/conf/gateway.yaml" | sed -E 's/^# ?//; s/:.*//' | sort -u)

if ((failures == 0)); then echo "man pages: all checks passed"; fi
exit $((failures > 0))
