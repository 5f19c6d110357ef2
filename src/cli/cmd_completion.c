/*
 * cmd_completion.c -- confiture completion bash|zsh|fish
 *
 * The scripts are generated from the command table (main.c): its commands,
 * their actions, and the getopt tables their parsers use, so that a command or
 * an option exists for completion exactly when it exists for the parser. What
 * an option's value is (an environment, a version, a file) comes from
 * cli_option_values(). Each script holds the same small algorithm in its
 * shell's syntax (find the command and action in the words typed so far,
 * skipping global options and their values, then offer what may come next)
 * over generated lookup functions.
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

const cli_action cli_completion_actions[] = {
	{"bash", NULL, CLI_V_NONE, 0, NULL},
	{"zsh", NULL, CLI_V_NONE, 0, NULL},
	{"fish", NULL, CLI_V_NONE, 0, NULL},
	{0},
};

static const char *const VALUE_KINDS[] = {
	[CLI_V_NONE] = "none",       [CLI_V_FILE] = "file",       [CLI_V_DIR] = "dir",
	[CLI_V_ENV] = "env",         [CLI_V_VERSION] = "version", [CLI_V_EVENT] = "event",
	[CLI_V_COMMAND] = "command", [CLI_V_FORMAT] = "format",
};

/* ---- The model: flags of a command and action --------------------------------- */

typedef void (*flag_fn)(void *ud, const char *flag, bool takes_value, cli_value kind);

static cli_value value_kind(const char *cmd, const char *opt)
{
	size_t n;
	const cli_option_value *v = cli_option_values(&n);
	for (size_t i = 0; i < n; i++)
		if (v[i].command && strcmp(v[i].command, cmd) == 0 && strcmp(v[i].option, opt) == 0)
			return v[i].value;
	for (size_t i = 0; i < n; i++)
		if (!v[i].command && strcmp(v[i].option, opt) == 0)
			return v[i].value;
	return CLI_V_FILE;
}

/* Whether SHORTOPTS declares the short option CH; *ARG: it takes a value. */
static bool has_short(const char *shortopts, int ch, bool *arg)
{
	const char *p = ch > 0 && ch < 128 ? strchr(shortopts, ch) : NULL;
	if (!p || ch == ':')
		return false;
	*arg = p[1] == ':';
	return true;
}

static void visit_opts(const char *cmd, const cli_opts *o, const cli_action *filter, flag_fn fn,
                       void *ud)
{
	for (const struct option *l = o->longopts; l->name; l++) {
		if ((filter && !cli_action_takes(filter, l->name)) ||
		    (*cmd && strcmp(l->name, "help") == 0)) /* a global already */
			continue;
		bool arg = l->has_arg != no_argument, short_arg;
		cli_value kind = arg ? value_kind(cmd, l->name) : CLI_V_NONE;
		char flag[128];
		snprintf(flag, sizeof(flag), "--%s", l->name);
		fn(ud, flag, arg, kind);
		if (has_short(o->shortopts, l->val, &short_arg)) {
			snprintf(flag, sizeof(flag), "-%c", l->val);
			fn(ud, flag, short_arg, kind);
		}
	}
	/* Short options that no long option shares a value with. */
	for (const char *p = o->shortopts; *p; p++) {
		if (*p == ':')
			continue;
		bool twin = false;
		for (const struct option *l = o->longopts; l->name; l++)
			twin = twin || l->val == *p;
		if (!twin) {
			char flag[3] = {'-', *p, 0};
			fn(ud, flag, p[1] == ':', CLI_V_NONE);
		}
	}
}

/* Every flag typed after CMD (and ACTION, when not NULL): globals, then its own. */
static void visit_flags(const cli_command *cmd, const cli_action *a, flag_fn fn, void *ud)
{
	visit_opts("", cli_global_opts(), NULL, fn, ud);
	if (!cmd)
		return;
	if (a && a->opts)
		visit_opts(cmd->name, a->opts, NULL, fn, ud);
	else if (cmd->opts)
		visit_opts(cmd->name, cmd->opts, a, fn, ud);
}

/* Calls FN for the command without an action, then for each action. */
static void visit_actions(const cli_command *cmd, void (*fn)(void *, const cli_command *,
                                                              const cli_action *),
                          void *ud)
{
	fn(ud, cmd, NULL);
	for (const cli_action *a = cmd->actions; a && a->name; a++)
		fn(ud, cmd, a);
}

/* ---- Shared pieces of text ------------------------------------------------------------ */

static void put_commands(cf_buf *b)
{
	size_t n;
	const cli_command *cmds = cli_commands(&n);
	for (size_t i = 0; i < n; i++)
		cf_buf_printf(b, "%s ", cmds[i].name);
	cf_buf_puts(b, "schema-to-schema");
}

static void put_events(cf_buf *b)
{
	const char *const *ev = cf_hook_events();
	for (size_t i = 0; ev[i]; i++)
		cf_buf_printf(b, "%s%s", i ? " " : "", ev[i]);
}

static void put_formats(cf_buf *b)
{
	size_t n;
	const cli_format_name *f = cli_format_names(&n);
	for (size_t i = 0; i < n; i++)
		cf_buf_printf(b, "%s%s", i ? " " : "", f[i].name);
}

static void put_actions(cf_buf *b, const cli_command *cmd)
{
	for (const cli_action *a = cmd->actions; a && a->name; a++)
		cf_buf_printf(b, "%s%s", a == cmd->actions ? "" : " ", a->name);
}

static void put_flag_word(void *ud, const char *flag, bool takes_value, cli_value kind)
{
	(void)takes_value;
	(void)kind;
	cf_buf *b = ud;
	cf_buf_printf(b, " %s", flag);
}

/* The names a command is typed as: s2s has an alias. */
static const char *case_names(const cli_command *cmd)
{
	return strcmp(cmd->name, "s2s") == 0 ? "s2s|schema-to-schema" : cmd->name;
}

/* ---- sh (bash and zsh) ------------------------------------------------------------------ */

typedef struct sh_ctx {
	cf_buf *b;
	const cli_command *cmd;
	const cli_action *a;
	bool is_fish;
} sh_ctx;

static void sh_flags_case(void *ud, const cli_command *cmd, const cli_action *a)
{
	sh_ctx *s = ud;
	if (s->is_fish) {
		cf_buf_printf(s->b, "\tcase '%s %s'", cmd->name, a ? a->name : "");
		if (strcmp(cmd->name, "s2s") == 0)
			cf_buf_printf(s->b, " 'schema-to-schema %s'", a ? a->name : "");
		cf_buf_puts(s->b, "\n\t\techo");
	} else {
		const char *names = case_names(cmd);
		if (strchr(names, '|'))
			cf_buf_printf(s->b, "\t\"s2s %s\" | \"schema-to-schema %s\")\n\t\techo",
			              a ? a->name : "", a ? a->name : "");
		else
			cf_buf_printf(s->b, "\t\"%s %s\")\n\t\techo", cmd->name, a ? a->name : "");
	}
	visit_flags(cmd, a, put_flag_word, s->b);
	cf_buf_puts(s->b, s->is_fish ? "\n" : "\n\t\t;;\n");
}

static void sh_value_flag(void *ud, const char *flag, bool takes_value, cli_value kind)
{
	sh_ctx *s = ud;
	if (!takes_value)
		return;
	const char *an = s->a ? s->a->name : "";
	if (s->is_fish) {
		cf_buf_printf(s->b, "\tcase '%s %s %s'\n\t\techo %s\n", s->cmd ? s->cmd->name : "*", s->cmd ? an : "*",
		              flag, VALUE_KINDS[kind]);
		if (s->cmd && strcmp(s->cmd->name, "s2s") == 0)
			cf_buf_printf(s->b, "\tcase 'schema-to-schema %s %s'\n\t\techo %s\n", an, flag,
			              VALUE_KINDS[kind]);
	} else if (!s->cmd) {
		cf_buf_printf(s->b, "\t*\" %s\") echo %s ;;\n", flag, VALUE_KINDS[kind]);
	} else if (strcmp(s->cmd->name, "s2s") == 0) {
		cf_buf_printf(s->b, "\t\"s2s %s %s\" | \"schema-to-schema %s %s\") echo %s ;;\n", an, flag,
		              an, flag, VALUE_KINDS[kind]);
	} else {
		cf_buf_printf(s->b, "\t\"%s %s %s\") echo %s ;;\n", s->cmd->name, an, flag,
		              VALUE_KINDS[kind]);
	}
}

static void sh_value_case(void *ud, const cli_command *cmd, const cli_action *a)
{
	sh_ctx *s = ud;
	s->cmd = cmd;
	s->a = a;
	if (a && a->opts)
		visit_opts(cmd->name, a->opts, NULL, sh_value_flag, s);
	else if (cmd->opts)
		visit_opts(cmd->name, cmd->opts, a, sh_value_flag, s);
}

/* The generated lookups, in sh syntax (bash and zsh read it alike). */
static void sh_tables(cf_buf *b)
{
	size_t n;
	const cli_command *cmds = cli_commands(&n);
	sh_ctx s = {.b = b};
	cf_buf_puts(b, "_confiture_commands() { echo \"");
	put_commands(b);
	cf_buf_puts(b, "\"; }\n\n# The actions of a command.\n_confiture_actions() {\n\tcase $1 in\n");
	for (size_t i = 0; i < n; i++) {
		if (!cmds[i].actions)
			continue;
		cf_buf_printf(b, "\t%s) echo \"", case_names(&cmds[i]));
		put_actions(b, &cmds[i]);
		cf_buf_puts(b, "\" ;;\n");
	}
	cf_buf_puts(b, "\tesac\n}\n\n# The flags after a command and action.\n"
	               "_confiture_flags() {\n\tcase \"$1 $2\" in\n");
	for (size_t i = 0; i < n; i++)
		visit_actions(&cmds[i], sh_flags_case, &s);
	cf_buf_puts(b, "\t*)\n\t\techo");
	visit_flags(NULL, NULL, put_flag_word, b);
	cf_buf_puts(b, "\n\t\t;;\n\tesac\n}\n\n"
	               "# What the value of a flag is (nothing: the flag takes none).\n"
	               "_confiture_value() {\n\tcase \"$1 $2 $3\" in\n");
	s.cmd = NULL;
	visit_opts("", cli_global_opts(), NULL, sh_value_flag, &s);
	for (size_t i = 0; i < n; i++)
		visit_actions(&cmds[i], sh_value_case, &s);
	cf_buf_puts(b, "\tesac\n}\n\n# What the operands of a command and action are.\n"
	               "_confiture_operand() {\n\tcase \"$1 $2\" in\n");
	for (size_t i = 0; i < n; i++) {
		if (cmds[i].operand)
			cf_buf_printf(b, "\t\"%s \") echo %s ;;\n", cmds[i].name,
			              VALUE_KINDS[cmds[i].operand]);
		for (const cli_action *a = cmds[i].actions; a && a->name; a++)
			if (a->operand)
				cf_buf_printf(b, "\t\"%s %s\") echo %s ;;\n", cmds[i].name, a->name,
				              VALUE_KINDS[a->operand]);
	}
	cf_buf_puts(b, "\tesac\n}\n\n# Candidates of a kind of value, in project DIR.\n"
	               "_confiture_values() {\n\tcase $1 in\n"
	               "\tenv) ls \"$2/db/environments\" 2>/dev/null | sed -n 's/\\.ya\\{0,1\\}ml$//p' ;;\n"
	               "\tversion) ls \"$2/db/migrations\" 2>/dev/null |\n"
	               "\t\tsed -n 's/^\\([^_]*\\)_.*\\.up\\.sql$/\\1/p' ;;\n"
	               "\tfile) echo @files ;;\n\tdir) echo @dirs ;;\n"
	               "\tcommand) _confiture_commands ;;\n\tformat) echo \"");
	put_formats(b);
	cf_buf_puts(b, "\" ;;\n\tevent) echo \"");
	put_events(b);
	cf_buf_puts(b, "\" ;;\n\tesac\n}\n\n");
}

/* The algorithm, the same for bash and zsh. */
static const char SH_CANDIDATES[] =
	"# Prints what may come at the cursor: words, or @files or @dirs.\n"
	"# Arguments: the words after \"confiture\" up to the cursor, then the word at it.\n"
	"_confiture_candidates() {\n"
	"\tlocal cmd= action= want= w dir=. kind\n"
	"\twhile [ $# -gt 1 ]; do\n"
	"\t\tw=$1\n"
	"\t\tshift\n"
	"\t\tif [ -n \"$want\" ]; then\n"
	"\t\t\t[ \"$w\" = \"=\" ] && continue # bash splits --env=prod at the =\n"
	"\t\t\t[ \"$want\" = --project-dir ] && dir=$w\n"
	"\t\t\twant=\n"
	"\t\t\tcontinue\n"
	"\t\tfi\n"
	"\t\tcase $w in\n"
	"\t\t--project-dir=*) dir=${w#*=} ;;\n"
	"\t\t--*=*) ;;\n"
	"\t\t-*) [ -n \"$(_confiture_value \"$cmd\" \"$action\" \"$w\")\" ] && want=$w ;;\n"
	"\t\t*)\n"
	"\t\t\tif [ -z \"$cmd\" ]; then\n"
	"\t\t\t\tcmd=$w\n"
	"\t\t\telif [ -z \"$action\" ]; then\n"
	"\t\t\t\tcase \" $(_confiture_actions \"$cmd\") \" in *\" $w \"*) action=$w ;; esac\n"
	"\t\t\tfi\n"
	"\t\t\t;;\n"
	"\t\tesac\n"
	"\tdone\n"
	"\tif [ -n \"$want\" ]; then\n"
	"\t\t_confiture_values \"$(_confiture_value \"$cmd\" \"$action\" \"$want\")\" \"$dir\"\n"
	"\t\treturn\n"
	"\tfi\n"
	"\tcase $1 in\n"
	"\t-*) _confiture_flags \"$cmd\" \"$action\"; return ;;\n"
	"\tesac\n"
	"\tif [ -z \"$cmd\" ]; then\n"
	"\t\t_confiture_commands\n"
	"\telif [ -z \"$action\" ] && [ -n \"$(_confiture_actions \"$cmd\")\" ]; then\n"
	"\t\t_confiture_actions \"$cmd\"\n"
	"\telse\n"
	"\t\tkind=$(_confiture_operand \"$cmd\" \"$action\")\n"
	"\t\t[ -z \"$kind\" ] || _confiture_values \"$kind\" \"$dir\"\n"
	"\tfi\n"
	"}\n\n";

static void gen_bash(cf_buf *b)
{
	cf_buf_puts(b, "# bash completion for confiture, generated by `confiture completion bash`.\n"
	               "# Install as bash-completion/completions/confiture (make install does),\n"
	               "# or source it from ~/.bashrc.\n\n");
	sh_tables(b);
	cf_buf_puts(b, SH_CANDIDATES);
	cf_buf_puts(b, "_confiture() {\n"
	               "\tlocal cur=${COMP_WORDS[COMP_CWORD]} c\n"
	               "\tc=$(_confiture_candidates \"${COMP_WORDS[@]:1:COMP_CWORD-1}\" \"$cur\")\n"
	               "\t[ \"$cur\" = \"=\" ] && cur=\n"
	               "\tcase $c in\n"
	               "\t@files) COMPREPLY=($(compgen -f -- \"$cur\")) ;;\n"
	               "\t@dirs) COMPREPLY=($(compgen -d -- \"$cur\")) ;;\n"
	               "\t*) COMPREPLY=($(compgen -W \"$c\" -- \"$cur\")) ;;\n"
	               "\tesac\n"
	               "}\n"
	               "complete -F _confiture confiture\n");
}

static void gen_zsh(cf_buf *b)
{
	cf_buf_puts(b, "#compdef confiture\n"
	               "# zsh completion for confiture, generated by `confiture completion zsh`.\n"
	               "# Install as _confiture in a directory of $fpath (make install does).\n\n");
	sh_tables(b);
	cf_buf_puts(b, SH_CANDIDATES);
	cf_buf_puts(b, "_confiture() {\n"
	               "\tlocal c\n"
	               "\tc=$(_confiture_candidates \"${(@)words[2,CURRENT-1]}\" \"${words[CURRENT]}\")\n"
	               "\tcase $c in\n"
	               "\t@files) _files ;;\n"
	               "\t@dirs) _files -/ ;;\n"
	               "\t*) compadd -- ${=c} ;;\n"
	               "\tesac\n"
	               "}\n\n"
	               "if [ \"${funcstack[1]}\" = _confiture ]; then\n"
	               "\t_confiture \"$@\"\n"
	               "elif (( $+functions[compdef] )); then\n"
	               "\tcompdef _confiture confiture\n"
	               "fi\n");
}

/* ---- fish ----------------------------------------------------------------------------- */

static void fish_tables(cf_buf *b)
{
	size_t n;
	const cli_command *cmds = cli_commands(&n);
	sh_ctx s = {.b = b, .is_fish = true};
	cf_buf_puts(b, "function __confiture_commands\n\techo ");
	put_commands(b);
	cf_buf_puts(b, "\nend\n\n# The actions of a command.\nfunction __confiture_actions\n"
	               "\tswitch $argv[1]\n");
	for (size_t i = 0; i < n; i++) {
		if (!cmds[i].actions)
			continue;
		cf_buf_printf(b, "\tcase %s%s\n\t\techo ", cmds[i].name,
		              strcmp(cmds[i].name, "s2s") == 0 ? " schema-to-schema" : "");
		put_actions(b, &cmds[i]);
		cf_buf_puts(b, "\n");
	}
	cf_buf_puts(b, "\tend\nend\n\n# The flags after a command and action.\n"
	               "function __confiture_flags\n\tswitch \"$argv[1] $argv[2]\"\n");
	for (size_t i = 0; i < n; i++)
		visit_actions(&cmds[i], sh_flags_case, &s);
	cf_buf_puts(b, "\tcase '*'\n\t\techo");
	visit_flags(NULL, NULL, put_flag_word, b);
	cf_buf_puts(b, "\n\tend\nend\n\n# What the value of a flag is (nothing: the flag takes none).\n"
	               "function __confiture_value\n\tswitch \"$argv[1] $argv[2] $argv[3]\"\n");
	s.cmd = NULL;
	visit_opts("", cli_global_opts(), NULL, sh_value_flag, &s);
	for (size_t i = 0; i < n; i++)
		visit_actions(&cmds[i], sh_value_case, &s);
	cf_buf_puts(b, "\tend\nend\n\n# What the operands of a command and action are.\n"
	               "function __confiture_operand\n\tswitch \"$argv[1] $argv[2]\"\n");
	for (size_t i = 0; i < n; i++) {
		if (cmds[i].operand)
			cf_buf_printf(b, "\tcase '%s '\n\t\techo %s\n", cmds[i].name,
			              VALUE_KINDS[cmds[i].operand]);
		for (const cli_action *a = cmds[i].actions; a && a->name; a++)
			if (a->operand)
				cf_buf_printf(b, "\tcase '%s %s'\n\t\techo %s\n", cmds[i].name, a->name,
				              VALUE_KINDS[a->operand]);
	}
	cf_buf_puts(b, "\tend\nend\n\n# Candidates of a kind of value, in project DIR.\n"
	               "function __confiture_values\n\tswitch $argv[1]\n"
	               "\tcase env\n\t\tls \"$argv[2]/db/environments\" 2>/dev/null | "
	               "sed -n 's/\\.ya\\{0,1\\}ml$//p'\n"
	               "\tcase version\n\t\tls \"$argv[2]/db/migrations\" 2>/dev/null |\n"
	               "\t\t\tsed -n 's/^\\([^_]*\\)_.*\\.up\\.sql$/\\1/p'\n"
	               "\tcase file\n\t\techo @files\n\tcase dir\n\t\techo @dirs\n"
	               "\tcase command\n\t\t__confiture_commands\n\tcase format\n\t\techo ");
	put_formats(b);
	cf_buf_puts(b, "\n\tcase event\n\t\techo ");
	put_events(b);
	cf_buf_puts(b, "\n\tend\nend\n\n");
}

static const char FISH_CANDIDATES[] =
	"# Prints what may come at the cursor: words, or @files or @dirs.\n"
	"# Arguments: the words after \"confiture\" up to the cursor, then the word at it.\n"
	"function __confiture_candidates\n"
	"\tset -l cmd ''\n"
	"\tset -l action ''\n"
	"\tset -l want ''\n"
	"\tset -l dir .\n"
	"\tset -l cur $argv[-1]\n"
	"\tset -e argv[-1]\n"
	"\tfor w in $argv\n"
	"\t\tif test -n \"$want\"\n"
	"\t\t\ttest \"$want\" = --project-dir; and set dir $w\n"
	"\t\t\tset want ''\n"
	"\t\t\tcontinue\n"
	"\t\tend\n"
	"\t\tswitch $w\n"
	"\t\tcase '--project-dir=*'\n"
	"\t\t\tset dir (string replace -- --project-dir= '' $w)\n"
	"\t\tcase '--*=*'\n"
	"\t\tcase '-*'\n"
	"\t\t\tset -l k (__confiture_value \"$cmd\" \"$action\" $w)\n"
	"\t\t\ttest -n \"$k\"; and set want $w\n"
	"\t\tcase '*'\n"
	"\t\t\tif test -z \"$cmd\"\n"
	"\t\t\t\tset cmd $w\n"
	"\t\t\telse if test -z \"$action\"\n"
	"\t\t\t\tcontains -- $w (string split ' ' -- (__confiture_actions $cmd)); and set action $w\n"
	"\t\t\tend\n"
	"\t\tend\n"
	"\tend\n"
	"\tif test -n \"$want\"\n"
	"\t\t__confiture_values (__confiture_value \"$cmd\" \"$action\" $want) $dir\n"
	"\t\treturn\n"
	"\tend\n"
	"\tswitch $cur\n"
	"\tcase '-*'\n"
	"\t\t__confiture_flags \"$cmd\" \"$action\"\n"
	"\t\treturn\n"
	"\tend\n"
	"\tif test -z \"$cmd\"\n"
	"\t\t__confiture_commands\n"
	"\telse if test -z \"$action\"; and test -n \"$(__confiture_actions $cmd)\"\n"
	"\t\t__confiture_actions $cmd\n"
	"\telse\n"
	"\t\tset -l kind (__confiture_operand \"$cmd\" \"$action\")\n"
	"\t\ttest -n \"$kind\"; and __confiture_values $kind $dir\n"
	"\tend\n"
	"end\n\n";

static void gen_fish(cf_buf *b)
{
	cf_buf_puts(b, "# fish completion for confiture, generated by `confiture completion fish`.\n"
	               "# Install as ~/.config/fish/completions/confiture.fish (make install puts it\n"
	               "# in share/fish/vendor_completions.d).\n\n");
	fish_tables(b);
	cf_buf_puts(b, FISH_CANDIDATES);
	cf_buf_puts(b, "function __confiture_complete\n"
	               "\tset -l words (commandline -opc)\n"
	               "\tset -e words[1]\n"
	               "\tset -l cur (commandline -ct)\n"
	               "\tfor c in (__confiture_candidates $words \"$cur\")\n"
	               "\t\tswitch $c\n"
	               "\t\tcase @files\n"
	               "\t\t\t__fish_complete_path \"$cur\"\n"
	               "\t\tcase @dirs\n"
	               "\t\t\t__fish_complete_directories \"$cur\"\n"
	               "\t\tcase '*'\n"
	               "\t\t\tstring split -n ' ' -- $c\n"
	               "\t\tend\n"
	               "\tend\n"
	               "end\n\n"
	               "complete -c confiture -f -a '(__confiture_complete)'\n");
}

cf_status cmd_completion(cli *c, int argc, char **argv)
{
	if (argc > 2 && strcmp(argv[1], "-h") == 0)
		return cli_help_host(c, argv[2]);
	if (argc > 1 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0))
		return cli_help(c);
	if (argc < 2)
		return cli_usage(c, "missing shell (bash, zsh or fish)");
	if (argc > 2)
		return cli_usage(c, "unexpected argument \"%s\"", argv[2]);
	static void (*const gens[])(cf_buf *) = {gen_bash, gen_zsh, gen_fish};
	const cli_action *a = cli_find_action(cli_find_command("completion"), argv[1]);
	if (!a)
		return cli_usage(c, "unknown shell \"%s\" (bash, zsh or fish)", argv[1]);
	c->action = a->name;
	cf_buf b;
	cf_buf_init(&b);
	gens[a - cli_completion_actions](&b);
	fputs(b.data, stdout);
	cf_buf_release(&b);
	return CF_OK;
}
