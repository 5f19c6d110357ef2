/* scaffold.h -- the embedded `init` template (generated from db/). */
#ifndef CF_SCAFFOLD_H
#define CF_SCAFFOLD_H

typedef struct cf_template_file {
	const char *path;    /* relative, e.g. "db/schema/10_tables/10_users.sql" */
	const char *content;
} cf_template_file;

/* Terminated by an entry with a NULL path. */
extern const cf_template_file cf_template_files[];

#endif
