# bash completion for lwgatectl (installed as share/bash-completion/completions/lwgatectl).
_lwgatectl() {
    local cur prev words cword
    _init_completion 2>/dev/null || {
        cur=${COMP_WORDS[COMP_CWORD]}
        prev=${COMP_WORDS[COMP_CWORD - 1]}
        words=("${COMP_WORDS[@]}")
        cword=$COMP_CWORD
    }
    local commands="status connections show ping release close drain watch"
    local global="--admin --token --help --version"
    local command="" i
    for ((i = 1; i < cword; i++)); do
        case ${words[i]} in
            --admin | --token) ((i++)) ;;
            -*) ;;
            *) command=${words[i]}; break ;;
        esac
    done
    case $prev in
        --admin | --token | --endpoint | --remote | --alt) return ;;
        --state)
            COMPREPLY=($(compgen -W "active idle pinging half-open unregistered closing sleeping away" -- "$cur"))
            return ;;
        --transport) COMPREPLY=($(compgen -W "tcp tls" -- "$cur")); return ;;
        --timeout | --hold-off | --interval) COMPREPLY=($(compgen -W "1s 5s 30s 1m" -- "$cur")); return ;;
    esac
    local options
    case $command in
        "") COMPREPLY=($(compgen -W "$commands $global" -- "$cur")); return ;;
        status | drain | show | close) options="--json" ;;
        connections | conns) options="--state --endpoint --transport --remote --json" ;;
        ping) options="--timeout --json" ;;
        release) options="--alt --hold-off --json" ;;
        watch) options="--interval --count --json" ;;
    esac
    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$options --help $global" -- "$cur"))
    elif [[ $command =~ ^(show|ping|release|close)$ ]] && command -v lwgatectl >/dev/null; then
        # Endpoint names from the running gateway (quietly nothing when it is unreachable).
        local endpoints
        endpoints=$(lwgatectl connections --json 2>/dev/null |
            grep -o '"endpoint": *"[^"]*"' | sed 's/.*"\([^"]*\)"$/\1/')
        COMPREPLY=($(compgen -W "$endpoints" -- "$cur"))
    fi
}
complete -F _lwgatectl lwgatectl
