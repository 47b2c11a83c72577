# bash completion for lwgatectl (installed as share/bash-completion/completions/lwgatectl).

# cur, prev, words and cword as _init_completion sets them, for a shell without
# bash-completion: the words of the line up to the cursor, split at blanks only (bash's own
# COMP_WORDS also split at ':', which would cut urn:imei:... and HOST:PORT apart).
_lwgatectl_words() {
    local line=${COMP_LINE:0:COMP_POINT}
    read -ra words <<<"$line"
    [[ -z $line || $line == *[[:space:]] ]] && words+=("")
    cword=$((${#words[@]} - 1))
    cur=${words[cword]}
    prev=${words[cword - 1]:-}
}

# Readline replaces only the text after the last ':' (a word break), so the candidates must
# not repeat what comes before it.
_lwgatectl_ltrim_colons() {
    [[ $cur == *:* && $COMP_WORDBREAKS == *:* ]] || return 0
    local prefix=${cur%"${cur##*:}"} i
    for i in "${!COMPREPLY[@]}"; do
        COMPREPLY[i]=${COMPREPLY[i]#"$prefix"}
    done
}

_lwgatectl() {
    local cur prev words cword
    if declare -F _init_completion >/dev/null; then
        _init_completion -n : || return
    else
        _lwgatectl_words
    fi
    local commands="status connections show ping release close drain watch cluster reload config credentials"
    local global="--admin --token --cacert --insecure --json --help --version"
    local command="" subcommand="" i
    local -a admin=()  # --admin/--token/--cacert/--insecure as typed, for the endpoint lookup
    for ((i = 1; i < cword; i++)); do
        case ${words[i]} in
            --admin | --token | --cacert) admin+=("${words[i]}" "${words[i + 1]}"); ((i++)) ;;
            --insecure) admin+=("${words[i]}") ;;
            -*) ;;
            *) if [[ -z $command ]]; then command=${words[i]}; else subcommand=${subcommand:-${words[i]}}; fi ;;
        esac
    done
    case $prev in
        --admin | --token | --endpoint | --remote | --alt | --limit | --after | --identity | --key-hex | --certificate-name | --batch) return ;;
        --key-file) COMPREPLY=($(compgen -f -- "$cur")); return ;;
        --format) COMPREPLY=($(compgen -W "csv jsonl" -- "$cur")); return ;;
        --cacert) COMPREPLY=($(compgen -f -- "$cur")); return ;;
        --state)
            COMPREPLY=($(compgen -W "active idle pinging half-open unregistered closing sleeping away" -- "$cur"))
            return ;;
        --transport) COMPREPLY=($(compgen -W "tcp tls" -- "$cur")); return ;;
        --timeout | --hold-off | --interval) COMPREPLY=($(compgen -W "1s 5s 30s 1m" -- "$cur")); return ;;
    esac
    local options
    case $command in
        "") COMPREPLY=($(compgen -W "$commands $global" -- "$cur")); return ;;
        status | drain | show | close | cluster | reload) options="" ;;
        config)
            # config check [FILE]: a file of this machine (or none: the running lwgate's own).
            if [[ -z $subcommand ]]; then
                [[ $cur == -* ]] || { COMPREPLY=($(compgen -W "check" -- "$cur")); return; }
            elif [[ $cur != -* ]]; then
                COMPREPLY=($(compgen -f -- "$cur")); return
            fi
            options="" ;;
        credentials)
            # credentials list|show|add|rotate|retire|remove|import; import takes a file.
            if [[ -z $subcommand ]]; then
                [[ $cur == -* ]] || { COMPREPLY=($(compgen -W "list show add rotate retire remove import" -- "$cur")); return; }
            elif [[ $subcommand == import && $cur != -* ]]; then
                COMPREPLY=($(compgen -f -- "$cur")); return
            fi
            case $subcommand in
                list) options="--limit --after" ;;
                add) options="--identity --key-hex --key-file --certificate-name" ;;
                rotate) options="--identity --key-hex --key-file" ;;
                retire) options="--identity" ;;
                import) options="--format --batch" ;;
                *) options="" ;;
            esac ;;
        connections | conns) options="--state --endpoint --transport --remote --limit --after" ;;
        show | close) options="--by-endpoint" ;;
        ping) options="--timeout --by-endpoint" ;;
        release) options="--alt --hold-off --by-endpoint" ;;
        watch) options="--interval --count" ;;
    esac
    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$options $global" -- "$cur"))
    elif [[ $command =~ ^(show|ping|release|close)$ ]] && command -v lwgatectl >/dev/null; then
        # Endpoint names from the running gateway (quietly nothing when it is unreachable).
        local endpoints
        endpoints=$(lwgatectl "${admin[@]}" connections --json 2>/dev/null |
            grep -o '"endpoint": *"[^"]*"' | sed 's/.*"\([^"]*\)"$/\1/')
        COMPREPLY=($(compgen -W "$endpoints" -- "$cur"))
        _lwgatectl_ltrim_colons
    fi
}
complete -F _lwgatectl lwgatectl
