/* sqlite_int.h - private to the SQLite store (sqlite.c, sqlite_read.c). */
#ifndef AV_SQLITE_INT_H
#define AV_SQLITE_INT_H

#include <sqlite3.h>

#include "store.h"

struct av_store {
    sqlite3 *db;
    char *path;
    int in_tx;
    int64_t key_days;  /* cache of the last key date */
    char key_date[11];
    /* write side */
    sqlite3_stmt *upsert, *del_problems, *del_advices, *del_weather;
    sqlite3_stmt *ins_problem, *ins_advice, *ins_weather;
    sqlite3_stmt *ins_raw, *reject, *state_get, *state_put;
    sqlite3_stmt *begin, *commit, *rollback;
    /* read side */
    sqlite3_stmt *sel_problems;
};

/* Column lists, in bind/select order. */
#define AV_WARNING_NCOLS 33
extern const char *const av_warning_cols[AV_WARNING_NCOLS];
#define AV_PROBLEM_NCOLS 33
extern const char *const av_problem_cols[AV_PROBLEM_NCOLS];

av_rc av_sqlite_err(struct av_store *s, char *errbuf, const char *what);

#endif
