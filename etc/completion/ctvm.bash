# SPDX-License-Identifier: AGPL-3.0-or-later
# bash completion for ctvm, qm, pct, pvesm, pveum and pvesh.  The
# candidates come from the binary itself (`PROG __complete WORDS...`),
# which reads them from ctvm's API method table: commands, the options of
# each command's method, enum values.  Installed once as ctvm and linked
# under the other names, so bash-completion finds it by command name.
_ctvm_complete()
{
	local cur=${COMP_WORDS[COMP_CWORD]}
	local IFS=$'\n'
	local words
	words=$("${COMP_WORDS[0]}" __complete "${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null) || return
	COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -F _ctvm_complete ctvm qm pct pvesm pveum pvesh
