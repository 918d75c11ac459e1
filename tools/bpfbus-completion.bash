# SPDX-License-Identifier: BSD-2-Clause
# bash completion for bpfbus (docs/cli.md). Source it, or install it as
# /usr/share/bash-completion/completions/bpfbus.

_bpfbus_queues() {
	bpfbus queue list 2>/dev/null | sed 's|.*/||'
}

_bpfbus_topics() {
	bpfbus topic list 2>/dev/null | sed -n 's|^arn:.*:||p'
}

_bpfbus_archives() {
	bpfbus archive list 2>/dev/null | sed -n 's/^\([^[:space:]]*\)  bus .*/\1/p'
}

_bpfbus_replays() {
	bpfbus replay list 2>/dev/null | sed -n 's/^\([^[:space:]]*\)  archive .*/\1/p'
}

_bpfbus() {
	# plain COMP_WORDS (no dependency on the bash-completion package)
	local cword=$COMP_CWORD cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
	local words=("${COMP_WORDS[@]}")
	local i obj= cmd= nargs=0
	for ((i = 1; i < cword; i++)); do
		case ${words[i]} in
		-j | -p | --json | --pretty | -V | --version) ;;
		--pin-dir | --control) ((i++)) ;;
		*)
			if [[ -z $obj ]]; then obj=${words[i]}
			elif [[ -z $cmd ]]; then cmd=${words[i]}
			else ((nargs++)); fi
			;;
		esac
	done
	case $prev in
	--pin-dir) COMPREPLY=($(compgen -d -- "$cur")); return ;;
	--control | file) COMPREPLY=($(compgen -f -- "$cur")); return ;;
	esac
	if [[ -z $obj ]]; then
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W '-j --json -p --pretty -V --version --pin-dir --control -h --help' -- "$cur"))
		else
			COMPREPLY=($(compgen -W 'pattern filter-policy send link bus rule queue topic subscription capture stats daemon archive replay schema batch version help' -- "$cur"))
		fi
		return
	fi
	if [[ -z $cmd ]]; then
		local c
		case $obj in
		link) c='attach detach show help' ;;
		bus) c='add delete list help' ;;
		rule) c='add delete enable disable describe list load clear show help' ;;
		queue) c='create delete list url attributes set-attributes send receive delete-message change-visibility purge tag untag tags stats call help' ;;
		topic) c='create delete list show set-attr publish tag untag tags call help' ;;
		subscription) c='create delete list show set-attr confirm help' ;;
		daemon) c='status reload help' ;;
		archive) c='create update delete list show help' ;;
		replay) c='start cancel list show help' ;;
		schema) c='list show help' ;;
		batch) c='file' ;;
		pattern) c='test match help' ;;
		filter-policy) c='test help' ;;
		esac
		COMPREPLY=($(compgen -W "$c" -- "$cur"))
		return
	fi
	case $obj:$prev in
	queue:queue | rule:queue) COMPREPLY=($(compgen -W "$(_bpfbus_queues)" -- "$cur")); return ;;
	replay:archive | archive:delete | archive:show | archive:update) COMPREPLY=($(compgen -W "$(_bpfbus_archives)" -- "$cur")); return ;;
	replay:cancel | replay:show) COMPREPLY=($(compgen -W "$(_bpfbus_replays)" -- "$cur")); return ;;
	replay:state) COMPREPLY=($(compgen -W 'STARTING RUNNING COMPLETED CANCELLING CANCELLED FAILED' -- "$cur")); return ;;
	*:mode) COMPREPLY=($(compgen -W 'native generic' -- "$cur")); return ;;
	*:handoff) COMPREPLY=($(compgen -W 'xsk ringbuf' -- "$cur")); return ;;
	*:state) COMPREPLY=($(compgen -W 'enabled disabled' -- "$cur")); return ;;
	*:kind) COMPREPLY=($(compgen -W 'event topic' -- "$cur")); return ;;
	*:target) COMPREPLY=($(compgen -W 'queue' -- "$cur")); return ;;
	*:iface) COMPREPLY=($(compgen -W "$(ls /sys/class/net 2>/dev/null)" -- "$cur")); return ;;
	esac
	case $obj:$cmd in
	queue:create | queue:help | queue:list | queue:call) ;;
	queue:*) ((nargs == 0)) && COMPREPLY=($(compgen -W "$(_bpfbus_queues)" -- "$cur")) && return ;;
	topic:create | topic:help | topic:list | topic:call) ;;
	topic:* | subscription:create | subscription:confirm)
		((nargs == 0)) && COMPREPLY=($(compgen -W "$(_bpfbus_topics)" -- "$cur")) && return ;;
	esac
	if [[ $obj:$cmd == subscription:create ]] && ((nargs == 1)); then
		COMPREPLY=($(compgen -W 'sqs http https udp' -- "$cur"))
		return
	fi
	local kw
	case $obj:$cmd in
	rule:add) kw='bus pattern state target id dlq' ;;
	rule:load) kw='bus file' ;;
	rule:*) kw='bus' ;;
	queue:create) kw='attr tag' ;;
	queue:send) kw='body attr delay group dedup' ;;
	queue:receive) kw='max wait visibility attempt' ;;
	queue:attributes) kw='name' ;;
	queue:set-attributes) kw='attr' ;;
	topic:create) kw='attr tag' ;;
	topic:publish) kw='message subject attr group dedup structure' ;;
	topic:list) kw='next' ;;
	subscription:create) kw='attr' ;;
	subscription:list) kw='topic next' ;;
	link:attach) kw='mode handoff port' ;;
	archive:create) kw='bus pattern retention description' ;;
	archive:update) kw='pattern retention description' ;;
	archive:list) kw='bus prefix' ;;
	replay:start) kw='archive from to destination rule description' ;;
	replay:list) kw='archive state prefix' ;;
	schema:list) kw='source' ;;
	schema:show) kw='version' ;;
	capture:*) kw='iface handoff mode port count timeout' ;;
	stats:* | bus:*) kw='bus kind' ;;
	esac
	COMPREPLY=($(compgen -W "$kw" -- "$cur"))
}
complete -F _bpfbus bpfbus
