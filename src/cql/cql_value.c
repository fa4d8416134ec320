/* cql_value.c - the bind value constructors of cql.h (av_cql_null,
 * av_cql_unset, av_cql_int, ..., av_cql_list_text) and
 * av_cql_consistency_parse.
 *
 * Plain values, no I/O, no allocation: text and list values point at the
 * caller's strings, which must outlive the request they are bound to.
 * Nothing fails here; range checks happen when a value is written to the
 * wire (av_cql_put_value, AV_EINVAL). av_cql_consistency_parse() answers
 * -1 for a name it does not know.
 */
#include "cql.h"

#include <string.h>
#include <strings.h>

#include "cql_frame.h"

/* ---- values and names -------------------------------------------------- */

struct av_cql_value av_cql_null(void)
{
    struct av_cql_value v;

    memset(&v, 0, sizeof(v));
    v.type = AV_CQL_NULL;
    return v;
}

struct av_cql_value av_cql_unset(void)
{
    struct av_cql_value v = av_cql_null();

    v.type = AV_CQL_UNSET;
    return v;
}

static struct av_cql_value num(enum av_cql_type t, int64_t i)
{
    struct av_cql_value v = av_cql_null();

    v.type = t;
    v.u.i = i;
    return v;
}

struct av_cql_value av_cql_int(int32_t v) { return num(AV_CQL_INT, v); }
struct av_cql_value av_cql_bigint(int64_t v) { return num(AV_CQL_BIGINT, v); }
struct av_cql_value av_cql_smallint(int16_t v) { return num(AV_CQL_SMALLINT, v); }
struct av_cql_value av_cql_tinyint(int8_t v) { return num(AV_CQL_TINYINT, v); }
struct av_cql_value av_cql_bool(int v) { return num(AV_CQL_BOOLEAN, v != 0); }
struct av_cql_value av_cql_timestamp(int64_t ms) { return num(AV_CQL_TIMESTAMP, ms); }
struct av_cql_value av_cql_date(int64_t days) { return num(AV_CQL_DATE, days); }

struct av_cql_value av_cql_double(double d)
{
    struct av_cql_value v = av_cql_null();

    v.type = AV_CQL_DOUBLE;
    v.u.d = d;
    return v;
}

struct av_cql_value av_cql_text(const char *s)
{
    struct av_cql_value v = av_cql_null();

    if (s == NULL)
        return v;
    v.type = AV_CQL_TEXT;
    v.u.s.p = s;
    v.u.s.n = strlen(s);
    return v;
}

struct av_cql_value av_cql_list_text(const char *const *items, int n)
{
    struct av_cql_value v = av_cql_null();

    v.type = AV_CQL_LIST_TEXT;
    v.u.list.items = items;
    v.u.list.n = n;
    return v;
}

int av_cql_consistency_parse(const char *name)
{
    if (name == NULL)
        return -1;
    for (int cl = AV_CQL_ANY; cl <= AV_CQL_LOCAL_ONE; cl++)
        if (strcasecmp(name, av_cql_consistency_name(cl)) == 0)
            return cl;
    return -1;
}
