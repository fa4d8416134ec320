/* test_store.c - the SQLite state store and sink on real files: idempotent
 * upserts, latest publication wins, children replaced, nested transactions,
 * rejects, state, the schema generated from the dataset descriptions and
 * the migration of a file made by an older avalanche. */
#include <sqlite3.h>
#include <stdlib.h>

#include "../../src/core/json.h"
#include "../../src/sinks/sink.h"
#include "../../src/sinks/store.h"
#include "../../src/transforms/warning.h"
#include "harness.h"

static struct av_json j;
static struct av_xform x;
static struct av_warning w;

/* SYNTHETIC warning for region 3022, 2023-03-02, lang 2. */
static av_rc upsert(struct av_sink *k, const char *publish, const char *text, int nproblems,
                    const char *endpoint, int *changed)
{
    char json[1024], err[AV_ERRBUF_SIZE];
    av_rc rc;

    snprintf(json, sizeof(json),
             "{\"RegId\":1,\"RegionId\":3022,\"DangerLevel\":\"2\",\"LangKey\":2,"
             "\"ValidFrom\":\"2023-03-02T00:00:00\",\"PublishTime\":\"%s\","
             "\"MainText\":\"%s\",\"AvalancheProblems\":[%s],"
             "\"AvalancheAdvices\":[{\"AdviceID\":0,\"Text\":\"a\"}]}",
             publish, text,
             nproblems == 2 ? "{\"AvalancheProblemId\":1},{\"AvalancheProblemId\":2}"
             : nproblems == 1 ? "{\"AvalancheProblemId\":1}"
                              : "");
    rc = av_json_parse(&j, json, strlen(json), err);
    if (rc == AV_OK)
        rc = av_xform_warning(&x, &j, 0, 0, &w, err);
    w.endpoint = endpoint;
    w.ingested_at = 0;
    if (rc == AV_OK)
        rc = av_sink_put(k, &w, changed, err);
    if (rc != AV_OK)
        fprintf(stderr, "upsert: %s\n", err);
    return rc;
}

static int hole_str(void *ud, const struct av_hole *h)
{
    char *out = ud;
    size_t n = strlen(out);

    snprintf(out + n, 256 - n, "%d/%d/%s %lld-%lld@%lld;", h->region_id, h->lang, h->endpoint,
             (long long)h->from, (long long)h->to, (long long)h->since);
    return 0;
}

/* Every hole as "region/lang/endpoint from-to@since;". */
static void holes(struct av_store *s, char out[256])
{
    char err[AV_ERRBUF_SIZE];

    out[0] = '\0';
    if (av_store_each_hole(s, 0, 0, NULL, hole_str, out, err) != AV_OK)
        snprintf(out, 256, "error: %.200s", err);
}

struct seen {
    char main_text[128];
    int n, problems, advices;
};

static int collect(void *ud, const struct av_warning *ww)
{
    struct seen *s = ud;

    s->n++;
    snprintf(s->main_text, sizeof(s->main_text), "%s", ww->main_text ? ww->main_text : "");
    s->problems = ww->n_problems;
    s->advices = ww->n_advices;
    return 0;
}

static struct seen read_back(struct av_sink *k)
{
    struct av_query q = {NULL, 0, INT64_MIN, INT64_MAX, 0, AV_PART_PROBLEMS | AV_PART_ADVICES};
    struct seen r = {{0}, 0, 0, 0};
    char err[AV_ERRBUF_SIZE];

    CHECK(av_sink_read(k, &q, collect, &r, err) == AV_OK);
    return r;
}

static int open_both(const char *path, struct av_store **s, struct av_sink *k, char *err)
{
    struct av_conf c;
    const struct av_opt *const opts[] = {av_store_opts, av_sink_opts, NULL};
    int ok;

    *s = NULL;
    if (av_conf_init(&c, opts, err) != AV_OK)
        return 0;
    ok = av_store_open(s, path, &c, err) == AV_OK &&
         av_sink_open(k, &(struct av_sink_env){&c, *s, NULL}, err) == AV_OK;
    av_conf_free(&c);
    return ok;
}

/* The tables as SQLite describes them, columns sorted by name: a fresh
 * file and a migrated one must agree (column order aside). */
static char *schema_of(const char *path)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    struct av_buf b;

    av_buf_init(&b, 0);
    sqlite3_open(path, &db);
    sqlite3_prepare_v2(db,
                       "SELECT m.name, p.name, p.type, p.\"notnull\", p.pk FROM sqlite_master m, "
                       "pragma_table_info(m.name) p WHERE m.type IN ('table', 'view') "
                       "ORDER BY m.name, p.name",
                       -1, &st, NULL);
    while (sqlite3_step(st) == SQLITE_ROW)
        av_buf_printf(&b, "%s.%s %s %d %d\n", sqlite3_column_text(st, 0),
                      sqlite3_column_text(st, 1), sqlite3_column_text(st, 2),
                      sqlite3_column_int(st, 3), sqlite3_column_int(st, 4));
    sqlite3_finalize(st);
    sqlite3_close(db);
    return b.data;
}

/* The DDL of schema version 3 exactly as avalanche 0.1.0 (3dfe610) wrote
 * it: history, kept here to prove that its files migrate. */
static const char *const v3_ddl =
    "CREATE TABLE raw_response (id INTEGER PRIMARY KEY, source TEXT NOT NULL, endpoint TEXT "
    "NOT NULL, lang INTEGER, api_version TEXT, url TEXT NOT NULL, region_id INTEGER, "
    "from_date TEXT, to_date TEXT, fetched_at TEXT NOT NULL, http_status INTEGER, body BLOB "
    "NOT NULL);"
    "CREATE TABLE warning (region_id INTEGER NOT NULL, valid_date TEXT NOT NULL, lang INTEGER "
    "NOT NULL, reg_id INTEGER, previous_reg_id INTEGER, region_name TEXT, region_type TEXT, "
    "danger_level INTEGER NOT NULL CHECK (danger_level BETWEEN 0 AND 5), danger_level_name "
    "TEXT, valid_from TEXT NOT NULL, valid_to TEXT, publish_time TEXT, next_warning_time TEXT, "
    "danger_increase_time TEXT, danger_decrease_time TEXT, main_text TEXT, avalanche_danger "
    "TEXT, emergency_warning TEXT, snow_surface TEXT, current_weak_layers TEXT, "
    "latest_avalanche_activity TEXT, latest_observations TEXT, author TEXT, is_tendency "
    "INTEGER, utm_zone INTEGER, utm_east INTEGER, utm_north INTEGER, county_ids TEXT, "
    "municipality_ids TEXT, endpoint TEXT NOT NULL, raw_hash TEXT, raw_id INTEGER, "
    "ingested_at TEXT NOT NULL, PRIMARY KEY (region_id, valid_date, lang));"
    "CREATE TABLE problem (region_id INTEGER NOT NULL, valid_date TEXT NOT NULL, lang INTEGER "
    "NOT NULL, problem_id INTEGER NOT NULL, problem_type_id INTEGER, problem_type_name TEXT, "
    "avalanche_type_id INTEGER, avalanche_type_name TEXT, ext_id INTEGER, ext_name TEXT, "
    "cause_id INTEGER, cause_name TEXT, probability_id INTEGER, probability_name TEXT, "
    "trigger_simple_id INTEGER, trigger_simple_name TEXT, trigger_sensitivity_id INTEGER, "
    "trigger_sensitivity_name TEXT, destructive_size_id INTEGER, destructive_size_name TEXT, "
    "propagation_id INTEGER, propagation_name TEXT, aspects_raw TEXT, aspects TEXT, "
    "exposed_height_fill INTEGER, exposed_height_1 INTEGER, exposed_height_2 INTEGER, "
    "exposed_min_m INTEGER, exposed_max_m INTEGER, exposed_heights TEXT, danger_level "
    "INTEGER, danger_level_name TEXT, text TEXT, PRIMARY KEY (region_id, valid_date, lang, "
    "problem_id)) WITHOUT ROWID;"
    "CREATE TABLE advice (region_id INTEGER NOT NULL, valid_date TEXT NOT NULL, lang INTEGER "
    "NOT NULL, advice_id INTEGER NOT NULL, image_url TEXT, text TEXT, PRIMARY KEY (region_id, "
    "valid_date, lang, advice_id)) WITHOUT ROWID;"
    "CREATE TABLE mountain_weather (region_id INTEGER NOT NULL, valid_date TEXT NOT NULL, lang "
    "INTEGER NOT NULL, last_saved TEXT, cloud_cover_id INTEGER, cloud_cover_name TEXT, comment "
    "TEXT, texts TEXT, rain_most_exposed_mm NUMERIC, rain_average_mm NUMERIC, wind_speed "
    "NUMERIC, wind_direction NUMERIC, wind_shift_speed NUMERIC, wind_shift_direction NUMERIC, "
    "wind_shift_start_hour NUMERIC, wind_shift_end_hour NUMERIC, temperature_min_c NUMERIC, "
    "temperature_max_c NUMERIC, temperature_masl NUMERIC, freezing_level_masl NUMERIC, "
    "freezing_level_start_hour NUMERIC, freezing_level_end_hour NUMERIC, rain_snow_line_masl "
    "NUMERIC, rain_snow_line_start_hour NUMERIC, rain_snow_line_end_hour NUMERIC, other TEXT, "
    "PRIMARY KEY (region_id, valid_date, lang));"
    "CREATE TABLE rejected (id INTEGER PRIMARY KEY, stage TEXT NOT NULL, reason TEXT NOT NULL, "
    "region_id INTEGER, lang INTEGER, raw_id INTEGER, raw TEXT, hash TEXT NOT NULL, first_seen "
    "TEXT NOT NULL, last_seen TEXT NOT NULL, seen INTEGER NOT NULL DEFAULT 1, UNIQUE (stage, "
    "hash));"
    "CREATE TABLE fetch_state (region_id INTEGER NOT NULL, lang INTEGER NOT NULL, endpoint "
    "TEXT NOT NULL, last_date TEXT, last_fetch TEXT, last_status TEXT, last_error TEXT, "
    "PRIMARY KEY (region_id, lang, endpoint));"
    "CREATE TABLE run (id INTEGER PRIMARY KEY, kind TEXT NOT NULL, args TEXT, pid INTEGER, "
    "started_at TEXT NOT NULL, ended_at TEXT, status TEXT NOT NULL, units_total INTEGER "
    "DEFAULT 0, units_ok INTEGER DEFAULT 0, units_rejected INTEGER DEFAULT 0, units_failed "
    "INTEGER DEFAULT 0, warnings_stored INTEGER DEFAULT 0, warnings_unchanged INTEGER DEFAULT "
    "0, warnings_rejected INTEGER DEFAULT 0, error TEXT);"
    "CREATE TABLE run_region (run_id INTEGER NOT NULL, region_id INTEGER NOT NULL, units_ok "
    "INTEGER NOT NULL, units_rejected INTEGER NOT NULL, units_failed INTEGER NOT NULL, "
    "warnings_stored INTEGER NOT NULL, warnings_unchanged INTEGER NOT NULL, warnings_rejected "
    "INTEGER NOT NULL, error TEXT, PRIMARY KEY (run_id, region_id)) WITHOUT ROWID;"
    "ALTER TABLE run ADD COLUMN requests INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE run ADD COLUMN retries INTEGER NOT NULL DEFAULT 0;"
    "INSERT INTO warning (region_id, valid_date, lang, danger_level, valid_from, endpoint, "
    "main_text, raw_hash, ingested_at) VALUES (3022, '2023-03-02', 2, 3, "
    "'2023-03-01T23:00:00.000Z', 'detail', 'from 0.1.0', 'h', '2023-03-02T00:00:00.000Z');"
    "INSERT INTO raw_response (source, endpoint, url, fetched_at, body) VALUES ('varsom', "
    "'detail', 'u', '2023-03-02T00:00:00.000Z', 'legacy-body');"
    "PRAGMA user_version = 3;";

struct big_check {
    char mids[32];
    int n, ok;
};

/* The middle byte of each 40,000-byte body read back; ok = the rest intact. */
static int big_cat(void *ud, int64_t raw_id, const struct av_raw_meta *m, const char *body,
                   size_t len)
{
    struct big_check *c = ud;

    (void)raw_id;
    (void)m;
    if (len != 40000)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (i != len / 2 && body[i] != 'x')
            c->ok = 0;
    if (c->n < 31)
        c->mids[c->n] = body[len / 2];
    c->n++;
    return 0;
}

static int raw_cat(void *ud, int64_t raw_id, const struct av_raw_meta *m, const char *body,
                   size_t len)
{
    char *out = ud;
    size_t n = strlen(out);

    (void)raw_id;
    (void)m;
    snprintf(out + n, 256 - n, "%.*s;", (int)len, body);
    return 0;
}

static void migration(void)
{
    char err[AV_ERRBUF_SIZE], old[512], fresh[512], *a, *b;
    struct av_store *s;
    struct av_sink k;
    sqlite3 *db;

    snprintf(old, sizeof(old), "%s/v3.db", t_tmpdir());
    snprintf(fresh, sizeof(fresh), "%s/fresh.db", t_tmpdir());
    CHECK(sqlite3_open(old, &db) == SQLITE_OK);
    CHECK(sqlite3_exec(db, v3_ddl, NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(db);
    CHECK(open_both(old, &s, &k, err));
    {
        struct seen r = read_back(&k);
        CHECK_INT(r.n, 1);
        CHECK_STR(r.main_text, "from 0.1.0"); /* the data survived */
    }
    /* raw bodies: the old row keeps its inline body, new ones are kept once
     * per distinct content */
    {
        struct av_raw_meta m = {"varsom", "detail", 2, NULL, "u", 3022, INT64_MIN, INT64_MIN,
                                0, 200};
        struct av_raw_stats rs;
        char got[256] = "";
        int64_t id;
        CHECK(av_store_raw_put(s, &m, "[1]", 3, &id, err) == AV_OK);
        CHECK(av_store_raw_put(s, &m, "[1]", 3, &id, err) == AV_OK);
        CHECK(av_store_raw_put(s, &m, "[2]", 3, &id, err) == AV_OK);
        CHECK(av_store_raw_put(s, &m, "", 0, &id, err) == AV_OK);
        CHECK(av_store_each_raw(s, raw_cat, got, err) == AV_OK);
        CHECK_STR(got, "legacy-body;[1];[1];[2];;");
        CHECK(av_store_raw_stats(s, &rs, err) == AV_OK);
        CHECK_INT(rs.responses, 5);
        CHECK_INT(rs.bodies, 4);
        CHECK_INT(rs.bytes, 17);
    }
    /* large bodies that differ only in the middle share a lookup key (its
     * hash reads the ends): each is still kept, byte for byte, also past
     * the 8 that may share one key; an identical one is not kept twice */
    {
        enum { BIG = 40000, N = 12 };
        struct av_raw_meta m = {"varsom", "detail", 2, NULL, "u", 3022, INT64_MIN, INT64_MIN,
                                0, 200};
        struct av_raw_stats before, after;
        struct big_check bc = {{0}, 0, 1};
        char *body = malloc(BIG);
        int64_t id;
        CHECK(av_store_raw_stats(s, &before, err) == AV_OK);
        memset(body, 'x', BIG);
        for (int i = 0; i < N; i++) {
            body[BIG / 2] = (char)('a' + i); /* SYNTHETIC: only the middle byte differs */
            CHECK(av_store_raw_put(s, &m, body, BIG, &id, err) == AV_OK);
        }
        body[BIG / 2] = 'a';
        CHECK(av_store_raw_put(s, &m, body, BIG, &id, err) == AV_OK); /* the first again */
        CHECK(av_store_raw_stats(s, &after, err) == AV_OK);
        CHECK_INT(after.responses - before.responses, N + 1);
        CHECK_INT(after.bodies - before.bodies, N);
        CHECK(av_store_each_raw(s, big_cat, &bc, err) == AV_OK);
        CHECK_INT(bc.n, N + 1);
        CHECK(bc.ok);
        CHECK_STR(bc.mids, "abcdefghijkla");
        free(body);
    }
    av_sink_close(&k);
    av_store_close(s);
    CHECK(open_both(fresh, &s, &k, err));
    av_sink_close(&k);
    av_store_close(s);
    a = schema_of(old);
    b = schema_of(fresh);
    /* names stored once: the base table holds ids, the view the texts */
    CHECK(a && b && strstr(a, "warning_rows.county_names INTEGER 0 0") != NULL);
    CHECK(a && b && strstr(a, "\nwarning.county_names ") != NULL);
    CHECK(a && b && strstr(a, "\nnames.value TEXT 1 0") != NULL);
    CHECK(a && b && strcmp(a, b) == 0);
    if (a && b && strcmp(a, b) != 0)
        fprintf(stderr, "migrated:\n%s\nfresh:\n%s\n", a, b);
    free(a);
    free(b);
    CHECK(sqlite3_open(old, &db) == SQLITE_OK);
    {
        sqlite3_stmt *st;
        sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL);
        CHECK(sqlite3_step(st) == SQLITE_ROW);
        CHECK_INT(sqlite3_column_int(st, 0), av_store_schema_version());
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
}

/* Every field a version added after its table must be addable by ALTER
 * TABLE (nullable, no key) and within the store's schema version. */
static void descriptions(void)
{
    CHECK(av_datasets_version() <= av_store_schema_version());
    for (int d = 0; av_datasets[d]; d++) {
        const struct av_dataset *ds = av_datasets[d];
        int keys = 0, addable = 1, documented = 1, unique = 1;
        for (int i = 0; i < ds->nfields; i++) {
            const struct av_field *f = &ds->fields[i];
            if (f->since > ds->since && (f->flags & (AV_FF_KEY | AV_FF_NOTNULL)))
                addable = 0;
            if (f->since < ds->since || f->doc == NULL || f->doc[0] == '\0')
                documented = 0;
            keys += (f->flags & AV_FF_KEY) != 0;
            for (int k = 0; k < i; k++)
                if (strcmp(ds->fields[k].name, f->name) == 0)
                    unique = 0;
        }
        CHECK(addable);    /* ALTER TABLE ADD COLUMN can add every later field */
        CHECK(documented); /* with a version and a meaning */
        CHECK(unique);
        CHECK_INT(keys, ds->nkeys);
        if (ds->rule == AV_RULE_RANKED || ds->rule == AV_RULE_REPLACE) {
            /* flat (the weather): region first, a RANKED one has its roles */
            CHECK(ds->parent == NULL && ds->elem_size > 0);
            CHECK_STR(av_ds_key(ds, 0)->name, "region_id");
            if (ds->rule == AV_RULE_RANKED)
                CHECK(av_ds_role(ds, AV_FF_RANK) && av_ds_role(ds, AV_FF_VERSION));
            continue;
        }
        /* the warning's key opens every child's key */
        for (int k = 0; k <= AV_KEY_LANG; k++)
            CHECK(strcmp(av_ds_key(ds, k)->name, av_ds_key(&av_ds_warning, k)->name) == 0);
    }
    CHECK(av_ds_role(&av_ds_warning, AV_FF_VERSION) != NULL);
    CHECK(av_ds_role(&av_ds_warning, AV_FF_HASH) != NULL);
    CHECK(av_ds_role(&av_ds_warning, AV_FF_SOURCE) != NULL);
    CHECK(av_dataset_find("problems") == &av_ds_problem && av_dataset_find("nope") == NULL);
}

void suite_store(void)
{
    struct av_store *s = NULL;
    struct av_sink k = {NULL, NULL};
    char err[AV_ERRBUF_SIZE], path[512];
    int changed = -1;
    int64_t last;
    long n;

    av_json_init(&j, 0, 0);
    av_xform_init(&x);
    descriptions();
    snprintf(path, sizeof(path), "%s/store.db", t_tmpdir());
    CHECK(open_both(path, &s, &k, err));
    if (s == NULL || k.ops == NULL)
        return;
    CHECK_STR(av_sink_name(&k), "sqlite");

    CHECK(av_sink_begin(&k, err) == AV_OK);
    CHECK(upsert(&k, "2023-03-01T15:00:00", "first", 2, "detail", &changed) == AV_OK);
    CHECK_INT(changed, 1);
    /* the same record again: nothing changes */
    CHECK(upsert(&k, "2023-03-01T15:00:00", "first", 2, "detail", &changed) == AV_OK);
    CHECK_INT(changed, 0);
    /* re-issued later the same day: replaces, children follow */
    CHECK(upsert(&k, "2023-03-02T09:11:14.2", "reissued", 1, "detail", &changed) == AV_OK);
    CHECK_INT(changed, 1);
    /* an older publication replayed: ignored */
    CHECK(upsert(&k, "2023-03-01T15:00:00", "first", 2, "detail", &changed) == AV_OK);
    CHECK_INT(changed, 0);
    /* same publication from the Simple endpoint: never replaces Detail */
    CHECK(upsert(&k, "2023-03-02T09:11:14.2", "simple text", 0, "simple", &changed) == AV_OK);
    CHECK_INT(changed, 0);
    CHECK(av_sink_commit(&k, err) == AV_OK);
    {
        struct seen r = read_back(&k);
        CHECK_INT(r.n, 1);
        CHECK_STR(r.main_text, "reissued");
        CHECK_INT(r.problems, 1);
        CHECK_INT(r.advices, 1); /* replaced, not doubled */
    }
    {
        struct av_query all = {NULL, 0, INT64_MIN, INT64_MAX, 0, 0};
        int other = 3011;
        struct av_query none = {&other, 1, INT64_MIN, INT64_MAX, 0, 0};
        CHECK(av_sink_count(&k, &av_ds_problem, &all, &n, err) == AV_OK);
        CHECK_INT(n, 1);
        CHECK(av_sink_count(&k, &av_ds_warning, &none, &n, err) == AV_OK);
        CHECK_INT(n, 0);
        /* a read that asks for no children gets none */
        all.parts = 0;
        struct seen r = {{0}, 0, 0, 0};
        CHECK(av_sink_read(&k, &all, collect, &r, err) == AV_OK);
        CHECK(r.n == 1 && r.problems == 0 && r.advices == 0);
    }

    /* rejects are deduplicated by content */
    CHECK(av_store_reject(s, "transform", "bad", 3022, 2, "{}", 2, 0, 0, err) == AV_OK);
    CHECK(av_store_reject(s, "transform", "bad", 3022, 2, "{}", 2, 0, 0, err) == AV_OK);
    CHECK(av_store_count(s, "rejected", &n, err) == AV_OK);
    CHECK_INT(n, 1);

    /* fetch state only moves forward */
    CHECK(av_store_state_get(s, 3022, 2, "detail", &last, err) == AV_OK);
    CHECK_INT(last, -1);
    CHECK(av_store_state_put(s, 3022, 2, "detail", 19420, 0, "ok", NULL, err) == AV_OK);
    CHECK(av_store_state_put(s, 3022, 2, "detail", 19410, 0, "ok", NULL, err) == AV_OK);
    CHECK(av_store_state_put(s, 3022, 2, "detail", -1, 0, "failed", "x", err) == AV_OK);
    CHECK(av_store_state_get(s, 3022, 2, "detail", &last, err) == AV_OK);
    CHECK_INT(last, 19420);

    /* holes merge with overlapping and adjacent ones and split when part
     * of them is stored; the oldest 'since' is kept */
    {
        char got[256];
        CHECK(av_store_hole_add(s, 3022, 2, "detail", 10, 20, 5000, err) == AV_OK);
        CHECK(av_store_hole_add(s, 3022, 2, "detail", 21, 25, 9000, err) == AV_OK);
        CHECK(av_store_hole_add(s, 3022, 2, "detail", 30, 30, 7000, err) == AV_OK);
        CHECK(av_store_hole_add(s, 3022, 1, "detail", 12, 12, 1000, err) == AV_OK);
        CHECK(av_store_hole_add(s, 3022, 2, "simple", 12, 12, 1000, err) == AV_OK);
        holes(s, got);
        CHECK_STR(got, "3022/1/detail 12-12@1000;3022/2/detail 10-25@5000;"
                       "3022/2/detail 30-30@7000;3022/2/simple 12-12@1000;");
        CHECK(av_store_hole_clear(s, 3022, 2, "detail", 12, 13, err) == AV_OK);
        CHECK(av_store_hole_clear(s, 3022, 2, "detail", 25, 29, err) == AV_OK);
        holes(s, got);
        CHECK_STR(got, "3022/1/detail 12-12@1000;3022/2/detail 10-11@5000;"
                       "3022/2/detail 14-24@5000;3022/2/detail 30-30@7000;"
                       "3022/2/simple 12-12@1000;");
        CHECK(av_store_hole_add(s, 3022, 2, "detail", 8, 31, 8000, err) == AV_OK);
        holes(s, got);
        CHECK_STR(got, "3022/1/detail 12-12@1000;3022/2/detail 8-31@5000;"
                       "3022/2/simple 12-12@1000;");
        CHECK(av_store_hole_clear(s, 3022, 2, "detail", 0, 100, err) == AV_OK);
        CHECK(av_store_hole_clear(s, 3022, 1, "detail", 12, 12, err) == AV_OK);
        CHECK(av_store_hole_clear(s, 3022, 2, "simple", 11, 11, err) == AV_OK);
        holes(s, got);
        CHECK_STR(got, "3022/2/simple 12-12@1000;");
        CHECK(av_store_hole_clear(s, 3022, 2, "simple", 12, 12, err) == AV_OK);
        holes(s, got);
        CHECK_STR(got, "");
    }

    /* a rolled-back transaction leaves nothing */
    CHECK(av_sink_begin(&k, err) == AV_OK);
    CHECK(upsert(&k, "2023-03-05T09:00:00", "rolled back", 0, "detail", &changed) == AV_OK);
    av_sink_rollback(&k);
    CHECK_STR(read_back(&k).main_text, "reissued");

    /* the sink's transaction nests in the store's: the outer commit decides,
     * an inner rollback ends both and the outer commit then fails */
    CHECK(av_store_begin(s, err) == AV_OK);
    CHECK(av_sink_begin(&k, err) == AV_OK);
    CHECK(upsert(&k, "2023-03-05T09:00:00", "nested", 0, "detail", &changed) == AV_OK);
    CHECK(av_sink_commit(&k, err) == AV_OK);
    CHECK(av_store_state_put(s, 3022, 2, "detail", 19430, 0, "ok", NULL, err) == AV_OK);
    CHECK(av_store_commit(s, err) == AV_OK);
    CHECK_STR(read_back(&k).main_text, "nested");
    CHECK(av_store_begin(s, err) == AV_OK);
    CHECK(av_sink_begin(&k, err) == AV_OK);
    CHECK(upsert(&k, "2023-03-06T09:00:00", "dropped", 0, "detail", &changed) == AV_OK);
    av_sink_rollback(&k);
    CHECK(av_store_state_put(s, 3022, 2, "detail", 19440, 0, "ok", NULL, err) == AV_OK);
    CHECK(av_store_commit(s, err) == AV_EIO); /* nothing to commit: rolled back */
    CHECK_STR(read_back(&k).main_text, "nested");

    /* reprocess's clearing, inside a transaction that is rolled back */
    CHECK(av_sink_begin(&k, err) == AV_OK);
    CHECK(av_sink_clear(&k, err) == AV_OK);
    CHECK_INT(read_back(&k).n, 0);
    av_sink_rollback(&k);
    CHECK_INT(read_back(&k).n, 1);
    av_sink_close(&k);
    av_store_close(s);

    /* reopen: schema is there, data survived */
    s = NULL;
    CHECK(open_both(path, &s, &k, err));
    if (s) {
        CHECK_STR(read_back(&k).main_text, "nested");
        av_sink_close(&k);
        av_store_close(s);
    }

    /* a database from a newer program is refused, not touched; so is a
     * version no avalanche writes (a tampered file: it used to index the
     * migrations out of bounds) */
    {
        static const char *const bad[] = {"99", "-1", "-1000"};
        for (int i = 0; i < 3; i++) {
            char sql[64], want[64];
            sqlite3 *db;
            snprintf(sql, sizeof(sql), "PRAGMA user_version = %s", bad[i]);
            sqlite3_open(path, &db);
            sqlite3_exec(db, sql, NULL, NULL, NULL);
            sqlite3_close(db);
            s = NULL;
            CHECK(av_store_open(&s, path, NULL, err) == AV_EIO);
            snprintf(want, sizeof(want), "schema version %s", bad[i]);
            CHECK(strstr(err, want) != NULL);
            CHECK(s == NULL);
        }
    }
    /* not a database at all */
    {
        char bad[512];
        FILE *f;
        snprintf(bad, sizeof(bad), "%s/notadb.db", t_tmpdir());
        f = fopen(bad, "w");
        fputs("this is not sqlite, just a text file that is long enough to look like one\n"
              "..............................................................................",
              f);
        fclose(f);
        CHECK(av_store_open(&s, bad, NULL, err) == AV_EIO);
        CHECK(strstr(err, "notadb.db") != NULL);
    }
    CHECK(av_store_open(&s, "/nonexistent-dir/x.db", NULL, err) == AV_EIO);
    CHECK(strstr(err, "/nonexistent-dir/x.db") != NULL);
    migration();
    av_json_free(&j);
    av_xform_free(&x);
}
