/* cql_frame.h - private to src/cql: the CQL native protocol v4 codec.
 *
 * Implemented by cql_wire.c (frame header, body writer, body reader,
 * response prefixes, consistency names), cql_result.c (RESULT and the
 * cql.h result accessors) and cql_error.c (ERROR and the handshake bodies).
 *
 * Pure encode/decode, no I/O, no sockets: cql_conn.c drives it, the unit
 * tests (tests/unit/test_cql.c) check it against byte vectors computed from
 * the spec, and tests/fuzz/fuzz_cql_frame.c throws random bytes at the
 * decoders. Everything read from the wire is hostile: every length is
 * checked against the bytes that remain before it is used, and malformed
 * input gives AV_EPARSE with one line in errbuf, never an overread.
 *
 * Frame (all integers big-endian; apache/cassandra doc/native_protocol_v4.spec):
 *
 *   0         1       2          4        5                 9
 *   +---------+-------+----------+--------+-----------------+-------------
 *   | version | flags | stream   | opcode | length (u32)    | body ...
 *   | 04/84   |       | i16      |        | bytes of body   |
 *   +---------+-------+----------+--------+-----------------+-------------
 *
 * A response body may start with prefixes announced by the flags, in this
 * order: tracing id (16 bytes, 0x02), warnings ([string list], 0x08),
 * custom payload ([bytes map], 0x04). av_cql_body_prefix() skips them.
 *
 * Notation: [short] u16, [int] i32, [long] i64, [string] = [short] n + n
 * bytes, [long string] = [int] n + bytes, [bytes] = [int] n + bytes (n < 0
 * null), [value] = [bytes] with -1 null and -2 unset, [short bytes] =
 * [short] n + bytes, [string map] = [short] n + n x ([string] [string]).
 */
#ifndef AV_CQL_FRAME_H
#define AV_CQL_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "../core/buf.h"
#include "../core/err.h"
#include "cql.h"

#define AV_CQL_HEADER_LEN 9
#define AV_CQL_VERSION 0x04       /* request; responses carry 0x84 */
#define AV_CQL_RESPONSE 0x80      /* direction bit of the version byte */
#define AV_CQL_MAX_FRAME_DEFAULT ((size_t)16 << 20) /* server default too */

/* Header flags. */
#define AV_CQL_F_COMPRESSION 0x01
#define AV_CQL_F_TRACING 0x02
#define AV_CQL_F_CUSTOM_PAYLOAD 0x04
#define AV_CQL_F_WARNING 0x08

enum av_cql_opcode {
    AV_CQL_OP_ERROR = 0x00,
    AV_CQL_OP_STARTUP = 0x01,
    AV_CQL_OP_READY = 0x02,
    AV_CQL_OP_AUTHENTICATE = 0x03,
    AV_CQL_OP_OPTIONS = 0x05,
    AV_CQL_OP_SUPPORTED = 0x06,
    AV_CQL_OP_QUERY = 0x07,
    AV_CQL_OP_RESULT = 0x08,
    AV_CQL_OP_PREPARE = 0x09,
    AV_CQL_OP_EXECUTE = 0x0A,
    AV_CQL_OP_REGISTER = 0x0B,
    AV_CQL_OP_EVENT = 0x0C,
    AV_CQL_OP_BATCH = 0x0D,
    AV_CQL_OP_AUTH_CHALLENGE = 0x0E,
    AV_CQL_OP_AUTH_RESPONSE = 0x0F,
    AV_CQL_OP_AUTH_SUCCESS = 0x10
};

/* <query_parameters> flags (one byte in v4). */
#define AV_CQL_Q_VALUES 0x01
#define AV_CQL_Q_SKIP_METADATA 0x02
#define AV_CQL_Q_PAGE_SIZE 0x04
#define AV_CQL_Q_PAGING_STATE 0x08

/* RESULT kinds. */
#define AV_CQL_RESULT_VOID 1
#define AV_CQL_RESULT_ROWS 2
#define AV_CQL_RESULT_SET_KEYSPACE 3
#define AV_CQL_RESULT_PREPARED 4
#define AV_CQL_RESULT_SCHEMA_CHANGE 5

/* Rows metadata flags. */
#define AV_CQL_M_GLOBAL_TABLES_SPEC 0x0001
#define AV_CQL_M_HAS_MORE_PAGES 0x0002
#define AV_CQL_M_NO_METADATA 0x0004

/* ERROR codes. */
#define AV_CQL_E_SERVER 0x0000
#define AV_CQL_E_PROTOCOL 0x000A
#define AV_CQL_E_AUTH 0x0100
#define AV_CQL_E_UNAVAILABLE 0x1000
#define AV_CQL_E_OVERLOADED 0x1001
#define AV_CQL_E_BOOTSTRAPPING 0x1002
#define AV_CQL_E_TRUNCATE 0x1003
#define AV_CQL_E_WRITE_TIMEOUT 0x1100
#define AV_CQL_E_READ_TIMEOUT 0x1200
#define AV_CQL_E_READ_FAILURE 0x1300
#define AV_CQL_E_FUNCTION_FAILURE 0x1400
#define AV_CQL_E_WRITE_FAILURE 0x1500
#define AV_CQL_E_SYNTAX 0x2000
#define AV_CQL_E_UNAUTHORIZED 0x2100
#define AV_CQL_E_INVALID 0x2200
#define AV_CQL_E_CONFIG 0x2300
#define AV_CQL_E_ALREADY_EXISTS 0x2400
#define AV_CQL_E_UNPREPARED 0x2500

/* Big-endian loads for the codec's files; p must hold 4 / 8 bytes. */
static inline uint32_t av_cql_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t av_cql_be64(const uint8_t *p)
{
    return (uint64_t)av_cql_be32(p) << 32 | av_cql_be32(p + 4);
}

/* ---- frame header ------------------------------------------------------ */

struct av_cql_header {
    uint8_t version; /* 0x04 request, 0x84 response */
    uint8_t flags;
    int16_t stream;
    uint8_t opcode;
    uint32_t length; /* body bytes that follow the header */
};

void av_cql_header_encode(uint8_t out[AV_CQL_HEADER_LEN], const struct av_cql_header *h);
/* Decodes the first 9 bytes of p. AV_EPARSE if n < 9 or the version is not
 * 4 (either direction); AV_ELIMIT if length > max_frame, checked before
 * anyone trusts the length. */
av_rc av_cql_header_decode(struct av_cql_header *h, const uint8_t *p, size_t n,
                           size_t max_frame, char *errbuf);

/* ---- body writer ------------------------------------------------------- */

/* A request frame being built: 9 header bytes reserved, then the body. The
 * first error sticks in rc and later puts do nothing, so a message can be
 * written straight through and checked once at the end. The buffer's
 * ceiling (max) bounds the whole frame. */
struct av_cql_w {
    struct av_buf b;
    av_rc rc;
    const char *why; /* static text naming the first error, else NULL */
};

void av_cql_w_init(struct av_cql_w *w, size_t max_frame);
void av_cql_w_free(struct av_cql_w *w);
/* Starts a new frame (reuses memory). */
void av_cql_w_begin(struct av_cql_w *w, uint8_t opcode, int16_t stream);
/* Fills in the header's length; returns the sticky rc. */
av_rc av_cql_w_end(struct av_cql_w *w);
/* The body written so far (after the header). */
const uint8_t *av_cql_w_body(const struct av_cql_w *w, size_t *len);

void av_cql_put_byte(struct av_cql_w *w, uint8_t v);
void av_cql_put_short(struct av_cql_w *w, uint16_t v);
void av_cql_put_int(struct av_cql_w *w, int32_t v);
void av_cql_put_long(struct av_cql_w *w, int64_t v);
void av_cql_put_raw(struct av_cql_w *w, const void *p, size_t n);
void av_cql_put_string(struct av_cql_w *w, const char *s, size_t n);      /* n <= 65535 */
void av_cql_put_long_string(struct av_cql_w *w, const char *s, size_t n);
void av_cql_put_bytes(struct av_cql_w *w, const void *p, int64_t n);     /* n < 0: null */
void av_cql_put_short_bytes(struct av_cql_w *w, const void *p, size_t n);
/* [string map] of n NUL-terminated key/value pairs. */
void av_cql_put_string_map(struct av_cql_w *w, const char *const *keys,
                           const char *const *vals, int n);
/* One bound value as [value]: [int] length + the type's encoding; null is
 * ff ff ff ff, unset ff ff ff fe. Out-of-range numbers are AV_EINVAL. */
void av_cql_put_value(struct av_cql_w *w, const struct av_cql_value *v);

/* <query_parameters>: consistency, flags, values, page size, paging state.
 * page_size <= 0 leaves paging to the server default (no flag). */
void av_cql_put_query_params(struct av_cql_w *w, int consistency,
                             const struct av_cql_value *vals, int n, int page_size,
                             const void *paging_state, size_t paging_len);

/* BATCH built one statement at a time (av_cql_enc_batch, the open batches
 * of cql_batch.c):
 *   <type byte> <n short> n x (<kind 1> <id short bytes> <values short + [value]s>)
 *   <consistency short> <flags byte>
 * av_cql_batch_begin starts the frame with n = 0. av_cql_batch_add appends
 * one prepared statement and counts it; on failure (more than 65535
 * statements, a value out of range, the frame would pass the writer's
 * ceiling with room for the tail, out of memory) it returns the error and
 * leaves the frame exactly as it was, w->rc still AV_OK, so the caller can
 * send what it has and start again. av_cql_batch_finish writes the tail and
 * the header's length (av_cql_w_end). The count lives in the body at
 * AV_CQL_BATCH_COUNT_OFF. */
#define AV_CQL_BATCH_COUNT_OFF (AV_CQL_HEADER_LEN + 1)
void av_cql_batch_begin(struct av_cql_w *w, int type);
av_rc av_cql_batch_add(struct av_cql_w *w, const uint8_t *id, size_t id_len,
                       const struct av_cql_value *vals, int n);
/* Statements appended so far (0 if the frame is not a started batch). */
int av_cql_batch_count(const struct av_cql_w *w);
av_rc av_cql_batch_finish(struct av_cql_w *w, int consistency);

/* "ONE", "LOCAL_QUORUM", ...; "?" for an unknown level. */
const char *av_cql_consistency_name(int cl);

/* ---- body reader ------------------------------------------------------- */

/* A cursor over a body. Every read checks the remaining bytes first; on
 * failure errbuf names the field, its offset and what was left. */
struct av_cql_rd {
    const uint8_t *p;
    size_t n, off;
    char *errbuf;
};

void av_cql_rd_init(struct av_cql_rd *r, const void *p, size_t n, char *errbuf);
av_rc av_cql_rd_byte(struct av_cql_rd *r, uint8_t *v, const char *what);
av_rc av_cql_rd_short(struct av_cql_rd *r, uint16_t *v, const char *what);
av_rc av_cql_rd_int(struct av_cql_rd *r, int32_t *v, const char *what);
av_rc av_cql_rd_long(struct av_cql_rd *r, int64_t *v, const char *what);
av_rc av_cql_rd_raw(struct av_cql_rd *r, size_t n, const uint8_t **p, const char *what);
/* [string]: pointer into the body (not NUL-terminated) and length. */
av_rc av_cql_rd_string(struct av_cql_rd *r, const char **s, size_t *n, const char *what);
/* [bytes]: *n < 0 means null (*p = NULL). */
av_rc av_cql_rd_bytes(struct av_cql_rd *r, const uint8_t **p, int32_t *n, const char *what);
av_rc av_cql_rd_short_bytes(struct av_cql_rd *r, const uint8_t **p, size_t *n,
                            const char *what);
/* [string list]: skipped, *count gets the number of strings. */
av_rc av_cql_rd_string_list(struct av_cql_rd *r, int *count, const char *what);

/* Response prefixes (tracing id, warnings, custom payload). On success
 * *off is the offset of the message proper; the first warning (if any) is
 * given as a pointer into p with its length, *nwarn the count. */
struct av_cql_prefix {
    size_t off;
    int nwarn;
    const char *warn;
    size_t warn_len;
};
av_rc av_cql_body_prefix(uint8_t flags, const uint8_t *p, size_t n, struct av_cql_prefix *out,
                         char *errbuf);

/* ---- RESULT ------------------------------------------------------------ */

struct av_cql_col {
    char *name;            /* NUL-terminated copy */
    uint16_t type_id;      /* the [option] id on the wire */
    enum av_cql_type type; /* how av_cql_result_get() reads it */
};

/* One cell: points into the result's own copy of the body; len < 0 null. */
struct av_cql_cell {
    const uint8_t *p;
    int32_t len;
};

struct av_cql_result {
    int kind;
    uint8_t *body; /* owned copy of the RESULT body */
    size_t body_len;

    /* Rows (and the result metadata of Prepared). */
    int ncols, nrows;
    int has_metadata;        /* 0 when the server sent No_metadata */
    struct av_cql_col *cols; /* ncols entries, NULL without metadata */
    struct av_cql_cell *cells; /* nrows * ncols, row-major */
    const uint8_t *paging;   /* NULL: last page */
    size_t paging_len;

    /* Set_keyspace, Schema_change. */
    char *keyspace;    /* NUL-terminated copy, else NULL */
    char *change_type; /* Schema_change: CREATED/UPDATED/DROPPED */
    char *target;      /* KEYSPACE/TABLE/TYPE/FUNCTION/AGGREGATE */
    char *name;        /* table/type/function name, else NULL */

    /* Prepared: the id and the bind markers. */
    const uint8_t *prep_id;
    size_t prep_id_len;
    int nparams;
    struct av_cql_col *params; /* nparams entries */
    int npk;                   /* partition key bind markers (the first 16) */
    uint16_t pk[16];           /* their indexes, each < nparams */
    char *prep_ks;             /* keyspace of the bind markers, else NULL */
};

/* Decodes a RESULT body (after any prefixes). *out owns a copy of the
 * body; free with av_cql_result_free(). On failure *out is untouched. */
av_rc av_cql_result_decode(struct av_cql_result **out, const uint8_t *body, size_t n,
                           char *errbuf);

/* ---- ERROR ------------------------------------------------------------- */

/* A decoded ERROR body; strings point into the body. Fields that the code
 * does not carry are 0 / NULL. */
struct av_cql_error {
    int32_t code;
    const char *msg;
    size_t msg_len;
    int cl, required, alive, received, blockfor, numfailures, data_present;
    const char *write_type; /* write timeout/failure */
    size_t write_type_len;
    const char *ks, *table; /* already exists; function failure: ks + function */
    size_t ks_len, table_len;
    const uint8_t *id;      /* unprepared */
    size_t id_len;
};

av_rc av_cql_error_decode(struct av_cql_error *e, const uint8_t *body, size_t n,
                          char *errbuf);
/* The av_rc the code maps to (cql.h: AV_ENET retry later, else AV_EREMOTE). */
av_rc av_cql_error_rc(int32_t code);
const char *av_cql_error_name(int32_t code);
/* Writes "cassandra <Name> error (0xCODE): <message>[ extras]" to errbuf
 * and returns av_cql_error_rc(e->code). */
av_rc av_cql_error_report(const struct av_cql_error *e, char *errbuf);

/* ---- handshake bodies -------------------------------------------------- */

/* SUPPORTED: [string multimap]; validated, and the first value of
 * CQL_VERSION copied into cql_version (may be NULL) if present. */
av_rc av_cql_supported_decode(const uint8_t *p, size_t n, char *cql_version, size_t cap,
                              char *errbuf);
/* AUTHENTICATE: [string] authenticator class, copied (truncated) into cls. */
av_rc av_cql_authenticate_decode(const uint8_t *p, size_t n, char *cls, size_t cap,
                                 char *errbuf);
/* AUTH_CHALLENGE / AUTH_SUCCESS: one [bytes] token (may be null). */
av_rc av_cql_token_decode(const uint8_t *p, size_t n, const uint8_t **tok, int32_t *len,
                          char *errbuf);

#endif
