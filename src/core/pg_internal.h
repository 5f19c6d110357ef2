/* pg_internal.h -- shared between pg.c and quote.c only. */
#ifndef CF_PG_INTERNAL_H
#define CF_PG_INTERNAL_H

#include <libpq-fe.h>

typedef struct cf_pg cf_pg;
PGconn *cf_pg_conn(const cf_pg *pg);

#endif
