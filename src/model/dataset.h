/* dataset.h - the one description of each dataset: its fields, their types,
 * where they live in the records of record.h, and what they mean.
 *
 * Everything that spells a column comes from here: the SQLite DDL,
 * migrations, binds and reads (src/sinks/sqlite*.c), the Cassandra DDL,
 * binds and reads (src/sinks/cassandra*.c), the CSV/JSONL export
 * (src/sinks/export.c), `avalanche datasets` and docs/datasets.md (a test
 * checks it against `avalanche datasets --markdown`). Adding a column is
 * one line in dataset.c naming the schema version that adds it (`since`):
 * existing SQLite files get it by a generated ALTER TABLE, Cassandra
 * tables when the sink opens. Pure data; nothing here fails.
 *
 * The datasets: warnings (one per region, local date and language) and
 * its children problems, advices and mountain_weather, whose first three
 * key fields are the warning's (region_id, valid_date, lang: AV_KEY_*).
 *
 * Publication history (av_ds_version, rule VERSION): one record per
 * distinct publication of a warning, key (region_id, valid_date, lang,
 * publish_time), written by the same put as the warning. It is a mode of
 * the warnings: `export warnings|problems --history` lists every version
 * with its version number, first_seen and superseded_at (DERIVED fields,
 * computed by the reader), `--as-of T` the latest publication not after T
 * per key. Its `record` holds the whole warning (children included) as
 * JSON (src/sinks/record_json.h) where the clean tables do not: the SQLite
 * sink leaves it NULL for the version the clean tables hold (each
 * publication costs one small row until it is superseded), Cassandra,
 * which cannot read before it writes, always fills it. The order of
 * versions is the clean tables' rule (av_pub_replaces below).
 */
#ifndef AV_DATASET_H
#define AV_DATASET_H

#include <stddef.h>

#include "record.h"

enum av_ftype {
    AV_FT_I8,      /* int (Cassandra tinyint) */
    AV_FT_I32,     /* int */
    AV_FT_I64,     /* int64_t */
    AV_FT_BOOL,    /* int 0/1 */
    AV_FT_TEXT,    /* const char * */
    AV_FT_CHARS,   /* char[size] inside the record; "" = absent */
    AV_FT_NUMTEXT, /* const char *: a number as the API sent it, or a word */
    AV_FT_TIME,    /* av_ms, a UTC instant: "YYYY-MM-DDTHH:MM:SS.sssZ" */
    AV_FT_DATE,    /* int64_t days since 1970-01-01: "YYYY-MM-DD" */
    AV_FT_ASPECTS, /* int, AV_ASPECT_* bits: "N,NE" (CSV, SQLite), ["N","NE"] */
    AV_FT_F64,     /* double, NaN = absent; written in the shortest exact form */
    AV_FT_WXSRC    /* int AV_WX_ARCHIVE/AV_WX_FORECAST/0: "archive", "forecast", "mixed" */
};

#define AV_FF_KEY 0x01      /* part of the natural key (never null) */
#define AV_FF_NOTNULL 0x02  /* never null */
#define AV_FF_PARENT 0x04   /* lives in the parent warning (a child's key) */
#define AV_FF_LOCAL 0x08    /* bookkeeping of the embedded store: SQLite only, not exported */
#define AV_FF_NOEXPORT 0x10 /* kept by every sink, left out of the export */
#define AV_FF_VERSION 0x20  /* the publication instant: the latest one wins */
#define AV_FF_HASH 0x40     /* content hash: storing an identical record changes nothing */
#define AV_FF_SOURCE 0x80   /* endpoint: a "simple" never replaces the "detail" of a publication */
#define AV_FF_RANK 0x100    /* weather source: archive replaces forecast, never the reverse */
#define AV_FF_DERIVED 0x200 /* computed when read (history); no sink stores it */
#define AV_FF_RECORD 0x400  /* the whole warning as JSON: no member, the sink binds it */
#define AV_FF_EARLIEST 0x800 /* of several copies of a record the earliest value stays */
/* A name: a text (TEXT or CHARS only) with few distinct values, stored once.
 * The SQLite sink keeps each distinct value once (table `names`) and the
 * row its integer id, reading it back through a view with the documented
 * table and column names (sqlite_int.h); marking a field is the whole
 * change (existing files are converted when opened). Cassandra and the
 * exports ignore it: the value is the same text everywhere. */
#define AV_FF_NAME 0x1000

/* How a record replaces the stored one with the same key. */
enum av_ds_rule {
    AV_RULE_PUBLICATION, /* warnings: the latest publication wins (VERSION, HASH, SOURCE) */
    AV_RULE_CHILD,       /* replaced with its parent warning */
    AV_RULE_RANKED,      /* per value: the higher RANK (then the later VERSION) wins, and a
                            null never replaces a value */
    AV_RULE_REPLACE,     /* the newer record replaces the stored one (derived data) */
    AV_RULE_VERSION      /* publication history: one record per VERSION value of a key;
                            within one, PUBLICATION's rule; first_seen the earliest */
};

struct av_field {
    const char *name;
    enum av_ftype type;
    unsigned flags;
    size_t off;  /* in the dataset's record, or in struct av_warning (AV_FF_PARENT) */
    size_t size; /* AV_FT_CHARS: bytes of the array */
    int since;   /* schema version that added the field (1 = the first) */
    int lo, hi;  /* allowed integer range when lo < hi (a CHECK in SQLite) */
    const char *doc;
};

struct av_dataset {
    const char *name;  /* export name: "warnings" */
    const char *table; /* SQLite table: "warning" */
    const char *doc;
    const struct av_field *fields;
    int nfields;
    int nkeys;  /* key fields (the first nkeys with AV_FF_KEY, in field order) */
    int since;  /* schema version that created the table */
    int rowid;  /* SQLite: a rowid table (else WITHOUT ROWID) */
    unsigned part; /* its AV_PART_* bit */
    enum av_ds_rule rule;
    /* children: where their records live in struct av_warning */
    const struct av_dataset *parent;
    size_t count_off, array_off, elem_size;
    int max;
    /* export: JSONL records nest this child's records (without the parent's
     * key) under nest_key; CSV rows count them in a column nest_count */
    const struct av_dataset *nest;
    const char *nest_key, *nest_count;
};

enum { AV_KEY_REGION = 0, AV_KEY_DATE = 1, AV_KEY_LANG = 2 };
enum { AV_PART_WARNING = 1, AV_PART_PROBLEMS = 2, AV_PART_ADVICES = 4, AV_PART_WEATHER = 8,
       AV_PART_WX_HOURLY = 16, AV_PART_WX_DAILY = 32, AV_PART_VERSIONS = 64 };
#define AV_PART_WARNINGS (AV_PART_WARNING | AV_PART_PROBLEMS | AV_PART_ADVICES | AV_PART_WEATHER)

extern const struct av_dataset av_ds_warning, av_ds_problem, av_ds_advice, av_ds_weather;
/* The weather datasets (records of src/model/weather.h; rule RANKED and
 * REPLACE; keys region_id first). */
extern const struct av_dataset av_ds_wx_hourly, av_ds_wx_daily;
/* The publication history of the warnings (fields in struct av_warning). */
extern const struct av_dataset av_ds_version;
/* Every dataset, parents first (the warnings' family, then the weather,
 * then the warnings' history), then NULL. */
extern const struct av_dataset *const av_datasets[];
/* The children of the warning, in av_datasets order, then NULL. */
extern const struct av_dataset *const av_ds_children[];
/* `export features` (src/export/features.h): a dataset computed when
 * exported from the history and the hourly weather, stored by no sink
 * (table NULL, part 0), so not in av_datasets; its record is struct
 * av_feature, its description in dataset_features.c. */
extern const struct av_dataset av_ds_features;
/* What `avalanche datasets` and docs/datasets.md list: av_datasets, then
 * the computed ones (av_ds_features), then NULL. */
extern const struct av_dataset *const av_datasets_described[];

/* By export name ("problems"), or NULL. */
const struct av_dataset *av_dataset_find(const char *name);
/* The k-th key field (AV_KEY_* for the shared part). */
const struct av_field *av_ds_key(const struct av_dataset *ds, int k);
/* The field with one of the AV_FF_VERSION/HASH/SOURCE roles, or NULL. */
const struct av_field *av_ds_role(const struct av_dataset *ds, unsigned flag);
/* Highest `since` of any field or dataset: the schema version they need. */
int av_datasets_version(void);

/* ---- the order of publications (pure; every sink and the history) ----
 * A publication: its PublishTime (AV_NULL_MS when the API sent none: it
 * comes before every dated one, as in the clean tables), its endpoint
 * ("detail"/"simple") and its content hash (NULL = unknown). */
struct av_pub {
    av_ms publish_time;
    const char *endpoint;
    const char *hash;
};
/* <0, 0, >0 as a's PublishTime is before, equal to, after b's (absent
 * first). */
int av_pub_cmp(av_ms a, av_ms b);
/* The clean tables' rule: whether incoming replaces stored. Not when the
 * content is the same (equal hashes); else when it is a later
 * publication, or the same one unless a Simple would replace a Detail. */
int av_pub_replaces(const struct av_pub *incoming, const struct av_pub *stored);

/* One stored version of a key, as a history read sees it. */
struct av_version_meta {
    av_ms publish_time, first_seen;
    int version;          /* set by av_versions_order */
    av_ms superseded_at;  /* set by av_versions_order */
};
/* Sorts the n versions of one key by publication (absent first) and sets
 * version (1..n) and superseded_at (the next one's publish_time; AV_NULL_MS
 * for the last). */
void av_versions_order(struct av_version_meta *v, int n);
/* The version a reader at instant t knew of, from versions ordered by
 * av_versions_order: the latest whose publish_time is not after t (one
 * without a publish_time counts from its first_seen). -1 when none. */
int av_versions_as_of(const struct av_version_meta *v, int n, av_ms t);

/* Records of ds held by w: 1 for the warning itself. */
static inline int av_ds_count(const struct av_dataset *ds, const struct av_warning *w)
{
    return ds->parent ? *(const int *)((const char *)w + ds->count_off) : 1;
}

/* The k-th record of ds in w (w itself for the warning). */
static inline void *av_ds_record(const struct av_dataset *ds, const struct av_warning *w, int k)
{
    if (ds->parent == NULL)
        return (void *)w;
    return (char *)w + ds->array_off + (size_t)k * ds->elem_size;
}

/* Where field f's value is: in rec, or in the warning for parent keys. */
static inline void *av_field_ptr(const struct av_field *f, const struct av_warning *w,
                                 const void *rec)
{
    return (char *)(f->flags & AV_FF_PARENT ? (const void *)w : rec) + f->off;
}

/* ---- values, for every store and format alike ----
 * A store keeps a field as an integer (av_field_is_integer) or as text.
 * The getters read the value at p (from av_field_ptr), the setters write
 * it; text setters parse what the getters format (instants, dates,
 * aspects) and copy strings into pool. */

struct av_pool;

/* True when the value at p is absent. (Inline: every bind and read asks.) */
static inline int av_field_is_null(const struct av_field *f, const void *p)
{
    switch (f->type) {
    case AV_FT_I64:
        return *(const int64_t *)p == AV_NULL_INT;
    case AV_FT_TIME:
        return *(const av_ms *)p == AV_NULL_MS;
    case AV_FT_DATE:
    case AV_FT_WXSRC:
        return 0;
    case AV_FT_F64:
        return *(const double *)p != *(const double *)p; /* NaN */
    case AV_FT_TEXT:
    case AV_FT_NUMTEXT:
        return *(const char *const *)p == NULL;
    case AV_FT_CHARS:
        return *(const char *)p == '\0';
    default:
        return *(const int *)p == AV_NULL_INT;
    }
}

/* I8, I32, I64, BOOL: integers in every store. */
static inline int av_field_is_integer(const struct av_field *f)
{
    return f->type == AV_FT_I8 || f->type == AV_FT_I32 || f->type == AV_FT_I64 ||
           f->type == AV_FT_BOOL;
}

/* The integer of I8/I32/I64/BOOL, the bits of ASPECTS, the ms of TIME, the
 * days of DATE (not for text types). */
static inline int64_t av_field_get_int(const struct av_field *f, const void *p)
{
    switch (f->type) {
    case AV_FT_I64:
    case AV_FT_TIME:
    case AV_FT_DATE:
        return *(const int64_t *)p;
    case AV_FT_I8:
    case AV_FT_I32:
    case AV_FT_BOOL:
    case AV_FT_ASPECTS:
    case AV_FT_WXSRC:
        return *(const int *)p;
    default:
        return AV_NULL_INT;
    }
}
/* The double of F64 (NaN when absent). */
static inline double av_field_get_f64(const struct av_field *f, const void *p)
{
    return f->type == AV_FT_F64 ? *(const double *)p : (double)av_field_get_int(f, p);
}
void av_field_set_f64(const struct av_field *f, void *p, double v);
/* The shortest text that reads back as v (%.15g to %.17g). */
void av_f64_format(double v, char out[32]);
/* The value as text: the string itself, or formatted into tmp; NULL when
 * absent. */
const char *av_field_get_text(const struct av_field *f, const void *p, char tmp[32]);
void av_field_set_null(const struct av_field *f, void *p);
/* The counterpart of av_field_get_int(). */
void av_field_set_int(const struct av_field *f, void *p, int64_t v);
/* The counterpart of av_field_get_text() (s: n bytes, not NUL-terminated);
 * text that does not parse sets the value absent. */
void av_field_set_text(const struct av_field *f, void *p, const char *s, size_t n,
                       struct av_pool *pool);
/* Checks a record read back from a store against the description: every
 * integer within its range (lo..hi). AV_EPARSE with one line naming the
 * record (w's key) and the field when not: a store changed outside
 * avalanche is as hostile as the network. */
av_rc av_ds_check(const struct av_dataset *ds, const struct av_warning *w, const void *rec,
                  char *errbuf);
/* Sets every field of rec that ds keeps there (not the parent's key) to
 * absent (dates to 0). */
void av_ds_clear(const struct av_dataset *ds, void *rec);

#endif
