/* cql_smoke.c - our CQL v4 client (src/cql) against a real Cassandra node.
 *
 * Driven by tests/integration/test_cql_node.sh, which starts the node and
 * builds this with gcc against src/cql/ and src/core/{buf,err,log,tz}.c:
 *
 *   cql_smoke HOST:PORT main       login, schema, every type, paging, batch,
 *                                  server errors, frame ceiling; writes row 7
 *                                  for the python3-cassandra oracle
 *   cql_smoke HOST:PORT readback   reads row 8, written by the oracle
 *   cql_smoke HOST:PORT restart    runs $CQL_SMOKE_STOP, expects AV_ENET,
 *                                  runs $CQL_SMOKE_START (a wiped node), and
 *                                  the same connection recovers: reconnect,
 *                                  schema again, UNPREPARED -> re-prepare
 *
 * Prints "ok - name" or "FAIL - name: detail" per check (the script counts
 * them) and exits 1 if anything failed. Login cassandra/cassandra.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/core/log.h"
#include "../../src/cql/cql.h"

#define KS "cqlsmoke"
#define COLS "id, b, s, t, f, d, x, ts, dt, u, l"
#define NCOLS 11

static int passed, failed;
static const char *hosts;

static void check(int cond, const char *name, const char *detail)
{
    if (cond) {
        passed++;
        printf("ok   - %s\n", name);
    } else {
        failed++;
        printf("FAIL - %s: %s\n", name, detail ? detail : "");
    }
    fflush(stdout);
}

/* A row of the types table; nulls: every column but id is null. */
struct row {
    int32_t id;
    int64_t b;
    int16_t s;
    int8_t t;
    int f;
    double d;
    const char *x;
    int64_t ts, dt;
    uint8_t u[16];
    const char *const *l;
    int nl;
    int nulls;
};

static const char *const list7[] = { "a", "b c", "\xc3\xb8" };
static const struct row row7 = {
    7, -9000000000LL, -12345, -7, 1, 3.25, "sn\xc3\xb8 \xe2\x9c\x93 \"quoted\"",
    1700000000123LL, 19000,
    { 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd,
      0xee, 0xff },
    list7, 3, 0
};
/* what tests/integration/test_cql_node.sh has python3-cassandra write */
static const char *const list8[] = { "x" };
static const struct row row8 = {
    8, INT64_MAX, 32767, 127, 0, -0.5, "ascii", -1000, -25567, /* 1900-01-01 */
    { 0xf8, 0x1d, 0x4f, 0xae, 0x7d, 0xec, 0x11, 0xd0, 0xa7, 0x65, 0x00, 0xa0, 0xc9, 0x1e,
      0x6b, 0xf6 },
    list8, 1, 0
};

static struct av_cql_value uuid_value(const uint8_t u[16])
{
    struct av_cql_value v = av_cql_null();

    v.type = AV_CQL_UUID;
    memcpy(v.u.uuid, u, 16);
    return v;
}

static void row_values(const struct row *r, struct av_cql_value *v)
{
    v[0] = av_cql_int(r->id);
    for (int i = 1; i < NCOLS; i++)
        v[i] = av_cql_null();
    if (r->nulls)
        return;
    v[1] = av_cql_bigint(r->b);
    v[2] = av_cql_smallint(r->s);
    v[3] = av_cql_tinyint(r->t);
    v[4] = av_cql_bool(r->f);
    v[5] = av_cql_double(r->d);
    v[6] = av_cql_text(r->x);
    v[7] = av_cql_timestamp(r->ts);
    v[8] = av_cql_date(r->dt);
    v[9] = uuid_value(r->u);
    v[10] = av_cql_list_text(r->l, r->nl);
}

/* Compares row `row` of a SELECT COLS result with e; detail gets the first
 * difference. */
static int same_row(const struct av_cql_result *res, int row, const struct row *e,
                    char *detail, size_t cap)
{
    struct av_cql_value v[NCOLS];
    static const enum av_cql_type want[NCOLS] = {
        AV_CQL_INT, AV_CQL_BIGINT, AV_CQL_SMALLINT, AV_CQL_TINYINT, AV_CQL_BOOLEAN,
        AV_CQL_DOUBLE, AV_CQL_TEXT, AV_CQL_TIMESTAMP, AV_CQL_DATE, AV_CQL_UUID,
        AV_CQL_LIST_TEXT
    };
    const int64_t ints[NCOLS] = { e->id, e->b, e->s, e->t, e->f, 0, 0, e->ts, e->dt };

    if (av_cql_result_columns(res) != NCOLS || row >= av_cql_result_rows(res)) {
        snprintf(detail, cap, "%d columns, %d rows", av_cql_result_columns(res),
                 av_cql_result_rows(res));
        return 0;
    }
    for (int c = 0; c < NCOLS; c++) {
        if (av_cql_result_column_type(res, c) != want[c]) {
            snprintf(detail, cap, "column %s has type %d", av_cql_result_column_name(res, c),
                     av_cql_result_column_type(res, c));
            return 0;
        }
        if (av_cql_result_get(res, row, c, &v[c]) != AV_OK) {
            snprintf(detail, cap, "column %d unreadable", c);
            return 0;
        }
        if (e->nulls && c > 0) {
            if (v[c].type != AV_CQL_NULL) {
                snprintf(detail, cap, "column %d not null", c);
                return 0;
            }
            continue;
        }
        if (c == 10 && e->nl == 0) { /* Cassandra stores an empty list as null */
            if (v[c].type != AV_CQL_NULL) {
                snprintf(detail, cap, "empty list not read as null");
                return 0;
            }
            continue;
        }
        if (v[c].type != want[c]) {
            snprintf(detail, cap, "column %d read as type %d", c, v[c].type);
            return 0;
        }
        if ((c <= 4 || c == 7 || c == 8) && v[c].u.i != ints[c]) {
            snprintf(detail, cap, "column %s: %lld, expected %lld",
                     av_cql_result_column_name(res, c), (long long)v[c].u.i,
                     (long long)ints[c]);
            return 0;
        }
    }
    if (e->nulls)
        return 1;
    if (v[5].u.d != e->d) {
        snprintf(detail, cap, "double %g, expected %g", v[5].u.d, e->d);
        return 0;
    }
    if (v[6].u.s.n != strlen(e->x) || memcmp(v[6].u.s.p, e->x, v[6].u.s.n) != 0) {
        snprintf(detail, cap, "text \"%.*s\"", (int)v[6].u.s.n, v[6].u.s.p);
        return 0;
    }
    if (memcmp(v[9].u.uuid, e->u, 16) != 0) {
        snprintf(detail, cap, "uuid differs");
        return 0;
    }
    if (e->nl > 0 && v[10].u.list.n != e->nl) {
        snprintf(detail, cap, "list of %d items, expected %d", v[10].u.list.n, e->nl);
        return 0;
    }
    for (int k = 0; k < e->nl; k++) {
        const char *p;
        size_t n;

        if (av_cql_result_list_item(res, row, 10, k, &p, &n) != AV_OK ||
            n != strlen(e->l[k]) || memcmp(p, e->l[k], n) != 0) {
            snprintf(detail, cap, "list item %d differs", k);
            return 0;
        }
    }
    return 1;
}

static struct av_cql *login(const char *h, const char *user, const char *pass,
                            size_t max_frame, av_rc *rc, char *err)
{
    struct av_cql_opts o = { h, user, pass, 3000, 20000, max_frame };
    struct av_cql *c = NULL;

    *rc = av_cql_connect(&c, &o, err);
    return c;
}

static av_rc q(struct av_cql *c, const char *cql, char *err)
{
    return av_cql_query(c, cql, NULL, 0, AV_CQL_ONE, NULL, err);
}

static int create_schema(struct av_cql *c, char *err)
{
    return q(c, "CREATE KEYSPACE IF NOT EXISTS " KS " WITH replication = "
                "{'class': 'SimpleStrategy', 'replication_factor': 1}", err) == AV_OK &&
           q(c, "CREATE TABLE IF NOT EXISTS " KS ".types (id int PRIMARY KEY, b bigint, "
                "s smallint, t tinyint, f boolean, d double, x text, ts timestamp, dt date, "
                "u uuid, l list<text>)", err) == AV_OK &&
           q(c, "CREATE TABLE IF NOT EXISTS " KS ".pages (p int, c int, v text, "
                "PRIMARY KEY (p, c))", err) == AV_OK;
}

static void test_login(void)
{
    char err[AV_ERRBUF_SIZE], h2[300];
    struct av_cql *c;
    av_rc rc;

    c = login(hosts, "cassandra", "wrong-password", 0, &rc, err);
    check(rc == AV_EREMOTE && c == NULL, "wrong password is AV_EREMOTE", err);
    check(strstr(err, "Authentication") != NULL &&
              (strstr(err, "incorrect") || strstr(err, "redentials")),
          "wrong password names the server's complaint", err);
    printf("     (%s)\n", err);
    c = login(hosts, NULL, NULL, 0, &rc, err);
    check(rc == AV_EREMOTE && strstr(err, "set user/password") != NULL,
          "no credentials: server requires authentication", err);
    /* a dead contact point first, then the node by name */
    snprintf(h2, sizeof(h2), "127.0.0.1:1, localhost:%s", strrchr(hosts, ':') + 1);
    c = login(h2, "cassandra", "cassandra", 0, &rc, err);
    check(rc == AV_OK, "second contact point (by name) after a dead one", err);
    if (c)
        printf("     (connected to %s)\n", av_cql_peer(c));
    av_cql_close(c);
    c = login("127.0.0.1:1", "cassandra", "cassandra", 0, &rc, err);
    check(rc == AV_ENET && strstr(err, "127.0.0.1:1") != NULL, "refused contact point is "
          "AV_ENET naming the host", err);
}

static void test_schema(struct av_cql *c)
{
    struct av_cql_result *r = NULL;
    char err[AV_ERRBUF_SIZE];
    av_rc rc;

    rc = av_cql_query(c, "CREATE KEYSPACE IF NOT EXISTS " KS " WITH replication = "
                      "{'class': 'SimpleStrategy', 'replication_factor': 1}", NULL, 0,
                      AV_CQL_ONE, &r, err);
    check(rc == AV_OK, "CREATE KEYSPACE IF NOT EXISTS (1st)", err);
    if (r)
        printf("     (result kind %d, keyspace %s)\n", av_cql_result_kind(r),
               av_cql_result_keyspace(r) ? av_cql_result_keyspace(r) : "-");
    av_cql_result_free(r);
    r = NULL;
    rc = av_cql_query(c, "CREATE KEYSPACE IF NOT EXISTS " KS " WITH replication = "
                      "{'class': 'SimpleStrategy', 'replication_factor': 1}", NULL, 0,
                      AV_CQL_ONE, &r, err);
    check(rc == AV_OK, "CREATE KEYSPACE IF NOT EXISTS (2nd)", err);
    if (r)
        printf("     (result kind %d)\n", av_cql_result_kind(r));
    av_cql_result_free(r);
    rc = q(c, "CREATE KEYSPACE " KS " WITH replication = "
              "{'class': 'SimpleStrategy', 'replication_factor': 1}", err);
    check(rc == AV_EREMOTE && strstr(err, "Already_exists") != NULL,
          "CREATE KEYSPACE again: Already_exists is AV_EREMOTE", err);
    check(create_schema(c, err), "CREATE TABLE with every type", err);
}

static void test_types(struct av_cql *c)
{
    static const struct row nulls = { 2, 0, 0, 0, 0, 0, NULL, 0, 0, { 0 }, NULL, 0, 1 };
    struct av_cql_prepared *ins = NULL, *sel = NULL;
    struct av_cql_value v[NCOLS], id;
    struct av_cql_result *r = NULL;
    char err[AV_ERRBUF_SIZE], detail[200];
    struct row partial = row7;
    av_rc rc;

    rc = av_cql_prepare(c, "INSERT INTO " KS ".types (" COLS ") VALUES "
                        "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", &ins, err);
    check(rc == AV_OK && av_cql_prepared_params(ins) == NCOLS, "PREPARE INSERT (11 markers)",
          err);
    rc = av_cql_prepare(c, "SELECT " COLS " FROM " KS ".types WHERE id = ?", &sel, err);
    check(rc == AV_OK && av_cql_prepared_params(sel) == 1, "PREPARE SELECT", err);
    if (ins == NULL || sel == NULL)
        goto done;

    row_values(&row7, v);
    check(av_cql_execute(c, ins, v, NCOLS, AV_CQL_ONE, 0, NULL, 0, NULL, err) == AV_OK,
          "EXECUTE INSERT of every type (row 7)", err);
    row_values(&nulls, v);
    check(av_cql_execute(c, ins, v, NCOLS, AV_CQL_ONE, 0, NULL, 0, NULL, err) == AV_OK,
          "EXECUTE INSERT of nulls (row 2)", err);
    check(av_cql_execute(c, ins, v, 3, AV_CQL_ONE, 0, NULL, 0, NULL, err) == AV_EINVAL,
          "wrong number of values is AV_EINVAL", err);

    /* read back through QUERY with a bound value, and through EXECUTE */
    id = av_cql_int(7);
    rc = av_cql_query(c, "SELECT " COLS " FROM " KS ".types WHERE id = ?", &id, 1, AV_CQL_ONE,
                      &r, err);
    check(rc == AV_OK && same_row(r, 0, &row7, detail, sizeof(detail)),
          "QUERY reads row 7 back", rc == AV_OK ? detail : err);
    av_cql_result_free(r);
    r = NULL;
    rc = av_cql_execute(c, sel, &id, 1, AV_CQL_ONE, 0, NULL, 0, &r, err);
    check(rc == AV_OK && same_row(r, 0, &row7, detail, sizeof(detail)),
          "EXECUTE reads row 7 back", rc == AV_OK ? detail : err);
    av_cql_result_free(r);
    r = NULL;
    id = av_cql_int(2);
    rc = av_cql_execute(c, sel, &id, 1, AV_CQL_ONE, 0, NULL, 0, &r, err);
    check(rc == AV_OK && same_row(r, 0, &nulls, detail, sizeof(detail)),
          "EXECUTE reads the nulls of row 2 back", rc == AV_OK ? detail : err);
    av_cql_result_free(r);
    r = NULL;

    /* unset leaves a column alone: row 3 = row 7 with a new text, b unset */
    partial.id = 3;
    row_values(&partial, v);
    av_cql_execute(c, ins, v, NCOLS, AV_CQL_ONE, 0, NULL, 0, NULL, err);
    partial.x = "changed";
    row_values(&partial, v);
    v[1].type = AV_CQL_UNSET;
    rc = av_cql_execute(c, ins, v, NCOLS, AV_CQL_ONE, 0, NULL, 0, NULL, err);
    id = av_cql_int(3);
    if (rc == AV_OK)
        rc = av_cql_execute(c, sel, &id, 1, AV_CQL_ONE, 0, NULL, 0, &r, err);
    check(rc == AV_OK && same_row(r, 0, &partial, detail, sizeof(detail)),
          "UNSET value keeps the stored column", rc == AV_OK ? detail : err);
    av_cql_result_free(r);
    r = NULL;

    /* extremes; an empty list is stored as null */
    {
        struct row ext = row8;

        ext.id = 4;
        ext.b = INT64_MIN;
        ext.s = INT16_MIN;
        ext.t = INT8_MIN;
        ext.d = -INFINITY;
        ext.x = "";
        ext.nl = 0;
        row_values(&ext, v);
        rc = av_cql_execute(c, ins, v, NCOLS, AV_CQL_ONE, 0, NULL, 0, NULL, err);
        id = av_cql_int(4);
        if (rc == AV_OK)
            rc = av_cql_execute(c, sel, &id, 1, AV_CQL_ONE, 0, NULL, 0, &r, err);
        check(rc == AV_OK && same_row(r, 0, &ext, detail, sizeof(detail)),
              "minimum values, -inf, empty text and empty list", rc == AV_OK ? detail : err);
        av_cql_result_free(r);
        r = NULL;
    }
done:
    av_cql_prepared_free(ins);
    av_cql_prepared_free(sel);
}

static void test_paging(struct av_cql *c)
{
    struct av_cql_prepared *ins = NULL, *sel = NULL;
    struct av_cql_result *r = NULL;
    struct av_cql_value v[3];
    char err[AV_ERRBUF_SIZE], detail[AV_ERRBUF_SIZE + 64] = "";
    unsigned char state[1024];
    size_t state_len = 0;
    int pages = 0, rows = 0, in_order = 1, ok = 1;
    av_rc rc;

    if (av_cql_prepare(c, "INSERT INTO " KS ".pages (p, c, v) VALUES (?, ?, ?)", &ins, err) !=
            AV_OK ||
        av_cql_prepare(c, "SELECT c FROM " KS ".pages WHERE p = ?", &sel, err) != AV_OK) {
        check(0, "paging: prepare", err);
        goto done;
    }
    for (int i = 0; i < 25 && ok; i++) {
        v[0] = av_cql_int(1);
        v[1] = av_cql_int(i);
        v[2] = av_cql_text("page me");
        ok = av_cql_execute(c, ins, v, 3, AV_CQL_ONE, 0, NULL, 0, NULL, err) == AV_OK;
    }
    check(ok, "paging: 25 inserts", err);
    v[0] = av_cql_int(1);
    for (;;) {
        const void *next;

        rc = av_cql_execute(c, sel, v, 1, AV_CQL_ONE, 10, state_len ? state : NULL, state_len,
                            &r, err);
        if (rc != AV_OK) {
            ok = 0;
            break;
        }
        pages++;
        for (int i = 0; i < av_cql_result_rows(r); i++) {
            struct av_cql_value cv;
            if (av_cql_result_get(r, i, 0, &cv) != AV_OK || cv.u.i != rows)
                in_order = 0;
            rows++;
        }
        next = av_cql_result_paging(r, &state_len);
        if (next == NULL || state_len > sizeof(state) || pages > 10) {
            av_cql_result_free(r);
            r = NULL;
            break;
        }
        memcpy(state, next, state_len); /* the state lives in the result */
        av_cql_result_free(r);
        r = NULL;
    }
    snprintf(detail, sizeof(detail), "%d pages, %d rows, in order %d: %s", pages, rows,
             in_order, ok ? "" : err);
    check(ok && pages == 3 && rows == 25 && in_order, "paging: page_size 10 -> 3 pages, 25 rows",
          detail);
    printf("     (%s)\n", detail);
done:
    av_cql_prepared_free(ins);
    av_cql_prepared_free(sel);
}

static int64_t count_rows(struct av_cql *c, const char *cql, char *err)
{
    struct av_cql_result *r = NULL;
    struct av_cql_value v;
    int64_t n = -1;

    if (av_cql_query(c, cql, NULL, 0, AV_CQL_ONE, &r, err) == AV_OK &&
        av_cql_result_rows(r) == 1 && av_cql_result_get(r, 0, 0, &v) == AV_OK &&
        v.type == AV_CQL_BIGINT)
        n = v.u.i;
    av_cql_result_free(r);
    return n;
}

static void test_batch(struct av_cql *c)
{
    struct av_cql_prepared *ins = NULL;
    struct av_cql_value v[3][3];
    struct av_cql_batch_item items[3];
    char err[AV_ERRBUF_SIZE], detail[64];
    int64_t n;
    av_rc rc;

    if (av_cql_prepare(c, "INSERT INTO " KS ".pages (p, c, v) VALUES (?, ?, ?)", &ins, err) !=
        AV_OK) {
        check(0, "batch: prepare", err);
        return;
    }
    for (int i = 0; i < 3; i++) {
        v[i][0] = av_cql_int(2);
        v[i][1] = av_cql_int(i);
        v[i][2] = av_cql_text("batched");
        items[i].p = ins;
        items[i].vals = v[i];
        items[i].n = 3;
    }
    rc = av_cql_batch(c, 1, items, 3, AV_CQL_ONE, err);
    check(rc == AV_OK, "unlogged BATCH of 3 prepared inserts", err);
    n = count_rows(c, "SELECT COUNT(*) FROM " KS ".pages WHERE p = 2", err);
    snprintf(detail, sizeof(detail), "count %lld", (long long)n);
    check(n == 3, "batch rows are there", detail);
    for (int i = 0; i < 3; i++)
        v[i][0] = av_cql_int(3);
    rc = av_cql_batch(c, 0, items, 3, AV_CQL_ONE, err);
    check(rc == AV_OK && count_rows(c, "SELECT COUNT(*) FROM " KS ".pages WHERE p = 3", err) == 3,
          "logged BATCH", err);
    items[1].n = 2;
    check(av_cql_batch(c, 1, items, 3, AV_CQL_ONE, err) == AV_EINVAL,
          "batch with a short item is AV_EINVAL", err);
    av_cql_prepared_free(ins);
}

static void test_errors(struct av_cql *c)
{
    struct av_cql_result *r = NULL;
    struct av_cql_prepared *p = NULL;
    char err[AV_ERRBUF_SIZE];
    av_rc rc;

    rc = q(c, "SELEC * FROM " KS ".types", err);
    check(rc == AV_EREMOTE && strstr(err, "Syntax") && strstr(err, "SELEC"),
          "syntax error is AV_EREMOTE naming the problem", err);
    printf("     (%s)\n", err);
    rc = q(c, "SELECT * FROM " KS ".nope", err);
    check(rc == AV_EREMOTE && strstr(err, "Invalid") && strstr(err, "nope"),
          "unknown table is AV_EREMOTE (Invalid)", err);
    printf("     (%s)\n", err);
    rc = av_cql_prepare(c, "INSERT INTO " KS ".nope (a) VALUES (?)", &p, err);
    check(rc == AV_EREMOTE && p == NULL, "PREPARE of a bad statement is AV_EREMOTE", err);
    rc = av_cql_query(c, "SELECT * FROM " KS ".types", NULL, 0, 99, NULL, err);
    check(rc == AV_EINVAL, "unknown consistency is AV_EINVAL", err);
    /* a consistency the single node cannot meet: Unavailable, retryable */
    rc = q(c, "INSERT INTO " KS ".pages (p, c) VALUES (9, 9)", err);
    rc = av_cql_query(c, "SELECT * FROM " KS ".pages WHERE p = 9", NULL, 0, AV_CQL_THREE, &r,
                      err);
    check(rc == AV_ENET && strstr(err, "Unavailable"), "consistency THREE on one node is "
          "AV_ENET (Unavailable)", err);
    printf("     (%s)\n", err);
    av_cql_result_free(r);
    r = NULL;
    /* the connection is still fine after server errors */
    rc = av_cql_query(c, "USE " KS, NULL, 0, AV_CQL_ONE, &r, err);
    check(rc == AV_OK && av_cql_result_kind(r) == 3 && av_cql_result_keyspace(r) &&
              strcmp(av_cql_result_keyspace(r), KS) == 0,
          "USE gives Set_keyspace", err);
    av_cql_result_free(r);
    check(count_rows(c, "SELECT COUNT(*) FROM pages WHERE p = 1", err) == 25,
          "unqualified table after USE", err);
    /* Cassandra answers this with the warnings flag (0x08) and a warning
     * prefix before the RESULT; the script looks for our log line */
    check(count_rows(c, "SELECT COUNT(*) FROM " KS ".pages", err) == 32,
          "aggregate without partition key (answer carries a warning)", err);
}

static void test_big_and_ceiling(struct av_cql *c)
{
    struct av_cql_value v[2];
    struct av_cql_result *r = NULL;
    struct av_cql *small;
    char err[AV_ERRBUF_SIZE];
    char *big = malloc(200001);
    av_rc rc;

    if (big == NULL)
        return;
    for (int i = 0; i < 200000; i++)
        big[i] = (char)('a' + i % 26);
    big[200000] = '\0';
    v[0] = av_cql_int(50);
    v[1] = av_cql_text(big);
    rc = av_cql_query(c, "INSERT INTO " KS ".types (id, x) VALUES (?, ?)", v, 2, AV_CQL_ONE,
                      NULL, err);
    if (rc == AV_OK)
        rc = av_cql_query(c, "SELECT x FROM " KS ".types WHERE id = 50", NULL, 0, AV_CQL_ONE,
                          &r, err);
    if (rc == AV_OK && av_cql_result_get(r, 0, 0, &v[1]) == AV_OK)
        check(v[1].u.s.n == 200000 && memcmp(v[1].u.s.p, big, 200000) == 0,
              "200 kB text round trip", "differs");
    else
        check(0, "200 kB text round trip", err);
    av_cql_result_free(r);
    r = NULL;

    small = login(hosts, "cassandra", "cassandra", 4096, &rc, err);
    check(rc == AV_OK, "connect with max_frame 4096", err);
    if (small) {
        rc = av_cql_query(small, "SELECT x FROM " KS ".types WHERE id = 50", NULL, 0,
                          AV_CQL_ONE, &r, err);
        check(rc == AV_ELIMIT && r == NULL, "answer over max_frame is AV_ELIMIT", err);
        printf("     (%s)\n", err);
        rc = av_cql_query(small, "SELECT id FROM " KS ".types WHERE id = 7", NULL, 0,
                          AV_CQL_ONE, &r, err);
        check(rc == AV_OK && av_cql_result_rows(r) == 1,
              "same connection works again after AV_ELIMIT", err);
        av_cql_result_free(r);
        r = NULL;
        rc = av_cql_query(small, "INSERT INTO " KS ".types (id, x) VALUES (?, ?)", v, 2,
                          AV_CQL_ONE, NULL, err);
        check(rc == AV_ELIMIT, "request over max_frame is AV_ELIMIT, not sent", err);
        av_cql_close(small);
    }
    free(big);
}

static int phase_main(void)
{
    char err[AV_ERRBUF_SIZE];
    struct av_cql *c;
    av_rc rc;

    test_login();
    c = login(hosts, "cassandra", "cassandra", 0, &rc, err);
    check(rc == AV_OK, "connect with PasswordAuthenticator", err);
    if (c == NULL)
        return 1;
    printf("     (peer %s)\n", av_cql_peer(c));
    test_schema(c);
    test_types(c);
    test_paging(c);
    test_batch(c);
    test_errors(c);
    test_big_and_ceiling(c);
    av_cql_close(c);
    return 0;
}

static int phase_readback(void)
{
    struct av_cql_result *r = NULL;
    struct av_cql_value id = av_cql_int(8);
    char err[AV_ERRBUF_SIZE], detail[200];
    struct av_cql *c;
    av_rc rc;

    c = login(hosts, "cassandra", "cassandra", 0, &rc, err);
    if (c)
        rc = av_cql_query(c, "SELECT " COLS " FROM " KS ".types WHERE id = ?", &id, 1,
                          AV_CQL_ONE, &r, err);
    check(rc == AV_OK && same_row(r, 0, &row8, detail, sizeof(detail)),
          "row 8 written by python3-cassandra reads back identically",
          rc == AV_OK ? detail : err);
    av_cql_result_free(r);
    av_cql_close(c);
    return 0;
}

static int run(const char *what)
{
    const char *cmd = getenv(what);
    int st;

    if (cmd == NULL || *cmd == '\0') {
        check(0, what, "not set");
        return -1;
    }
    printf("     (running %s)\n", cmd);
    fflush(stdout);
    st = system(cmd);
    check(st == 0, what, cmd);
    return st;
}

static int phase_restart(void)
{
    struct av_cql_prepared *ins = NULL, *sel = NULL;
    struct av_cql_result *r = NULL;
    struct av_cql_value v[NCOLS], id = av_cql_int(7);
    char err[AV_ERRBUF_SIZE], detail[200];
    struct av_cql *c;
    av_rc rc;

    av_log_set_level(AV_LOG_DEBUG); /* the script looks for "re-preparing" */
    c = login(hosts, "cassandra", "cassandra", 0, &rc, err);
    check(rc == AV_OK, "connect", err);
    if (c == NULL)
        return 1;
    rc = av_cql_prepare(c, "INSERT INTO " KS ".types (" COLS ") VALUES "
                        "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", &ins, err);
    if (rc == AV_OK)
        rc = av_cql_prepare(c, "SELECT " COLS " FROM " KS ".types WHERE id = ?", &sel, err);
    check(rc == AV_OK, "prepare before the restart", err);
    if (rc != AV_OK)
        goto done;
    if (run("CQL_SMOKE_STOP") != 0)
        goto done;
    rc = q(c, "SELECT release_version FROM system.local", err);
    check(rc == AV_ENET, "query to a stopped node is AV_ENET", err);
    printf("     (%s)\n", err);
    check(av_cql_peer(c)[0] == '\0', "no peer while disconnected", av_cql_peer(c));
    rc = q(c, "SELECT release_version FROM system.local", err);
    check(rc == AV_ENET, "reconnect to a stopped node is AV_ENET", err);
    printf("     (%s)\n", err);
    if (run("CQL_SMOKE_START") != 0)
        goto done;
    /* the same connection object: reconnects, the wiped node gets the schema again */
    check(create_schema(c, err), "same connection recovers: schema again", err);
    printf("     (peer %s)\n", av_cql_peer(c));
    row_values(&row7, v);
    rc = av_cql_execute(c, ins, v, NCOLS, AV_CQL_ONE, 0, NULL, 0, NULL, err);
    check(rc == AV_OK, "old prepared INSERT is re-prepared (UNPREPARED) and runs", err);
    rc = av_cql_execute(c, sel, &id, 1, AV_CQL_ONE, 0, NULL, 0, &r, err);
    check(rc == AV_OK && same_row(r, 0, &row7, detail, sizeof(detail)),
          "old prepared SELECT is re-prepared and reads the row", rc == AV_OK ? detail : err);
    av_cql_result_free(r);
    {
        struct av_cql_batch_item it = { ins, v, NCOLS };
        check(av_cql_batch(c, 1, &it, 1, AV_CQL_ONE, err) == AV_OK, "batch after restart",
              err);
    }
done:
    av_cql_prepared_free(ins);
    av_cql_prepared_free(sel);
    av_cql_close(c);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s HOST:PORT main|readback|restart\n", argv[0]);
        return 2;
    }
    hosts = argv[1];
    if (strcmp(argv[2], "main") == 0)
        phase_main();
    else if (strcmp(argv[2], "readback") == 0)
        phase_readback();
    else if (strcmp(argv[2], "restart") == 0)
        phase_restart();
    else
        return 2;
    printf("cql-smoke %s: %d passed, %d failed\n", argv[2], passed, failed);
    return failed != 0;
}
