/* cql_error.c - the answers of CQL native protocol v4 that are not a
 * RESULT: ERROR bodies (the code table with its name and av_rc, decoding
 * the extras each code carries, the one-line report), and the handshake
 * bodies SUPPORTED, AUTHENTICATE and AUTH_CHALLENGE / AUTH_SUCCESS.
 *
 * Not here: the reader it is built on (cql_wire.c), what to do about an
 * error (cql_conn.c). No I/O; the formats are drawn in cql_frame.h.
 *
 * Owns nothing: decoded strings point into the caller's body, copies go to
 * caller buffers and are truncated to fit. How it fails: a malformed body
 * is AV_EPARSE with one line in errbuf (av_cql_error_decode then leaves *e
 * untouched). The table decides retry or not: Server, Unavailable,
 * Overloaded, Is_bootstrapping, Truncate and the timeouts map to AV_ENET,
 * the rest (and codes we do not know) to AV_EREMOTE.
 */
#include "cql_frame.h"

#include <stdio.h>
#include <string.h>

/* ---- ERROR ------------------------------------------------------------- */

static const struct {
    int32_t code;
    const char *name;
    av_rc rc;
} errors[] = {
    { AV_CQL_E_SERVER, "Server", AV_ENET },
    { AV_CQL_E_PROTOCOL, "Protocol", AV_EREMOTE },
    { AV_CQL_E_AUTH, "Authentication", AV_EREMOTE },
    { AV_CQL_E_UNAVAILABLE, "Unavailable", AV_ENET },
    { AV_CQL_E_OVERLOADED, "Overloaded", AV_ENET },
    { AV_CQL_E_BOOTSTRAPPING, "Is_bootstrapping", AV_ENET },
    { AV_CQL_E_TRUNCATE, "Truncate", AV_ENET },
    { AV_CQL_E_WRITE_TIMEOUT, "Write_timeout", AV_ENET },
    { AV_CQL_E_READ_TIMEOUT, "Read_timeout", AV_ENET },
    { AV_CQL_E_READ_FAILURE, "Read_failure", AV_EREMOTE },
    { AV_CQL_E_FUNCTION_FAILURE, "Function_failure", AV_EREMOTE },
    { AV_CQL_E_WRITE_FAILURE, "Write_failure", AV_EREMOTE },
    { AV_CQL_E_SYNTAX, "Syntax", AV_EREMOTE },
    { AV_CQL_E_UNAUTHORIZED, "Unauthorized", AV_EREMOTE },
    { AV_CQL_E_INVALID, "Invalid", AV_EREMOTE },
    { AV_CQL_E_CONFIG, "Config", AV_EREMOTE },
    { AV_CQL_E_ALREADY_EXISTS, "Already_exists", AV_EREMOTE },
    { AV_CQL_E_UNPREPARED, "Unprepared", AV_EREMOTE },
};

#define NERRORS ((int)(sizeof(errors) / sizeof(errors[0])))

av_rc av_cql_error_rc(int32_t code)
{
    for (int i = 0; i < NERRORS; i++)
        if (errors[i].code == code)
            return errors[i].rc;
    return AV_EREMOTE; /* unknown codes: do not retry blindly */
}

const char *av_cql_error_name(int32_t code)
{
    for (int i = 0; i < NERRORS; i++)
        if (errors[i].code == code)
            return errors[i].name;
    return "unknown";
}

/* <cl><received><blockfor>: shared by timeouts and failures. */
static av_rc rd_cl_counts(struct av_cql_rd *r, struct av_cql_error *e)
{
    uint16_t cl;
    int32_t received, blockfor;
    av_rc rc;

    if ((rc = av_cql_rd_short(r, &cl, "error consistency")) != AV_OK ||
        (rc = av_cql_rd_int(r, &received, "error received")) != AV_OK ||
        (rc = av_cql_rd_int(r, &blockfor, "error blockfor")) != AV_OK)
        return rc;
    e->cl = cl;
    e->received = received;
    e->blockfor = blockfor;
    return AV_OK;
}

av_rc av_cql_error_decode(struct av_cql_error *e, const uint8_t *body, size_t n,
                          char *errbuf)
{
    struct av_cql_error t;
    struct av_cql_rd r;
    uint16_t cl;
    uint8_t b;
    int32_t v1, v2;
    int args;
    av_rc rc;

    memset(&t, 0, sizeof(t));
    av_cql_rd_init(&r, body, n, errbuf);
    if ((rc = av_cql_rd_int(&r, &t.code, "error code")) != AV_OK ||
        (rc = av_cql_rd_string(&r, &t.msg, &t.msg_len, "error message")) != AV_OK)
        return rc;
    switch (t.code) {
    case AV_CQL_E_UNAVAILABLE:
        if ((rc = av_cql_rd_short(&r, &cl, "error consistency")) != AV_OK ||
            (rc = av_cql_rd_int(&r, &v1, "error required")) != AV_OK ||
            (rc = av_cql_rd_int(&r, &v2, "error alive")) != AV_OK)
            return rc;
        t.cl = cl;
        t.required = v1;
        t.alive = v2;
        break;
    case AV_CQL_E_WRITE_TIMEOUT:
        if ((rc = rd_cl_counts(&r, &t)) != AV_OK ||
            (rc = av_cql_rd_string(&r, &t.write_type, &t.write_type_len, "write type")) !=
                AV_OK)
            return rc;
        break;
    case AV_CQL_E_READ_TIMEOUT:
        if ((rc = rd_cl_counts(&r, &t)) != AV_OK ||
            (rc = av_cql_rd_byte(&r, &b, "data present")) != AV_OK)
            return rc;
        t.data_present = b;
        break;
    case AV_CQL_E_READ_FAILURE:
        if ((rc = rd_cl_counts(&r, &t)) != AV_OK ||
            (rc = av_cql_rd_int(&r, &v1, "failure count")) != AV_OK ||
            (rc = av_cql_rd_byte(&r, &b, "data present")) != AV_OK)
            return rc;
        t.numfailures = v1;
        t.data_present = b;
        break;
    case AV_CQL_E_WRITE_FAILURE:
        if ((rc = rd_cl_counts(&r, &t)) != AV_OK ||
            (rc = av_cql_rd_int(&r, &v1, "failure count")) != AV_OK ||
            (rc = av_cql_rd_string(&r, &t.write_type, &t.write_type_len, "write type")) !=
                AV_OK)
            return rc;
        t.numfailures = v1;
        break;
    case AV_CQL_E_FUNCTION_FAILURE:
        if ((rc = av_cql_rd_string(&r, &t.ks, &t.ks_len, "function keyspace")) != AV_OK ||
            (rc = av_cql_rd_string(&r, &t.table, &t.table_len, "function name")) != AV_OK ||
            (rc = av_cql_rd_string_list(&r, &args, "function argument types")) != AV_OK)
            return rc;
        break;
    case AV_CQL_E_ALREADY_EXISTS:
        if ((rc = av_cql_rd_string(&r, &t.ks, &t.ks_len, "existing keyspace")) != AV_OK ||
            (rc = av_cql_rd_string(&r, &t.table, &t.table_len, "existing table")) != AV_OK)
            return rc;
        break;
    case AV_CQL_E_UNPREPARED:
        if ((rc = av_cql_rd_short_bytes(&r, &t.id, &t.id_len, "unprepared id")) != AV_OK)
            return rc;
        break;
    default:
        break;
    }
    *e = t;
    return AV_OK;
}

av_rc av_cql_error_report(const struct av_cql_error *e, char *errbuf)
{
    char extra[96] = "", msg[161];
    size_t n = e->msg_len < sizeof(msg) - 1 ? e->msg_len : sizeof(msg) - 1;

    /* one line: the server's control characters (newlines) become spaces */
    for (size_t i = 0; i < n; i++)
        msg[i] = (unsigned char)e->msg[i] < 0x20 ? ' ' : e->msg[i];
    msg[n] = '\0';

    switch (e->code) {
    case AV_CQL_E_UNAVAILABLE:
        snprintf(extra, sizeof(extra), " (%s: %d required, %d alive)",
                 av_cql_consistency_name(e->cl), e->required, e->alive);
        break;
    case AV_CQL_E_WRITE_TIMEOUT:
    case AV_CQL_E_WRITE_FAILURE:
    case AV_CQL_E_READ_TIMEOUT:
    case AV_CQL_E_READ_FAILURE:
        snprintf(extra, sizeof(extra), " (%s: %d of %d replicas answered)",
                 av_cql_consistency_name(e->cl), e->received, e->blockfor);
        break;
    default:
        break;
    }
    return av_fail(errbuf, av_cql_error_rc(e->code), "cassandra %s error (0x%04x): %s%s",
                   av_cql_error_name(e->code), (unsigned)e->code, msg, extra);
}

/* ---- handshake bodies -------------------------------------------------- */

static void copy_str(char *dst, size_t cap, const char *s, size_t n)
{
    if (dst == NULL || cap == 0)
        return;
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, s, n);
    dst[n] = '\0';
}

av_rc av_cql_supported_decode(const uint8_t *p, size_t n, char *cql_version, size_t cap,
                              char *errbuf)
{
    struct av_cql_rd r;
    uint16_t keys, vals;
    const char *k, *v;
    size_t klen, vlen;
    av_rc rc;

    copy_str(cql_version, cap, "", 0);
    av_cql_rd_init(&r, p, n, errbuf);
    if ((rc = av_cql_rd_short(&r, &keys, "SUPPORTED size")) != AV_OK)
        return rc;
    for (int i = 0; i < keys; i++) {
        if ((rc = av_cql_rd_string(&r, &k, &klen, "SUPPORTED key")) != AV_OK ||
            (rc = av_cql_rd_short(&r, &vals, "SUPPORTED value count")) != AV_OK)
            return rc;
        for (int j = 0; j < vals; j++) {
            if ((rc = av_cql_rd_string(&r, &v, &vlen, "SUPPORTED value")) != AV_OK)
                return rc;
            if (j == 0 && klen == 11 && memcmp(k, "CQL_VERSION", 11) == 0)
                copy_str(cql_version, cap, v, vlen);
        }
    }
    return AV_OK;
}

av_rc av_cql_authenticate_decode(const uint8_t *p, size_t n, char *cls, size_t cap,
                                 char *errbuf)
{
    struct av_cql_rd r;
    const char *s;
    size_t len;
    av_rc rc;

    av_cql_rd_init(&r, p, n, errbuf);
    if ((rc = av_cql_rd_string(&r, &s, &len, "authenticator class")) != AV_OK)
        return rc;
    copy_str(cls, cap, s, len);
    return AV_OK;
}

av_rc av_cql_token_decode(const uint8_t *p, size_t n, const uint8_t **tok, int32_t *len,
                          char *errbuf)
{
    struct av_cql_rd r;

    av_cql_rd_init(&r, p, n, errbuf);
    return av_cql_rd_bytes(&r, tok, len, "auth token");
}
