# bash completion for confiture.  source contrib/completions/confiture.bash
_confiture() {
	local cur prev words cword
	_init_completion 2>/dev/null || {
		cur=${COMP_WORDS[COMP_CWORD]}
		prev=${COMP_WORDS[COMP_CWORD - 1]}
		words=("${COMP_WORDS[@]}")
		cword=$COMP_CWORD
	}
	local globals="-c --config -e --env -d --database-url --project-dir -f --format -q --quiet -v --verbose --no-color --help --version --exit-codes --exit-codes-json"
	local commands="init doctor validate-config embedded hooks build seed migrate verify-checksums sync s2s schema-to-schema help version"

	case $prev in
	-c | --config | --output | --rules | --mapping | --project-dir)
		COMPREPLY=($(compgen -f -- "$cur"))
		return
		;;
	-e | --env | --from | --to | --source | --target)
		local envs
		envs=$(ls db/environments 2>/dev/null | sed -n 's/\.ya\?ml$//p')
		COMPREPLY=($(compgen -W "$envs" -- "$cur"))
		return
		;;
	-f | --format)
		COMPREPLY=($(compgen -W "text json csv" -- "$cur"))
		return
		;;
	esac

	local cmd= sub= i
	for ((i = 1; i < cword; i++)); do
		case ${words[i]} in
		-*) ;;
		*)
			if [ -z "$cmd" ]; then cmd=${words[i]}; elif [ -z "$sub" ]; then sub=${words[i]}; fi
			;;
		esac
	done

	if [ -z "$cmd" ]; then
		COMPREPLY=($(compgen -W "$commands $globals" -- "$cur"))
		return
	fi
	local subs=
	case $cmd in
	embedded) subs="start stop status url destroy" ;;
	hooks) [ -z "$sub" ] && subs="list test" || [ "$sub" != test ] ||
		subs="before_build after_build before_migrate before_migration after_migration migration_failed after_migrate before_sync before_sync_table after_sync_table after_sync before_s2s_step after_s2s_step on_error" ;;
	migrate) subs="status up down down-to current generate baseline verify preflight" ;;
	seed) subs="apply" ;;
	sync) subs="history --from --to --anonymize --rules --tables --exclude --jobs --dry-run --resume --verify" ;;
	s2s | schema-to-schema) subs="setup analyze migrate verify cleanup --source --target --mapping" ;;
	build) subs="--output --apply --recreate --schema-only --show-hash --template" ;;
	help) subs="$commands config" ;;
	init) subs="--force" ;;
	validate-config) subs="--all" ;;
	esac
	COMPREPLY=($(compgen -W "$subs $globals" -- "$cur"))
}
complete -F _confiture confiture
