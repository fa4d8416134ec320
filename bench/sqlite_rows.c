/* sqlite_rows.c - the floor under a per-row writer (issue 13): what SQLite
 * alone costs to write the rows `avalanche reprocess` writes, one prepared
 * INSERT per row with its values bound, as our writer does, but without
 * any of our work (no parsing, no upsert rule, no history lookups, no
 * names). Not part of the product; a measurement to set beside
 * bench/sqlite_floor.py (the same rows by INSERT ... SELECT), results in
 * bench/README.md.
 *
 *     sqlite_rows SRC.db OUT.db
 *
 * OUT.db is made new with SRC's page size, WAL, synchronous=NORMAL, an 8
 * MiB cache and secure_delete off (avalanche's settings) and the DDL of
 * every table reprocess rebuilds; then one transaction reads each table of
 * SRC in storage order on a second connection and inserts row by row
 * (sqlite3_bind_* of each column from sqlite3_column_*, step, reset);
 * closing checkpoints the WAL into the file. Prints one JSON line.
 * Build: gcc -std=c11 -O2 -o build/sqlite_rows bench/sqlite_rows.c -lsqlite3 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Not rebuilt by reprocess (as bench/sqlite_floor.py). */
static const char *const state[] = {"raw_response", "raw_body", "fetch_state", "fetch_hole",
                                    "run", "run_region", "api_usage", NULL};

static int is_state(const char *name)
{
    for (int i = 0; state[i]; i++)
        if (strcmp(state[i], name) == 0)
            return 1;
    return strncmp(name, "sqlite_", 7) == 0;
}

static void die(sqlite3 *db, const char *what)
{
    fprintf(stderr, "sqlite_rows: %s: %s\n", what, db ? sqlite3_errmsg(db) : "out of memory");
    exit(1);
}

static void exec(sqlite3 *db, const char *sql)
{
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
        die(db, sql);
}

/* Copies table name from src to out, one INSERT per row; returns rows. */
static long copy(sqlite3 *src, sqlite3 *out, const char *name)
{
    char sql[512];
    sqlite3_stmt *sel, *ins;
    int n;
    long rows = 0;
    size_t len;

    snprintf(sql, sizeof(sql), "SELECT * FROM \"%s\"", name);
    if (sqlite3_prepare_v2(src, sql, -1, &sel, NULL) != SQLITE_OK)
        die(src, sql);
    n = sqlite3_column_count(sel);
    len = (size_t)snprintf(sql, sizeof(sql), "INSERT INTO \"%s\" VALUES (", name);
    for (int i = 0; i < n; i++) {
        if (len + 8 >= sizeof(sql))
            die(NULL, "too many columns");
        len += (size_t)snprintf(sql + len, sizeof(sql) - len, "%s?", i ? "," : "");
    }
    snprintf(sql + len, sizeof(sql) - len, ")");
    if (sqlite3_prepare_v3(out, sql, -1, SQLITE_PREPARE_PERSISTENT, &ins, NULL) != SQLITE_OK)
        die(out, sql);
    while (sqlite3_step(sel) == SQLITE_ROW) {
        for (int i = 0; i < n; i++) {
            switch (sqlite3_column_type(sel, i)) {
            case SQLITE_INTEGER:
                sqlite3_bind_int64(ins, i + 1, sqlite3_column_int64(sel, i));
                break;
            case SQLITE_FLOAT:
                sqlite3_bind_double(ins, i + 1, sqlite3_column_double(sel, i));
                break;
            case SQLITE_TEXT:
                sqlite3_bind_text(ins, i + 1, (const char *)sqlite3_column_text(sel, i),
                                  sqlite3_column_bytes(sel, i), SQLITE_STATIC);
                break;
            case SQLITE_BLOB:
                sqlite3_bind_blob(ins, i + 1, sqlite3_column_blob(sel, i),
                                  sqlite3_column_bytes(sel, i), SQLITE_STATIC);
                break;
            default:
                sqlite3_bind_null(ins, i + 1);
            }
        }
        if (sqlite3_step(ins) != SQLITE_DONE)
            die(out, "insert");
        sqlite3_reset(ins);
        rows++;
    }
    sqlite3_finalize(ins);
    sqlite3_finalize(sel);
    return rows;
}

int main(int argc, char **argv)
{
    sqlite3 *src, *out;
    sqlite3_stmt *st;
    char sql[256], names[64][64];
    int ntab = 0, page = 4096;

    if (argc != 3) {
        fprintf(stderr, "usage: sqlite_rows SRC.db OUT.db\n");
        return 2;
    }
    if (access(argv[1], R_OK) != 0) {
        fprintf(stderr, "sqlite_rows: cannot read %s (make it with avalanche run)\n", argv[1]);
        return 1;
    }
    for (int i = 0; i < 3; i++) { /* a new file: no old WAL or index with it */
        static const char *const suffix[] = {"", "-wal", "-shm"};
        snprintf(sql, sizeof(sql), "%s%s", argv[2], suffix[i]);
        unlink(sql);
    }
    if (sqlite3_open_v2(argv[1], &src, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        die(src, argv[1]);
    if (sqlite3_open(argv[2], &out) != SQLITE_OK)
        die(out, argv[2]);
    if (sqlite3_prepare_v2(src, "PRAGMA page_size", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        page = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    snprintf(sql, sizeof(sql), "PRAGMA page_size = %d; PRAGMA journal_mode = WAL; PRAGMA "
             "synchronous = NORMAL; PRAGMA cache_size = -8192; PRAGMA secure_delete = OFF;",
             page);
    exec(out, sql);
    if (sqlite3_prepare_v2(src, "SELECT name, sql FROM sqlite_schema WHERE type = 'table' "
                           "ORDER BY rootpage", -1, &st, NULL) != SQLITE_OK)
        die(src, "schema");
    while (sqlite3_step(st) == SQLITE_ROW && ntab < 64) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        if (is_state(name))
            continue;
        exec(out, (const char *)sqlite3_column_text(st, 1));
        snprintf(names[ntab++], sizeof(names[0]), "%s", name);
    }
    sqlite3_finalize(st);
    exec(out, "BEGIN");
    printf("{\"rows\": {");
    for (int t = 0; t < ntab; t++)
        printf("%s\"%s\": %ld", t ? ", " : "", names[t], copy(src, out, names[t]));
    exec(out, "COMMIT");
    sqlite3_close(src);
    if (sqlite3_close(out) != SQLITE_OK) /* the last connection: checkpoints */
        die(out, "close");
    printf("}, \"page_size\": %d, \"sqlite\": \"%s\"}\n", page, sqlite3_libversion());
    return 0;
}
