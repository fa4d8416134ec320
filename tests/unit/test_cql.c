/* test_cql.c - the CQL v4 codec (src/cql/cql_wire.c, cql_result.c,
 * cql_error.c) against byte vectors worked out by hand from
 * apache/cassandra doc/native_protocol_v4.spec, plus malformed input
 * (truncations, lying lengths, negative counts) that must give an error and
 * never crash. cql_conn.c is tested here against a fake
 * node (a forked child that answers each request with canned frames) for
 * the failure paths, and against a real node by
 * tests/integration/test_cql_node.sh. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../src/cql/cql.h"
#include "../../src/cql/cql_frame.h"
#include "harness.h"

#define LEN(a) (sizeof(a) / sizeof((a)[0]))

static void check_bytes(const char *what, int line, const uint8_t *got, size_t n,
                        const uint8_t *want, size_t wn)
{
    t_checks++;
    if (got != NULL && n == wn && memcmp(got, want, n) == 0)
        return;
    t_failed++;
    fprintf(stderr, "%s:%d: %s: got %zu bytes", __FILE__, line, what, n);
    for (size_t i = 0; got && i < n && i < 64; i++)
        fprintf(stderr, " %02x", got[i]);
    fprintf(stderr, "\n    expected %zu bytes", wn);
    for (size_t i = 0; i < wn && i < 64; i++)
        fprintf(stderr, " %02x", want[i]);
    fprintf(stderr, "\n");
}

#define CHECK_BYTES(what, got, n, want) check_bytes(what, __LINE__, got, n, want, sizeof(want))

/* Encodes one value as a [value]; checks the bytes. */
static void check_value(int line, struct av_cql_value v, const uint8_t *want, size_t wn)
{
    struct av_cql_w w;
    const uint8_t *p;
    size_t n;

    av_cql_w_init(&w, 1 << 20);
    av_cql_w_begin(&w, AV_CQL_OP_QUERY, 0);
    av_cql_put_value(&w, &v);
    t_checks++;
    if (av_cql_w_end(&w) != AV_OK) {
        t_failed++;
        fprintf(stderr, "%s:%d: value type %d did not encode\n", __FILE__, line, v.type);
    } else {
        p = av_cql_w_body(&w, &n);
        check_bytes("value", line, p, n, want, wn);
    }
    av_cql_w_free(&w);
}

#define CHECK_VALUE(v, ...)                                                               \
    do {                                                                                  \
        static const uint8_t want_[] = { __VA_ARGS__ };                                   \
        check_value(__LINE__, v, want_, sizeof(want_));                                   \
    } while (0)

static av_rc encode_rc(struct av_cql_value v)
{
    struct av_cql_w w;
    av_rc rc;

    av_cql_w_init(&w, 1 << 20);
    av_cql_w_begin(&w, AV_CQL_OP_QUERY, 0);
    av_cql_put_value(&w, &v);
    rc = av_cql_w_end(&w);
    av_cql_w_free(&w);
    return rc;
}

static void test_header(void)
{
    static const uint8_t want[] = { 0x04, 0x00, 0x00, 0x01, 0x07, 0x00, 0x00, 0x00, 0x12 };
    static const uint8_t ev[] = { 0x84, 0x02, 0xff, 0xff, 0x0c, 0x00, 0x00, 0x00, 0x05 };
    static const uint8_t big[] = { 0x84, 0x00, 0x00, 0x00, 0x08, 0x01, 0x00, 0x00, 0x01 };
    static const uint8_t v3[] = { 0x83, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10 };
    struct av_cql_header h = { AV_CQL_VERSION, 0, 1, AV_CQL_OP_QUERY, 0x12 }, d;
    uint8_t out[AV_CQL_HEADER_LEN];
    char err[AV_ERRBUF_SIZE];

    av_cql_header_encode(out, &h);
    CHECK_BYTES("header", out, sizeof(out), want);
    CHECK(av_cql_header_decode(&d, ev, sizeof(ev), 1 << 20, err) == AV_OK);
    CHECK_INT(d.version, 0x84);
    CHECK_INT(d.flags, AV_CQL_F_TRACING);
    CHECK_INT(d.stream, -1);
    CHECK_INT(d.opcode, AV_CQL_OP_EVENT);
    CHECK_INT(d.length, 5);
    /* round trip of a negative stream */
    h.stream = -2;
    av_cql_header_encode(out, &h);
    CHECK(out[2] == 0xff && out[3] == 0xfe);
    CHECK(av_cql_header_decode(&d, out, sizeof(out), 100, err) == AV_OK && d.stream == -2);
    /* a header is 9 bytes; fewer is malformed */
    for (size_t n = 0; n < AV_CQL_HEADER_LEN; n++)
        CHECK(av_cql_header_decode(&d, ev, n, 1 << 20, err) == AV_EPARSE);
    /* 16 MiB + 1 over a 16 MiB ceiling: AV_ELIMIT, before trusting it */
    CHECK(av_cql_header_decode(&d, big, sizeof(big), (size_t)16 << 20, err) == AV_ELIMIT);
    CHECK(strstr(err, "16777217") != NULL);
    CHECK(av_cql_header_decode(&d, big, sizeof(big), (size_t)32 << 20, err) == AV_OK);
    CHECK(av_cql_header_decode(&d, v3, sizeof(v3), 1 << 20, err) == AV_EPARSE);
    CHECK(strstr(err, "v3") != NULL);
}

static void test_values(void)
{
    static const char *const items[] = { "a", "bc" };
    struct av_cql_value v;

    CHECK_VALUE(av_cql_int(7), 0, 0, 0, 4, 0, 0, 0, 7);
    CHECK_VALUE(av_cql_int(-1), 0, 0, 0, 4, 0xff, 0xff, 0xff, 0xff);
    CHECK_VALUE(av_cql_bigint(1), 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 1);
    CHECK_VALUE(av_cql_bigint(INT64_MIN), 0, 0, 0, 8, 0x80, 0, 0, 0, 0, 0, 0, 0);
    CHECK_VALUE(av_cql_smallint(-2), 0, 0, 0, 2, 0xff, 0xfe);
    CHECK_VALUE(av_cql_tinyint(-128), 0, 0, 0, 1, 0x80);
    CHECK_VALUE(av_cql_bool(1), 0, 0, 0, 1, 1);
    CHECK_VALUE(av_cql_bool(42), 0, 0, 0, 1, 1);
    CHECK_VALUE(av_cql_bool(0), 0, 0, 0, 1, 0);
    CHECK_VALUE(av_cql_double(1.5), 0, 0, 0, 8, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0);
    CHECK_VALUE(av_cql_text("abc"), 0, 0, 0, 3, 'a', 'b', 'c');
    CHECK_VALUE(av_cql_text(""), 0, 0, 0, 0);
    CHECK_VALUE(av_cql_text(NULL), 0xff, 0xff, 0xff, 0xff);
    CHECK_VALUE(av_cql_null(), 0xff, 0xff, 0xff, 0xff);
    v.type = AV_CQL_UNSET;
    CHECK_VALUE(v, 0xff, 0xff, 0xff, 0xfe);
    CHECK_VALUE(av_cql_unset(), 0xff, 0xff, 0xff, 0xfe); /* [value] -2: unset */
    /* date: days since 1970-01-01 + 2^31, as an unsigned 32-bit number */
    CHECK_VALUE(av_cql_date(0), 0, 0, 0, 4, 0x80, 0, 0, 0);
    CHECK_VALUE(av_cql_date(-1), 0, 0, 0, 4, 0x7f, 0xff, 0xff, 0xff);
    CHECK_VALUE(av_cql_date(19000), 0, 0, 0, 4, 0x80, 0, 0x4a, 0x38); /* 2022-01-08 */
    /* timestamp: ms since the epoch; 1700000000000 = 0x18bcfe56800 */
    CHECK_VALUE(av_cql_timestamp(1700000000000LL), 0, 0, 0, 8, 0, 0, 0x01, 0x8b, 0xcf, 0xe5,
                0x68, 0x00);
    CHECK_VALUE(av_cql_timestamp(-1), 0, 0, 0, 8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                0xff);
    /* list<text>: [int] total, [int] n, n x [bytes] */
    CHECK_VALUE(av_cql_list_text(items, 2), 0, 0, 0, 15, 0, 0, 0, 2, 0, 0, 0, 1, 'a', 0, 0,
                0, 2, 'b', 'c');
    CHECK_VALUE(av_cql_list_text(NULL, 0), 0, 0, 0, 4, 0, 0, 0, 0);
    memset(&v, 0, sizeof(v));
    v.type = AV_CQL_UUID;
    for (int i = 0; i < 16; i++)
        v.u.uuid[i] = (uint8_t)(0xa0 + i);
    CHECK_VALUE(v, 0, 0, 0, 16, 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9,
                0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf);
    v.type = AV_CQL_BLOB;
    v.u.s.p = "\0\1";
    v.u.s.n = 2;
    CHECK_VALUE(v, 0, 0, 0, 2, 0, 1);
    /* out of range for the type */
    v = av_cql_int(0);
    v.u.i = (int64_t)1 << 40;
    CHECK(encode_rc(v) == AV_EINVAL);
    v = av_cql_smallint(0);
    v.u.i = 40000;
    CHECK(encode_rc(v) == AV_EINVAL);
    v = av_cql_tinyint(0);
    v.u.i = 128;
    CHECK(encode_rc(v) == AV_EINVAL);
    CHECK(encode_rc(av_cql_date((int64_t)1 << 31)) == AV_EINVAL);
    CHECK(encode_rc(av_cql_list_text(NULL, 2)) == AV_EINVAL);
    {
        static const char *const with_null[] = { "a", NULL };
        CHECK(encode_rc(av_cql_list_text(with_null, 2)) == AV_EINVAL);
    }
    v.type = (enum av_cql_type)99;
    CHECK(encode_rc(v) == AV_EINVAL);
}

static void test_requests(void)
{
    /* STARTUP {"CQL_VERSION": "3.0.0"}: body 22 bytes */
    static const uint8_t startup[] = {
        0x04, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x16,
        0x00, 0x01,
        0x00, 0x0b, 'C', 'Q', 'L', '_', 'V', 'E', 'R', 'S', 'I', 'O', 'N',
        0x00, 0x05, '3', '.', '0', '.', '0',
    };
    /* QUERY "SELECT v FROM t WHERE k=?" ONE, flags values|page_size|paging_state */
    static const uint8_t query[] = {
        0x00, 0x00, 0x00, 0x19, 'S', 'E', 'L', 'E', 'C', 'T', ' ', 'v', ' ', 'F', 'R', 'O',
        'M', ' ', 't', ' ', 'W', 'H', 'E', 'R', 'E', ' ', 'k', '=', '?',
        0x00, 0x01,             /* consistency ONE */
        0x0d,                   /* flags 0x01 | 0x04 | 0x08 */
        0x00, 0x01,             /* one value */
        0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x07,
        0x00, 0x00, 0x00, 0x0a, /* page size 10 */
        0x00, 0x00, 0x00, 0x02, 0xab, 0xcd,
    };
    /* the same without values or paging: consistency QUORUM, flags 0 */
    static const uint8_t bare[] = { 0x00, 0x00, 0x00, 0x01, 'X', 0x00, 0x04, 0x00 };
    static const char *const k[] = { "CQL_VERSION" }, *const vs[] = { "3.0.0" };
    static const uint8_t ps[] = { 0xab, 0xcd };
    struct av_cql_value one = av_cql_int(7);
    const char *q = "SELECT v FROM t WHERE k=?";
    struct av_cql_w w;
    const uint8_t *p;
    size_t n;

    av_cql_w_init(&w, 1 << 20);
    av_cql_w_begin(&w, AV_CQL_OP_STARTUP, 0);
    av_cql_put_string_map(&w, k, vs, 1);
    CHECK(av_cql_w_end(&w) == AV_OK);
    CHECK_BYTES("STARTUP frame", (const uint8_t *)w.b.data, w.b.len, startup);

    av_cql_w_begin(&w, AV_CQL_OP_QUERY, 0);
    av_cql_put_long_string(&w, q, strlen(q));
    av_cql_put_query_params(&w, AV_CQL_ONE, &one, 1, 10, ps, sizeof(ps));
    CHECK(av_cql_w_end(&w) == AV_OK);
    p = av_cql_w_body(&w, &n);
    CHECK_BYTES("QUERY body", p, n, query);
    CHECK_INT(w.b.data[4], AV_CQL_OP_QUERY);
    CHECK_INT((uint8_t)w.b.data[8], sizeof(query));

    av_cql_w_begin(&w, AV_CQL_OP_QUERY, 0);
    av_cql_put_long_string(&w, "X", 1);
    av_cql_put_query_params(&w, AV_CQL_QUORUM, NULL, 0, 0, NULL, 0);
    CHECK(av_cql_w_end(&w) == AV_OK);
    p = av_cql_w_body(&w, &n);
    CHECK_BYTES("bare QUERY body", p, n, bare);
    av_cql_w_free(&w);

    /* a frame over the ceiling is AV_ELIMIT, and sticks */
    av_cql_w_init(&w, 16);
    av_cql_w_begin(&w, AV_CQL_OP_QUERY, 0);
    av_cql_put_long_string(&w, q, strlen(q));
    av_cql_put_int(&w, 1);
    CHECK(av_cql_w_end(&w) == AV_ELIMIT);
    CHECK(w.why != NULL);
    av_cql_w_free(&w);
}

/* Rows: global spec ks.t, columns k int and v text, two rows, one null. */
static const uint8_t rows_body[] = {
    0x00, 0x00, 0x00, 0x02,             /* kind Rows */
    0x00, 0x00, 0x00, 0x01,             /* flags Global_tables_spec */
    0x00, 0x00, 0x00, 0x02,             /* 2 columns */
    0x00, 0x02, 'k', 's', 0x00, 0x01, 't',
    0x00, 0x01, 'k', 0x00, 0x09,        /* k int */
    0x00, 0x01, 'v', 0x00, 0x0d,        /* v varchar */
    0x00, 0x00, 0x00, 0x02,             /* 2 rows */
    0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x01,
    0x00, 0x00, 0x00, 0x02, 'h', 'i',
    0x00, 0x00, 0x00, 0x04, 0xff, 0xff, 0xff, 0xfe,
    0xff, 0xff, 0xff, 0xff,             /* null */
};

static void test_rows(void)
{
    struct av_cql_result *r = NULL;
    struct av_cql_value v;
    char err[AV_ERRBUF_SIZE];
    size_t plen;

    CHECK(av_cql_result_decode(&r, rows_body, sizeof(rows_body), err) == AV_OK);
    CHECK_INT(av_cql_result_kind(r), 2);
    CHECK_INT(av_cql_result_rows(r), 2);
    CHECK_INT(av_cql_result_columns(r), 2);
    CHECK_STR(av_cql_result_column_name(r, 0), "k");
    CHECK_STR(av_cql_result_column_name(r, 1), "v");
    CHECK(av_cql_result_column_name(r, 2) == NULL);
    CHECK(av_cql_result_column_type(r, 0) == AV_CQL_INT);
    CHECK(av_cql_result_column_type(r, 1) == AV_CQL_TEXT);
    CHECK(av_cql_result_get(r, 0, 0, &v) == AV_OK && v.type == AV_CQL_INT && v.u.i == 1);
    CHECK(av_cql_result_get(r, 0, 1, &v) == AV_OK && v.type == AV_CQL_TEXT);
    CHECK(v.u.s.n == 2 && memcmp(v.u.s.p, "hi", 2) == 0);
    CHECK(av_cql_result_get(r, 1, 0, &v) == AV_OK && v.u.i == -2);
    CHECK(av_cql_result_get(r, 1, 1, &v) == AV_OK && v.type == AV_CQL_NULL);
    CHECK(av_cql_result_get(r, 2, 0, &v) == AV_EINVAL);
    CHECK(av_cql_result_get(r, 0, -1, &v) == AV_EINVAL);
    CHECK(av_cql_result_paging(r, &plen) == NULL && plen == 0);
    CHECK(av_cql_result_keyspace(r) == NULL);
    av_cql_result_free(r);

    /* every proper prefix is malformed: an error, never a crash */
    for (size_t n = 0; n < sizeof(rows_body); n++) {
        uint8_t *copy = malloc(n ? n : 1); /* exact size: ASan sees any overread */
        r = NULL;
        memcpy(copy, rows_body, n);
        t_checks++;
        if (av_cql_result_decode(&r, copy, n, err) != AV_EPARSE || r != NULL) {
            t_failed++;
            fprintf(stderr, "%s:%d: Rows body cut at %zu decoded\n", __FILE__, __LINE__, n);
            av_cql_result_free(r);
        }
        free(copy);
    }
    CHECK(av_cql_result_decode(&r, rows_body, 20, err) == AV_EPARSE);
    CHECK(strstr(err, "malformed CQL body") != NULL);
}

static void test_rows_types(void)
{
    /* has_more_pages, per-column table specs, nested types, all on one row */
    static const uint8_t body[] = {
        0x00, 0x00, 0x00, 0x02,
        0x00, 0x00, 0x00, 0x02,             /* flags Has_more_pages */
        0x00, 0x00, 0x00, 0x06,             /* 6 columns */
        0x00, 0x00, 0x00, 0x03, 0x01, 0x02, 0x03, /* paging state */
        0x00, 0x01, 'k', 0x00, 0x01, 't', 0x00, 0x01, 'a',
        0x00, 0x20, 0x00, 0x0d,             /* list<varchar> */
        0x00, 0x01, 'k', 0x00, 0x01, 't', 0x00, 0x01, 'b',
        0x00, 0x11,                         /* date */
        0x00, 0x01, 'k', 0x00, 0x01, 't', 0x00, 0x01, 'c',
        0x00, 0x21, 0x00, 0x0d, 0x00, 0x22, 0x00, 0x09, /* map<text, set<int>> */
        0x00, 0x01, 'k', 0x00, 0x01, 't', 0x00, 0x01, 'd',
        0x00, 0x30, 0x00, 0x01, 'k', 0x00, 0x01, 'u', 0x00, 0x01, /* UDT k.u {f int} */
        0x00, 0x01, 'f', 0x00, 0x09,
        0x00, 0x01, 'k', 0x00, 0x01, 't', 0x00, 0x01, 'e',
        0x00, 0x31, 0x00, 0x02, 0x00, 0x02, 0x00, 0x00, 0x00, 0x01, 'X', /* tuple<bigint,X> */
        0x00, 0x01, 'k', 0x00, 0x01, 't', 0x00, 0x01, 'f',
        0x00, 0x0c,                         /* uuid */
        0x00, 0x00, 0x00, 0x01,             /* 1 row */
        0x00, 0x00, 0x00, 0x0f, 0x00, 0x00, 0x00, 0x02, /* ["x", "yz"] */
        0x00, 0x00, 0x00, 0x01, 'x', 0x00, 0x00, 0x00, 0x02, 'y', 'z',
        0x00, 0x00, 0x00, 0x04, 0x7f, 0xff, 0xff, 0xfe, /* 1969-12-30 */
        0x00, 0x00, 0x00, 0x02, 0xaa, 0xbb,
        0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x10, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
    };
    static const uint8_t paging[] = { 1, 2, 3 };
    struct av_cql_result *r = NULL;
    struct av_cql_value v;
    char err[AV_ERRBUF_SIZE];
    const char *p;
    size_t n;
    const uint8_t *ps;

    CHECK(av_cql_result_decode(&r, body, sizeof(body), err) == AV_OK);
    CHECK_INT(av_cql_result_columns(r), 6);
    CHECK(av_cql_result_column_type(r, 0) == AV_CQL_LIST_TEXT);
    CHECK(av_cql_result_column_type(r, 1) == AV_CQL_DATE);
    CHECK(av_cql_result_column_type(r, 2) == AV_CQL_OTHER);
    CHECK(av_cql_result_column_type(r, 3) == AV_CQL_OTHER);
    CHECK(av_cql_result_column_type(r, 4) == AV_CQL_OTHER);
    CHECK(av_cql_result_column_type(r, 5) == AV_CQL_UUID);
    ps = av_cql_result_paging(r, &n);
    CHECK_BYTES("paging state", ps, n, paging);
    CHECK(av_cql_result_get(r, 0, 0, &v) == AV_OK && v.type == AV_CQL_LIST_TEXT);
    CHECK(v.u.list.n == 2 && v.u.list.items == NULL);
    CHECK(av_cql_result_list_item(r, 0, 0, 1, &p, &n) == AV_OK && n == 2);
    CHECK(memcmp(p, "yz", 2) == 0);
    CHECK(av_cql_result_list_item(r, 0, 0, 0, &p, &n) == AV_OK && n == 1 && *p == 'x');
    CHECK(av_cql_result_list_item(r, 0, 0, 2, &p, &n) == AV_EPARSE);
    CHECK(av_cql_result_list_item(r, 0, 1, 0, &p, &n) == AV_EPARSE); /* not a list */
    CHECK(av_cql_result_get(r, 0, 1, &v) == AV_OK && v.type == AV_CQL_DATE && v.u.i == -2);
    CHECK(av_cql_result_get(r, 0, 2, &v) == AV_OK && v.type == AV_CQL_OTHER);
    CHECK(v.u.s.n == 2 && (uint8_t)v.u.s.p[0] == 0xaa);
    CHECK(av_cql_result_get(r, 0, 5, &v) == AV_OK && v.type == AV_CQL_UUID);
    CHECK(v.u.uuid[0] == 0 && v.u.uuid[15] == 15);
    av_cql_result_free(r);
}

static void test_other_results(void)
{
    static const uint8_t prepared[] = {
        0x00, 0x00, 0x00, 0x04,             /* kind Prepared */
        0x00, 0x02, 0xca, 0xfe,             /* id */
        0x00, 0x00, 0x00, 0x01,             /* flags Global_tables_spec */
        0x00, 0x00, 0x00, 0x02,             /* 2 bind markers */
        0x00, 0x00, 0x00, 0x01, 0x00, 0x00, /* pk: marker 0 */
        0x00, 0x02, 'k', 's', 0x00, 0x01, 't',
        0x00, 0x01, 'k', 0x00, 0x09,
        0x00, 0x01, 'v', 0x00, 0x0d,
        0x00, 0x00, 0x00, 0x04,             /* result metadata: No_metadata */
        0x00, 0x00, 0x00, 0x00,
    };
    static const uint8_t set_ks[] = { 0, 0, 0, 3, 0, 2, 'k', 's' };
    static const uint8_t schema[] = {
        0, 0, 0, 5, 0, 7, 'C', 'R', 'E', 'A', 'T', 'E', 'D', 0, 5, 'T', 'A', 'B', 'L', 'E',
        0, 2, 'k', 's', 0, 1, 't',
    };
    static const uint8_t schema_ks[] = {
        0, 0, 0, 5, 0, 7, 'D', 'R', 'O', 'P', 'P', 'E', 'D', 0, 8, 'K', 'E', 'Y', 'S', 'P',
        'A', 'C', 'E', 0, 2, 'k', 's',
    };
    static const uint8_t schema_fn[] = {
        0, 0, 0, 5, 0, 7, 'U', 'P', 'D', 'A', 'T', 'E', 'D', 0, 8, 'F', 'U', 'N', 'C', 'T',
        'I', 'O', 'N', 0, 2, 'k', 's', 0, 1, 'f', 0, 1, 0, 3, 'i', 'n', 't',
    };
    static const uint8_t void_body[] = { 0, 0, 0, 1 };
    static const uint8_t bad_kind[] = { 0, 0, 0, 9 };
    static const uint8_t id[] = { 0xca, 0xfe };
    struct av_cql_result *r = NULL;
    char err[AV_ERRBUF_SIZE];

    CHECK(av_cql_result_decode(&r, prepared, sizeof(prepared), err) == AV_OK);
    CHECK_INT(av_cql_result_kind(r), 4);
    CHECK_INT(r->nparams, 2);
    CHECK_BYTES("prepared id", r->prep_id, r->prep_id_len, id);
    CHECK_STR(r->params[1].name, "v");
    CHECK(r->params[0].type == AV_CQL_INT);
    CHECK_INT(av_cql_result_columns(r), 0);
    CHECK_INT(av_cql_result_rows(r), 0);
    av_cql_result_free(r);
    for (size_t n = 0; n < sizeof(prepared); n++) {
        r = NULL;
        CHECK(av_cql_result_decode(&r, prepared, n, err) == AV_EPARSE && r == NULL);
    }

    CHECK(av_cql_result_decode(&r, set_ks, sizeof(set_ks), err) == AV_OK);
    CHECK_INT(av_cql_result_kind(r), 3);
    CHECK_STR(av_cql_result_keyspace(r), "ks");
    av_cql_result_free(r);

    CHECK(av_cql_result_decode(&r, schema, sizeof(schema), err) == AV_OK);
    CHECK_INT(av_cql_result_kind(r), 5);
    CHECK_STR(av_cql_result_keyspace(r), "ks");
    CHECK_STR(r->change_type, "CREATED");
    CHECK_STR(r->target, "TABLE");
    CHECK_STR(r->name, "t");
    av_cql_result_free(r);
    CHECK(av_cql_result_decode(&r, schema_ks, sizeof(schema_ks), err) == AV_OK);
    CHECK_STR(av_cql_result_keyspace(r), "ks");
    CHECK(r->name == NULL);
    av_cql_result_free(r);
    CHECK(av_cql_result_decode(&r, schema_fn, sizeof(schema_fn), err) == AV_OK);
    CHECK_STR(r->name, "f");
    av_cql_result_free(r);
    CHECK(av_cql_result_decode(&r, schema_fn, sizeof(schema_fn) - 1, err) == AV_EPARSE);

    CHECK(av_cql_result_decode(&r, void_body, sizeof(void_body), err) == AV_OK);
    CHECK_INT(av_cql_result_kind(r), 1);
    CHECK_INT(av_cql_result_rows(r), 0);
    av_cql_result_free(r);
    r = NULL;
    CHECK(av_cql_result_decode(&r, bad_kind, sizeof(bad_kind), err) == AV_EPARSE);
    CHECK(r == NULL);
    CHECK(strstr(err, "kind 9") != NULL);
    av_cql_result_free(NULL);
}

static void test_errors(void)
{
    static const uint8_t syntax[] = {
        0x00, 0x00, 0x20, 0x00, 0x00, 0x0d, 'l', 'i', 'n', 'e', ' ', '1', ':', '0', ' ',
        'o', 'o', 'p', 's',
    };
    static const uint8_t unavailable[] = {
        0x00, 0x00, 0x10, 0x00, 0x00, 0x04, 'd', 'o', 'w', 'n',
        0x00, 0x04,             /* QUORUM */
        0x00, 0x00, 0x00, 0x03, /* required */
        0x00, 0x00, 0x00, 0x01, /* alive */
    };
    static const uint8_t unprepared[] = {
        0x00, 0x00, 0x25, 0x00, 0x00, 0x02, 'n', 'o', 0x00, 0x02, 0xca, 0xfe,
    };
    static const uint8_t exists[] = {
        0x00, 0x00, 0x24, 0x00, 0x00, 0x01, 'x', 0x00, 0x02, 'k', 's', 0x00, 0x00,
    };
    static const uint8_t wtimeout[] = {
        0x00, 0x00, 0x11, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x01, 0x00, 0x06, 'S', 'I', 'M', 'P', 'L', 'E',
    };
    static const uint8_t multiline[] = {
        0x00, 0x00, 0x22, 0x00, 0x00, 0x05, 'a', '\n', 'b', '\r', 'c',
    };
    static const uint8_t id[] = { 0xca, 0xfe };
    struct av_cql_error e;
    char err[AV_ERRBUF_SIZE];

    CHECK(av_cql_error_decode(&e, multiline, sizeof(multiline), err) == AV_OK);
    CHECK(av_cql_error_report(&e, err) == AV_EREMOTE);
    CHECK_STR(err, "cassandra Invalid error (0x2200): a b c"); /* one line */

    CHECK(av_cql_error_decode(&e, syntax, sizeof(syntax), err) == AV_OK);
    CHECK_INT(e.code, 0x2000);
    CHECK(av_cql_error_report(&e, err) == AV_EREMOTE);
    CHECK_STR(err, "cassandra Syntax error (0x2000): line 1:0 oops");

    CHECK(av_cql_error_decode(&e, unavailable, sizeof(unavailable), err) == AV_OK);
    CHECK_INT(e.cl, AV_CQL_QUORUM);
    CHECK_INT(e.required, 3);
    CHECK_INT(e.alive, 1);
    CHECK(av_cql_error_report(&e, err) == AV_ENET);
    CHECK_STR(err, "cassandra Unavailable error (0x1000): down (QUORUM: 3 required, 1 alive)");
    for (size_t n = 0; n < sizeof(unavailable); n++)
        CHECK(av_cql_error_decode(&e, unavailable, n, err) == AV_EPARSE);

    CHECK(av_cql_error_decode(&e, unprepared, sizeof(unprepared), err) == AV_OK);
    CHECK_INT(e.code, AV_CQL_E_UNPREPARED);
    CHECK_BYTES("unprepared id", e.id, e.id_len, id);
    CHECK(av_cql_error_report(&e, err) == AV_EREMOTE);

    CHECK(av_cql_error_decode(&e, exists, sizeof(exists), err) == AV_OK);
    CHECK(e.ks_len == 2 && memcmp(e.ks, "ks", 2) == 0 && e.table_len == 0);
    CHECK(av_cql_error_rc(e.code) == AV_EREMOTE);

    CHECK(av_cql_error_decode(&e, wtimeout, sizeof(wtimeout), err) == AV_OK);
    CHECK(e.write_type_len == 6 && memcmp(e.write_type, "SIMPLE", 6) == 0);
    CHECK(av_cql_error_report(&e, err) == AV_ENET);
    CHECK(av_cql_error_decode(&e, wtimeout, sizeof(wtimeout) - 1, err) == AV_EPARSE);

    /* the classification of cql.h */
    CHECK(av_cql_error_rc(AV_CQL_E_SERVER) == AV_ENET);
    CHECK(av_cql_error_rc(AV_CQL_E_OVERLOADED) == AV_ENET);
    CHECK(av_cql_error_rc(AV_CQL_E_BOOTSTRAPPING) == AV_ENET);
    CHECK(av_cql_error_rc(AV_CQL_E_TRUNCATE) == AV_ENET);
    CHECK(av_cql_error_rc(AV_CQL_E_READ_TIMEOUT) == AV_ENET);
    CHECK(av_cql_error_rc(AV_CQL_E_AUTH) == AV_EREMOTE);
    CHECK(av_cql_error_rc(AV_CQL_E_PROTOCOL) == AV_EREMOTE);
    CHECK(av_cql_error_rc(AV_CQL_E_INVALID) == AV_EREMOTE);
    CHECK(av_cql_error_rc(AV_CQL_E_WRITE_FAILURE) == AV_EREMOTE);
    CHECK(av_cql_error_rc(0x7777) == AV_EREMOTE);
}

static void test_malformed(void)
{
    /* a text cell claims 16 bytes, 2 follow */
    static const uint8_t lying[] = {
        0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 1, 0, 1, 'k', 0, 1, 't', 0, 1, 'v', 0, 0x0d,
        0, 0, 0, 1, 0, 0, 0, 0x10, 'h', 'i',
    };
    /* negative row count */
    static const uint8_t neg_rows[] = {
        0, 0, 0, 2, 0, 0, 0, 4, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff,
    };
    /* negative column count */
    static const uint8_t neg_cols[] = { 0, 0, 0, 2, 0, 0, 0, 4, 0x80, 0, 0, 0, 0, 0, 0, 0 };
    /* 2^31-1 rows of one column in a 4-byte tail: refused before allocating */
    static const uint8_t many_rows[] = {
        0, 0, 0, 2, 0, 0, 0, 4, 0, 0, 0, 1, 0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0,
    };
    /* 2^31-1 column specs promised */
    static const uint8_t many_cols[] = {
        0, 0, 0, 2, 0, 0, 0, 1, 0x7f, 0xff, 0xff, 0xff, 0, 1, 'k', 0, 1, 't',
    };
    /* a negative cell length is null, not an error (spec: n < 0 => null) */
    static const uint8_t neg_cell[] = {
        0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 1, 0, 1, 'k', 0, 1, 't', 0, 1, 'v', 0, 0x09,
        0, 0, 0, 1, 0xff, 0xff, 0xff, 0xf0,
    };
    /* an int cell of 3 bytes; a list whose item overruns the cell */
    static const uint8_t bad_cells[] = {
        0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2, 0, 1, 'k', 0, 1, 't',
        0, 1, 'a', 0, 0x09, 0, 1, 'b', 0, 0x20, 0, 0x01,
        0, 0, 0, 1,
        0, 0, 0, 3, 1, 2, 3,
        0, 0, 0, 9, 0, 0, 0, 1, 0, 0, 0, 9, 'x',
    };
    /* unknown type id; nesting beyond the depth limit */
    static const uint8_t bad_type[] = {
        0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 1, 0, 1, 'k', 0, 1, 't', 0, 1, 'v', 0x12, 0x34,
        0, 0, 0, 0,
    };
    static const uint8_t neg_pk[] = {
        0, 0, 0, 4, 0, 1, 0xaa, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff,
    };
    uint8_t deep[64 + 2 * 40];
    struct av_cql_result *r = NULL;
    struct av_cql_value v;
    const char *p;
    size_t n, off;
    char err[AV_ERRBUF_SIZE];

    CHECK(av_cql_result_decode(&r, lying, sizeof(lying), err) == AV_EPARSE);
    CHECK(strstr(err, "cell") != NULL);
    CHECK(av_cql_result_decode(&r, neg_rows, sizeof(neg_rows), err) == AV_EPARSE);
    CHECK(strstr(err, "negative row count") != NULL);
    CHECK(av_cql_result_decode(&r, neg_cols, sizeof(neg_cols), err) == AV_EPARSE);
    CHECK(av_cql_result_decode(&r, many_rows, sizeof(many_rows), err) == AV_EPARSE);
    CHECK(av_cql_result_decode(&r, many_cols, sizeof(many_cols), err) == AV_EPARSE);
    CHECK(av_cql_result_decode(&r, bad_type, sizeof(bad_type), err) == AV_EPARSE);
    CHECK(strstr(err, "0x1234") != NULL);
    CHECK(av_cql_result_decode(&r, neg_pk, sizeof(neg_pk), err) == AV_EPARSE);
    CHECK(r == NULL);

    CHECK(av_cql_result_decode(&r, neg_cell, sizeof(neg_cell), err) == AV_OK);
    CHECK(av_cql_result_get(r, 0, 0, &v) == AV_OK && v.type == AV_CQL_NULL);
    av_cql_result_free(r);

    CHECK(av_cql_result_decode(&r, bad_cells, sizeof(bad_cells), err) == AV_OK);
    CHECK(av_cql_result_get(r, 0, 0, &v) == AV_EPARSE);
    CHECK(av_cql_result_get(r, 0, 1, &v) == AV_EPARSE);
    CHECK(av_cql_result_list_item(r, 0, 1, 0, &p, &n) == AV_EPARSE);
    av_cql_result_free(r);

    /* list<list<list<...>>> 40 deep */
    off = 0;
    memcpy(deep, "\0\0\0\2\0\0\0\1\0\0\0\1\0\1k\0\1t\0\1v", 21);
    off = 21;
    for (int i = 0; i < 40; i++) {
        deep[off++] = 0;
        deep[off++] = 0x20;
    }
    deep[off++] = 0;
    deep[off++] = 0x0d;
    memset(deep + off, 0, 4);
    off += 4;
    r = NULL;
    CHECK(av_cql_result_decode(&r, deep, off, err) == AV_EPARSE && r == NULL);
    CHECK(strstr(err, "nested") != NULL);
}

static void test_prefix_and_handshake(void)
{
    /* tracing id, one warning "abc", a custom payload {"k": 0x01}, then the message */
    static const uint8_t body[] = {
        1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
        0, 1, 0, 3, 'a', 'b', 'c',
        0, 1, 0, 1, 'k', 0, 0, 0, 1, 0x01,
        0, 0, 0, 1,
    };
    static const uint8_t supported[] = {
        0, 2, 0, 11, 'C', 'Q', 'L', '_', 'V', 'E', 'R', 'S', 'I', 'O', 'N',
        0, 1, 0, 5, '3', '.', '4', '.', '7',
        0, 11, 'C', 'O', 'M', 'P', 'R', 'E', 'S', 'S', 'I', 'O', 'N',
        0, 2, 0, 6, 's', 'n', 'a', 'p', 'p', 'y', 0, 3, 'l', 'z', '4',
    };
    static const uint8_t authenticate[] = { 0, 5, 'P', 'l', 'a', 'i', 'n' };
    static const uint8_t token[] = { 0xff, 0xff, 0xff, 0xff };
    struct av_cql_prefix pre;
    char err[AV_ERRBUF_SIZE], buf[32];
    const uint8_t *tok;
    int32_t tlen;

    CHECK(av_cql_body_prefix(AV_CQL_F_TRACING | AV_CQL_F_WARNING | AV_CQL_F_CUSTOM_PAYLOAD,
                             body, sizeof(body), &pre, err) == AV_OK);
    CHECK_INT(pre.off, sizeof(body) - 4);
    CHECK_INT(pre.nwarn, 1);
    CHECK(pre.warn_len == 3 && memcmp(pre.warn, "abc", 3) == 0);
    CHECK(av_cql_body_prefix(AV_CQL_F_WARNING, body + 16, sizeof(body) - 16, &pre, err) ==
          AV_OK);
    CHECK_INT(pre.off, 7);
    CHECK(av_cql_body_prefix(0, body, sizeof(body), &pre, err) == AV_OK && pre.off == 0);
    for (size_t n = 0; n < sizeof(body) - 4; n++)
        CHECK(av_cql_body_prefix(0x0e, body, n, &pre, err) == AV_EPARSE);

    CHECK(av_cql_supported_decode(supported, sizeof(supported), buf, sizeof(buf), err) ==
          AV_OK);
    CHECK_STR(buf, "3.4.7");
    for (size_t n = 0; n < sizeof(supported); n++)
        CHECK(av_cql_supported_decode(supported, n, buf, sizeof(buf), err) == AV_EPARSE);
    CHECK(av_cql_authenticate_decode(authenticate, sizeof(authenticate), buf, 4, err) ==
          AV_OK);
    CHECK_STR(buf, "Pla");
    CHECK(av_cql_token_decode(token, sizeof(token), &tok, &tlen, err) == AV_OK);
    CHECK(tok == NULL && tlen < 0);
    CHECK(av_cql_token_decode(token, 3, &tok, &tlen, err) == AV_EPARSE);
}

static void test_api_helpers(void)
{
    CHECK_INT(av_cql_consistency_parse("ONE"), AV_CQL_ONE);
    CHECK_INT(av_cql_consistency_parse("local_quorum"), AV_CQL_LOCAL_QUORUM);
    CHECK_INT(av_cql_consistency_parse("Local_One"), AV_CQL_LOCAL_ONE);
    CHECK_INT(av_cql_consistency_parse("ANY"), AV_CQL_ANY);
    CHECK_INT(av_cql_consistency_parse("quorums"), -1);
    CHECK_INT(av_cql_consistency_parse(""), -1);
    CHECK_INT(av_cql_consistency_parse(NULL), -1);
    CHECK_STR(av_cql_consistency_name(AV_CQL_EACH_QUORUM), "EACH_QUORUM");
    CHECK(av_cql_int(-5).type == AV_CQL_INT && av_cql_int(-5).u.i == -5);
    CHECK(av_cql_bool(7).u.i == 1);
    CHECK(av_cql_text(NULL).type == AV_CQL_NULL);
    CHECK(av_cql_unset().type == AV_CQL_UNSET && av_cql_null().type == AV_CQL_NULL);
    CHECK(av_cql_text("ab").u.s.n == 2);
    CHECK(av_cql_date(-3).type == AV_CQL_DATE);
    CHECK(av_cql_double(0.25).u.d == 0.25);
    /* connecting needs a real node; bad arguments are refused without one */
    {
        struct av_cql *c = NULL;
        struct av_cql_opts o = { "", NULL, NULL, 100, 100, 1 << 20 };
        char err[AV_ERRBUF_SIZE];

        CHECK(av_cql_connect(&c, &o, err) == AV_EINVAL && c == NULL);
        o.hosts = "127.0.0.1:99999";
        CHECK(av_cql_connect(&c, &o, err) == AV_EINVAL && c == NULL);
        CHECK(strstr(err, "99999") != NULL);
        o.hosts = "a,,b";
        CHECK(av_cql_connect(&c, &o, err) == AV_EINVAL && strstr(err, "empty") != NULL);
        o.hosts = "[::1";
        CHECK(av_cql_connect(&c, &o, err) == AV_EINVAL);
        o.hosts = "h:";
        CHECK(av_cql_connect(&c, &o, err) == AV_EINVAL);
        o.hosts = "h:90x";
        CHECK(av_cql_connect(&c, &o, err) == AV_EINVAL);
        /* every contact point is tried and named (port 1: refused) */
        o.hosts = " 127.0.0.1:1 ,[::1]:1, localhost:1";
        CHECK(av_cql_connect(&c, &o, err) == AV_ENET && c == NULL);
        CHECK(strstr(err, "127.0.0.1:1: ") != NULL);
        CHECK(strstr(err, "[::1]:1: ") != NULL);
        CHECK(strstr(err, "localhost:1: ") != NULL);
        o.hosts = "127.0.0.1:9042";
        o.user = "u";
        CHECK(av_cql_connect(&c, &o, err) == AV_EINVAL && c == NULL); /* user, no password */
        av_cql_close(NULL);
        CHECK_STR(av_cql_peer(NULL), "");
    }
}

/* A BATCH built statement by statement (cql_frame.h: av_cql_batch_*), as
 * the open batches do: the frame of av_cql_batch for the same statements,
 * and an append that fails leaves the frame as it was. */
static void test_batch_builder(void)
{
    /* unlogged, 2 statements of id ca fe: (7, null) and (unset, 1); ONE, flags 0 */
    static const uint8_t want[] = {
        0x04, 0x00, 0x00, 0x00, 0x0d, 0x00, 0x00, 0x00, 0x2c,
        0x01, 0x00, 0x02,
        0x01, 0x00, 0x02, 0xca, 0xfe, 0x00, 0x02,
        0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x07, 0xff, 0xff, 0xff, 0xff,
        0x01, 0x00, 0x02, 0xca, 0xfe, 0x00, 0x02,
        0xff, 0xff, 0xff, 0xfe, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x01,
        0x00, 0x01, 0x00,
    };
    static const uint8_t id[] = { 0xca, 0xfe };
    struct av_cql_value a[2] = { av_cql_int(7), av_cql_null() };
    struct av_cql_value b[2] = { av_cql_unset(), av_cql_int(1) };
    struct av_cql_value bad[2] = { av_cql_tinyint(1), av_cql_int(0) };
    char big[64];
    struct av_cql_value large[2];
    struct av_cql_w w;
    size_t len;

    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    large[0] = av_cql_int(1);
    large[1] = av_cql_text(big); /* its length is taken here: after the fill */
    bad[0].u.i = 300; /* out of a tinyint's range */
    av_cql_w_init(&w, sizeof(want) - AV_CQL_HEADER_LEN + 20);
    av_cql_batch_begin(&w, 1);
    CHECK_INT(av_cql_batch_count(&w), 0);
    CHECK(av_cql_batch_add(&w, id, sizeof(id), a, 2) == AV_OK);
    len = w.b.len;
    CHECK(av_cql_batch_add(&w, id, sizeof(id), bad, 2) == AV_EINVAL);
    CHECK(w.rc == AV_OK && w.b.len == len && !w.b.failed);
    CHECK_INT(av_cql_batch_count(&w), 1);
    CHECK(av_cql_batch_add(&w, id, sizeof(id), b, 2) == AV_OK);
    CHECK_INT(av_cql_batch_count(&w), 2);
    /* over the ceiling (with the tail's 3 bytes kept free): refused, undone */
    len = w.b.len;
    CHECK(av_cql_batch_add(&w, id, sizeof(id), large, 2) == AV_ELIMIT);
    CHECK(w.rc == AV_OK && w.b.len == len && !w.b.failed);
    CHECK_INT(av_cql_batch_count(&w), 2);
    CHECK(av_cql_batch_finish(&w, AV_CQL_ONE) == AV_OK);
    CHECK_BYTES("built BATCH frame", (const uint8_t *)w.b.data, w.b.len, want);
    /* a writer that is not a started batch takes nothing */
    av_cql_w_begin(&w, AV_CQL_OP_QUERY, 0);
    CHECK(av_cql_batch_add(&w, id, sizeof(id), a, 2) == AV_EINVAL);
    CHECK_INT(av_cql_batch_count(&w), 0);
    av_cql_w_free(&w);
}

/* ---- a fake node: a child process with one canned answer per request ---- */

struct step {
    const char *p; /* raw bytes written after one request frame was read */
    size_t n;
    const char *expect; /* if not NULL: the request body must start with it */
    size_t expect_n;
};

#define STEP(s) { s, sizeof(s) - 1, NULL, 0 }
#define STEP_EXPECT(s, e) { s, sizeof(s) - 1, e, sizeof(e) - 1 }

/* Response frames, written out: 84 flags stream(2) opcode length(4) body. */
#define SUPPORTED "\x84\0\0\0\x06\0\0\0\x02\0\0"
#define READY "\x84\0\0\0\x02\0\0\0\0"
#define AUTHENTICATE "\x84\0\0\0\x03\0\0\0\x07\0\x05Plain"
#define VOID_RESULT "\x84\0\0\0\x08\0\0\0\x04\0\0\0\x01"
#define PREPARED(id) "\x84\0\0\0\x08\0\0\0\x27\0\0\0\x04\0\x02" id \
    "\0\0\0\x01\0\0\0\x01\0\0\0\0\0\x01k\0\x01t\0\x01v\0\x09\0\0\0\x04\0\0\0\0"
#define UNPREPARED(id) "\x84\0\0\0\0\0\0\0\x0a\0\0\x25\0\0\0\0\x02" id

static int listen_local(int *port)
{
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(fd, 4) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        perror("fake node");
        exit(2);
    }
    *port = ntohs(a.sin_port);
    return fd;
}

static int read_n(int fd, uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t k = read(fd, p, n);
        if (k <= 0)
            return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* Child: accept one client, then for each step read a request frame, check
 * it, write the answer; then close our side and exit 0 when the client
 * hangs up (3 on a request that does not match, 4 on an I/O error). */
static pid_t fake_node(int lfd, const struct step *steps, int n)
{
    static uint8_t body[1 << 16];
    pid_t pid = fork();
    int c;

    if (pid != 0)
        return pid;
    alarm(10);
    c = accept(lfd, NULL, NULL);
    for (int i = 0; i < n; i++) {
        uint8_t h[9];
        uint32_t len;

        if (read_n(c, h, 9) != 0)
            _exit(4);
        len = (uint32_t)h[5] << 24 | (uint32_t)h[6] << 16 | (uint32_t)h[7] << 8 | h[8];
        if (h[0] != 0x04 || len > sizeof(body) || read_n(c, body, len) != 0)
            _exit(3);
        if (steps[i].expect &&
            (len < steps[i].expect_n || memcmp(body, steps[i].expect, steps[i].expect_n)))
            _exit(3);
        if (write(c, steps[i].p, steps[i].n) != (ssize_t)steps[i].n)
            _exit(4);
    }
    shutdown(c, SHUT_WR); /* end of script: the client sees the close */
    while (read(c, body, sizeof(body)) > 0)
        ;
    _exit(0);
}

static int fake_done(pid_t pid)
{
    int st = -1;

    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* Runs a fake node with the given steps and connects to it. */
static av_rc fake_connect(const struct step *steps, int n, const char *user, size_t max_frame,
                          struct av_cql **c, pid_t *pid, char *err)
{
    char hosts[64];
    int port, lfd = listen_local(&port);
    struct av_cql_opts o = { hosts, user, user ? "p" : NULL, 2000, 2000, max_frame };
    av_rc rc;

    snprintf(hosts, sizeof(hosts), "127.0.0.1:%d", port);
    fflush(NULL);
    *pid = fake_node(lfd, steps, n);
    close(lfd); /* once the child has hung up, reconnects are refused */
    *c = NULL;
    rc = av_cql_connect(c, &o, err);
    return rc;
}

struct ob_seen {
    int calls;
    av_rc rc;
};

static void ob_done(void *ud, av_rc rc, const char *err)
{
    struct ob_seen *o = ud;

    (void)err;
    o->calls++;
    o->rc = rc;
}

static void test_fake_node(void)
{
    static const struct step happy[] = {
        STEP(SUPPORTED),
        STEP_EXPECT("\x84\0\xff\xff\x0c\0\0\0\x02\0\0" READY,
                    "\0\x01\0\x0b" "CQL_VERSION\0\x05" "3.0.0"), /* EVENT first */
        STEP("\x84\x0e\0\0\x08\0\0\0\x25" "0123456789abcdef" /* tracing id */
             "\0\x01\0\x03" "abc"                             /* warnings */
             "\0\x01\0\x01k\0\0\0\x01x"                      /* custom payload */
             "\0\0\0\x01"),
        STEP("\x84\0\0\x05\x08\0\0\0\x04\0\0\0\x01"), /* answer on stream 5 */
    };
    static const struct step auth[] = {
        STEP(SUPPORTED), STEP(AUTHENTICATE),
        STEP_EXPECT("\x84\0\0\0\x0e\0\0\0\x04\xff\xff\xff\xff", "\0\0\0\x04\0u\0p"),
        STEP("\x84\0\0\0\x10\0\0\0\x04\xff\xff\xff\xff"),
        STEP("\x84\0\0\0\x08\0\0"), /* a RESULT cut short, then hang up */
    };
    static const struct step bad_login[] = {
        STEP(SUPPORTED), STEP(AUTHENTICATE),
        STEP("\x84\0\0\0\0\0\0\0\x15\0\0\x01\0\0\x0f" "Bad credentials"),
    };
    static const struct step v3[] = { STEP("\x83\0\0\0\x06\0\0\0\x02\0\0") };
    static const struct step huge[] = { STEP("\x84\0\0\0\x06\x01\0\0\0") };
    static const struct step reprepare[] = {
        STEP(SUPPORTED), STEP(READY),
        STEP(PREPARED("\xca\xfe")),
        STEP_EXPECT(UNPREPARED("\xca\xfe"), "\0\x02\xca\xfe"),   /* EXECUTE */
        STEP(PREPARED("\xbe\xef")),                                /* PREPARE again */
        STEP_EXPECT(VOID_RESULT, "\0\x02\xbe\xef"),                /* EXECUTE again */
        STEP_EXPECT(UNPREPARED("\xbe\xef"), "\x01\0\x01\x01\0\x02\xbe\xef"), /* BATCH */
        STEP(PREPARED("\xca\xfe")),
        STEP_EXPECT(VOID_RESULT, "\x01\0\x01\x01\0\x02\xca\xfe"),
        STEP_EXPECT(UNPREPARED("\xca\xfe"), "\0\x02\xca\xfe"),
        STEP(PREPARED("\xca\xfe")),
        STEP(UNPREPARED("\xca\xfe")), /* still unknown: retried once only */
    };
    struct av_cql *c = NULL;
    struct av_cql_result *r = NULL;
    struct av_cql_prepared *p = NULL;
    struct av_cql_value v = av_cql_int(1);
    struct av_cql_batch_item item;
    char err[AV_ERRBUF_SIZE];
    pid_t pid;
    int port, lfd;

    /* EVENT skipped, prefixes skipped, then an answer on the wrong stream */
    CHECK(fake_connect(happy, 4, NULL, 0, &c, &pid, err) == AV_OK);
    CHECK(strncmp(av_cql_peer(c), "127.0.0.1:", 10) == 0);
    CHECK(av_cql_query(c, "SELECT 1", NULL, 0, AV_CQL_ONE, &r, err) == AV_OK);
    CHECK_INT(av_cql_result_kind(r), 1);
    av_cql_result_free(r);
    r = NULL;
    CHECK(av_cql_query(c, "SELECT 1", NULL, 0, AV_CQL_ONE, &r, err) == AV_EPARSE && !r);
    CHECK(strstr(err, "stream 5") != NULL);
    CHECK_STR(av_cql_peer(c), ""); /* dropped */
    av_cql_close(c);
    CHECK_INT(fake_done(pid), 0);

    /* SASL PLAIN "\0u\0p" through a challenge; a cut frame is AV_ENET; the
     * next call reconnects (refused now) */
    CHECK(fake_connect(auth, 5, "u", 0, &c, &pid, err) == AV_OK);
    CHECK(av_cql_query(c, "SELECT 1", NULL, 0, AV_CQL_ONE, NULL, err) == AV_ENET);
    CHECK(strstr(err, "closed") != NULL);
    CHECK_INT(fake_done(pid), 0);
    CHECK(av_cql_query(c, "SELECT 1", NULL, 0, AV_CQL_ONE, NULL, err) == AV_ENET);
    CHECK(strstr(err, "refused") != NULL);
    av_cql_close(c);

    CHECK(fake_connect(bad_login, 3, "u", 0, &c, &pid, err) == AV_EREMOTE && c == NULL);
    CHECK(strstr(err, "Bad credentials") != NULL);
    CHECK_INT(fake_done(pid), 0);
    CHECK(fake_connect(auth, 2, NULL, 0, &c, &pid, err) == AV_EREMOTE && c == NULL);
    CHECK(strstr(err, "set user/password") != NULL);
    CHECK_INT(fake_done(pid), 0);
    CHECK(fake_connect(v3, 1, NULL, 0, &c, &pid, err) == AV_EPARSE && c == NULL);
    CHECK(strstr(err, "v3") != NULL);
    CHECK_INT(fake_done(pid), 0);
    CHECK(fake_connect(huge, 1, NULL, 1 << 20, &c, &pid, err) == AV_ELIMIT && c == NULL);
    CHECK_INT(fake_done(pid), 0);

    /* UNPREPARED: EXECUTE and BATCH re-prepare and retry once */
    CHECK(fake_connect(reprepare, 12, NULL, 0, &c, &pid, err) == AV_OK);
    CHECK(av_cql_prepare(c, "SELECT v FROM t WHERE k = ?", &p, err) == AV_OK);
    CHECK_INT(av_cql_prepared_params(p), 1);
    CHECK(av_cql_execute(c, p, &v, 1, AV_CQL_ONE, 0, NULL, 0, NULL, err) == AV_OK);
    item.p = p;
    item.vals = &v;
    item.n = 1;
    CHECK(av_cql_batch(c, 1, &item, 1, AV_CQL_ONE, err) == AV_OK);
    CHECK(av_cql_execute(c, p, &v, 1, AV_CQL_ONE, 0, NULL, 0, NULL, err) == AV_EREMOTE);
    CHECK(strstr(err, "Unprepared") != NULL);
    av_cql_prepared_free(p);
    av_cql_close(c);
    CHECK_INT(fake_done(pid), 0);

    /* a pipeline of two writes: answers in any order; UNPREPARED prepares
     * again and sends that one again; an answer on a stream not asked for
     * drops the connection */
    {
        static const struct step pipe[] = {
            STEP(SUPPORTED), STEP(READY), STEP(PREPARED("\xca\xfe")),
            STEP_EXPECT("\x84\0\0\x02\x08\0\0\0\x04\0\0\0\x01", "\x01\0\x01\x01\0\x02\xca\xfe"),
            STEP_EXPECT("\x84\0\0\x01\x08\0\0\0\x04\0\0\0\x01", "\0\x02\xca\xfe"),
            STEP("\x84\0\0\x01\0\0\0\0\x0a\0\0\x25\0\0\0\0\x02\xca\xfe"),
            STEP("\x84\0\0\x02\x08\0\0\0\x04\0\0\0\x01"),
            STEP(PREPARED("\xbe\xef")),
            /* only the unprepared one again (stream 2 was freed last), new id */
            STEP_EXPECT("\x84\0\0\x02\x08\0\0\0\x04\0\0\0\x01", "\x01\0\x01\x01\0\x02\xbe\xef"),
            STEP("\x84\0\0\x07\x08\0\0\0\x04\0\0\0\x01"),
        };
        struct av_cql_op ops[2];

        CHECK(fake_connect(pipe, 10, NULL, 0, &c, &pid, err) == AV_OK);
        CHECK(av_cql_prepare(c, "SELECT v FROM t WHERE k = ?", &p, err) == AV_OK);
        item.p = p;
        item.vals = &v;
        item.n = 1;
        ops[0] = (struct av_cql_op){1, &item, 1, AV_CQL_ONE};
        ops[1] = (struct av_cql_op){AV_CQL_OP_EXEC, &item, 1, AV_CQL_ONE};
        CHECK(av_cql_pipeline(c, ops, 2, err) == AV_OK);  /* answered 2 then 1 */
        CHECK(av_cql_pipeline(c, ops, 2, err) == AV_OK);  /* unprepared, again */
        CHECK(av_cql_pipeline(c, ops, 2, err) == AV_EPARSE);
        CHECK(strstr(err, "stream 7") != NULL);
        CHECK_STR(av_cql_peer(c), "");
        ops[1].nitems = 2; /* an EXECUTE of two statements: refused before sending */
        CHECK(av_cql_pipeline(c, ops, 2, err) == AV_EINVAL);
        CHECK(av_cql_pipeline(c, ops, 0, err) == AV_EINVAL);
        av_cql_prepared_free(p);
        av_cql_close(c);
        CHECK_INT(fake_done(pid), 0);
    }

    /* unset values go out as [value] -2 in EXECUTE, BATCH and a pipelined
     * BATCH (the weather leaves a null column untouched that way), next to
     * a null (-1) and a value */
    {
        static const struct step unset[] = {
            STEP(SUPPORTED), STEP(READY),
            /* PREPARED with three int bind markers k, a, b */
            STEP("\x84\0\0\0\x08\0\0\0\x31\0\0\0\x04\0\x02\xca\xfe\0\0\0\x01\0\0\0\x03"
                 "\0\0\0\0\0\x01k\0\x01t\0\x01k\0\x09\0\x01" "a\0\x09\0\x01" "b\0\x09"
                 "\0\0\0\x04\0\0\0\0"),
            /* EXECUTE: id, ONE, flags values, 3 values */
            STEP_EXPECT(VOID_RESULT, "\0\x02\xca\xfe\0\x01\x01\0\x03"
                                     "\xff\xff\xff\xfe\xff\xff\xff\xff\0\0\0\x04\0\0\0\x01"),
            /* BATCH unlogged, 1 statement: kind 1, id, 3 values */
            STEP_EXPECT(VOID_RESULT, "\x01\0\x01\x01\0\x02\xca\xfe\0\x03"
                                     "\xff\xff\xff\xfe\xff\xff\xff\xff\0\0\0\x04\0\0\0\x01"),
            STEP_EXPECT("\x84\0\0\x01\x08\0\0\0\x04\0\0\0\x01",
                        "\x01\0\x01\x01\0\x02\xca\xfe\0\x03\xff\xff\xff\xfe"),
        };
        struct av_cql_value three[3] = {av_cql_unset(), av_cql_null(), av_cql_int(1)};
        struct av_cql_op op;

        CHECK(fake_connect(unset, 6, NULL, 0, &c, &pid, err) == AV_OK);
        CHECK(av_cql_prepare(c, "INSERT INTO t (k, a, b) VALUES (?, ?, ?)", &p, err) == AV_OK);
        CHECK_INT(av_cql_prepared_params(p), 3);
        CHECK(av_cql_execute(c, p, three, 3, AV_CQL_ONE, 0, NULL, 0, NULL, err) == AV_OK);
        item = (struct av_cql_batch_item){p, three, 3};
        CHECK(av_cql_batch(c, 1, &item, 1, AV_CQL_ONE, err) == AV_OK);
        op = (struct av_cql_op){1, &item, 1, AV_CQL_ONE};
        CHECK(av_cql_pipeline(c, &op, 1, err) == AV_OK);
        av_cql_prepared_free(p);
        av_cql_close(c);
        CHECK_INT(fake_done(pid), 0);
    }

    /* open batches: statements added one by one (values encoded at once:
     * the caller's may change), sent as one BATCH, the batch reusable; an
     * empty one sends nothing; a failure reaches the callback */
    {
        static const struct step ob[] = {
            STEP(SUPPORTED), STEP(READY), STEP(PREPARED("\xca\xfe")),
            STEP_EXPECT("\x84\0\0\x01\x08\0\0\0\x04\0\0\0\x01",
                        "\x01\0\x02" "\x01\0\x02\xca\xfe\0\x01\0\0\0\x04\0\0\0\x01"
                        "\x01\0\x02\xca\xfe\0\x01\0\0\0\x04\0\0\0\x02" "\0\x01\0"),
            /* Overloaded (AV_ENET), not idempotent: reported, not sent again */
            STEP_EXPECT("\x84\0\0\x01\0\0\0\0\x0b\0\0\x10\x01\0\x05" "ovld!",
                        "\x01\0\x01\x01\0\x02\xca\xfe\0\x01\0\0\0\x04\0\0\0\x03\0\x04\0"),
        };
        struct av_cql_obatch *b = NULL;
        struct ob_seen seen = {0, AV_OK};

        CHECK(fake_connect(ob, 5, NULL, 0, &c, &pid, err) == AV_OK);
        CHECK(av_cql_prepare(c, "SELECT v FROM t WHERE k = ?", &p, err) == AV_OK);
        CHECK(av_cql_obatch_new(c, 1, &b, err) == AV_OK);
        CHECK(av_cql_obatch_submit(c, b, AV_CQL_ONE, 1, ob_done, &seen, err) == AV_OK);
        CHECK(av_cql_drain(c, err) == AV_OK && seen.calls == 0); /* empty: nothing */
        v = av_cql_int(1);
        CHECK(av_cql_obatch_add(b, p, &v, 1, err) == AV_OK);
        v = av_cql_int(2);
        CHECK(av_cql_obatch_add(b, p, &v, 1, err) == AV_OK);
        v = av_cql_int(99); /* after the add: not what is sent */
        CHECK(av_cql_obatch_add(b, p, &v, 0, err) == AV_EINVAL);
        CHECK_INT(av_cql_obatch_count(b), 2);
        CHECK(av_cql_obatch_submit(c, b, AV_CQL_ONE, 1, ob_done, &seen, err) == AV_OK);
        CHECK_INT(av_cql_obatch_count(b), 0);
        CHECK(av_cql_drain(c, err) == AV_OK);
        CHECK(seen.calls == 1 && seen.rc == AV_OK);
        v = av_cql_int(3);
        CHECK(av_cql_obatch_add(b, p, &v, 1, err) == AV_OK);
        CHECK(av_cql_obatch_submit(c, b, AV_CQL_QUORUM, 0, ob_done, &seen, err) == AV_OK);
        CHECK(av_cql_drain(c, err) == AV_OK);
        CHECK(seen.calls == 2 && seen.rc == AV_ENET);
        av_cql_obatch_free(b);
        av_cql_prepared_free(p);
        av_cql_close(c);
        CHECK_INT(fake_done(pid), 0);
    }

    /* a listener that never answers: the request timeout, AV_ENET */
    lfd = listen_local(&port);
    {
        char hosts[64];
        struct av_cql_opts o = { hosts, NULL, NULL, 500, 300, 0 };

        snprintf(hosts, sizeof(hosts), " 127.0.0.1:%d ,", port);
        CHECK(av_cql_connect(&c, &o, err) == AV_ENET);
        CHECK(strstr(err, "no answer within 300 ms") != NULL);
        close(lfd);
        CHECK(av_cql_connect(&c, &o, err) == AV_ENET);
        CHECK(strstr(err, "refused") != NULL);
    }
}

void suite_cql(void)
{
    test_header();
    test_values();
    test_requests();
    test_batch_builder();
    test_rows();
    test_rows_types();
    test_other_results();
    test_errors();
    test_malformed();
    test_prefix_and_handshake();
    test_api_helpers();
    test_fake_node();
}
