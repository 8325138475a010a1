# bash completion for aigwctl (installed as bash-completion/completions/aigwctl)
_aigwctl() {
  local cur prev words cword
  _init_completion 2>/dev/null || {
    cur=${COMP_WORDS[COMP_CWORD]}
    prev=${COMP_WORDS[COMP_CWORD-1]}
    words=("${COMP_WORDS[@]}")
    cword=$COMP_CWORD
  }
  local verbs="status gateways streams gpus migrations config drain undrain migrate"
  local i verb="" sub="" nargs=0 sock=()
  for ((i = 1; i < cword; i++)); do
    case ${words[i]} in
      -s|--socket) sock=(-s "${words[i+1]}"); ((i++)) ;;
      -*) ;;
      *)
        if [[ -z $verb ]]; then verb=${words[i]}
        elif [[ $verb == config && -z $sub ]]; then sub=${words[i]}
        else ((nargs++)); fi ;;
    esac
  done
  case $prev in
    -s|--socket) COMPREPLY=($(compgen -f -- "$cur")); return ;;
    --gateway) COMPREPLY=($(compgen -W "$(aigwctl "${sock[@]}" ids gateways 2>/dev/null)" -- "$cur")); return ;;
    --limit|--after) return ;;
  esac
  if [[ $cur == -* ]]; then
    local flags="--json --dry-run --socket --help"
    [[ $verb == streams ]] && flags="--json --limit --after --gateway --all --socket --help"
    COMPREPLY=($(compgen -W "$flags" -- "$cur"))
    return
  fi
  case $verb in
    "") COMPREPLY=($(compgen -W "$verbs" -- "$cur")) ;;
    config)
      if [[ -z $sub ]]; then COMPREPLY=($(compgen -W "get set keys" -- "$cur"))
      elif [[ $nargs -eq 0 && ( $sub == get || $sub == set ) ]]; then
        COMPREPLY=($(compgen -W "$(aigwctl config keys 2>/dev/null)" -- "$cur"))
      fi ;;
    drain|undrain)
      [[ $nargs -eq 0 ]] && COMPREPLY=($(compgen -W "$(aigwctl "${sock[@]}" ids gateways 2>/dev/null)" -- "$cur")) ;;
    migrate)
      if [[ $nargs -eq 0 ]]; then COMPREPLY=($(compgen -W "$(aigwctl "${sock[@]}" ids streams 2>/dev/null)" -- "$cur"))
      elif [[ $nargs -eq 1 ]]; then COMPREPLY=($(compgen -W "$(aigwctl "${sock[@]}" ids gateways 2>/dev/null)" -- "$cur"))
      fi ;;
  esac
}
complete -F _aigwctl aigwctl
