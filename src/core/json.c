/* json.c - JSON documents on top of jsmn (strict mode, parent links). */
#define JSMN_STATIC
#define JSMN_STRICT
#define JSMN_PARENT_LINKS
#include <jsmn.h>

#include "json.h"

#include <stdlib.h>
#include <string.h>

#define TOK(j, i) (((jsmntok_t *)(j)->tok)[i])

void av_json_init(struct av_json *j, int max_tokens, int max_depth)
{
    memset(j, 0, sizeof(*j));
    j->max_tokens = max_tokens > 0 ? max_tokens : (1 << 22);
    j->max_depth = max_depth > 0 ? max_depth : 64;
}

void av_json_free(struct av_json *j)
{
    free(j->tok);
    free(j->end);
    j->tok = NULL;
    j->end = NULL;
    j->cap = j->ntok = 0;
}

static int is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* RFC 8259 number grammar; also the three literals. */
static enum av_json_type primitive_type(const char *p, size_t n)
{
    size_t i = 0;

    if (n == 4 && memcmp(p, "true", 4) == 0)
        return AV_JSON_TRUE;
    if (n == 5 && memcmp(p, "false", 5) == 0)
        return AV_JSON_FALSE;
    if (n == 4 && memcmp(p, "null", 4) == 0)
        return AV_JSON_NULL;
    if (i < n && p[i] == '-')
        i++;
    if (i >= n)
        return AV_JSON_NONE;
    if (p[i] == '0')
        i++;
    else if (p[i] >= '1' && p[i] <= '9')
        while (i < n && p[i] >= '0' && p[i] <= '9')
            i++;
    else
        return AV_JSON_NONE;
    if (i < n && p[i] == '.') {
        size_t s = ++i;
        while (i < n && p[i] >= '0' && p[i] <= '9')
            i++;
        if (i == s)
            return AV_JSON_NONE;
    }
    if (i < n && (p[i] == 'e' || p[i] == 'E')) {
        size_t s;
        i++;
        if (i < n && (p[i] == '+' || p[i] == '-'))
            i++;
        s = i;
        while (i < n && p[i] >= '0' && p[i] <= '9')
            i++;
        if (i == s)
            return AV_JSON_NONE;
    }
    return i == n ? AV_JSON_NUMBER : AV_JSON_NONE;
}

/* Grows both arrays to at least n tokens, bounded by max_tokens. */
static av_rc grow(struct av_json *j, int n)
{
    int ncap = j->cap ? j->cap : 1024;
    void *t;
    int *e;

    while (ncap < n)
        ncap *= 2;
    if (ncap > j->max_tokens)
        ncap = j->max_tokens;
    t = realloc(j->tok, (size_t)ncap * sizeof(jsmntok_t));
    if (t == NULL)
        return AV_ENOMEM;
    j->tok = t;
    e = realloc(j->end, (size_t)ncap * sizeof(int));
    if (e == NULL)
        return AV_ENOMEM;
    j->end = e;
    j->cap = ncap;
    return AV_OK;
}

av_rc av_json_parse(struct av_json *j, const char *text, size_t len, char *errbuf)
{
    jsmn_parser p;
    const char *nul;
    int r, i;
    size_t k;

    j->text = text;
    j->len = len;
    j->ntok = 0;
    for (int q = 0; q < 8; q++)
        j->hint[q].obj = -1;
    if (len > 0x7fffffff)
        return av_fail(errbuf, AV_ELIMIT, "JSON document of %zu bytes is too large", len);
    nul = memchr(text, '\0', len);
    if (nul != NULL)
        return av_fail(errbuf, AV_EPARSE, "JSON contains a NUL byte at offset %zu",
                       (size_t)(nul - text));
    if (j->cap == 0 && grow(j, 1024) != AV_OK)
        return AV_ENOMEM;
    jsmn_init(&p);
    for (;;) {
        r = jsmn_parse(&p, text, len, (jsmntok_t *)j->tok, (unsigned)j->cap);
        if (r != JSMN_ERROR_NOMEM)
            break;
        if (j->cap >= j->max_tokens)
            return av_fail(errbuf, AV_ELIMIT, "JSON has more than %d tokens (limit)",
                           j->max_tokens);
        if (grow(j, j->cap * 2) != AV_OK)
            return AV_ENOMEM;
    }
    if (r < 0)
        return av_fail(errbuf, AV_EPARSE, "invalid JSON near byte %u: %s", p.pos,
                       r == JSMN_ERROR_PART ? "document ends early (truncated?)"
                                            : "unexpected character");
    if (r == 0)
        return av_fail(errbuf, AV_EPARSE, "empty JSON document");
    j->ntok = r;
    for (i = 0; i < r; i++)
        j->end[i] = i + 1;

    /* Subtree ends (children follow their parent), then checks. */
    for (i = r - 1; i > 0; i--) {
        int par = TOK(j, i).parent;
        if (par < 0 || par >= i)
            return av_fail(errbuf, AV_EPARSE, "invalid JSON: more than one root value");
        if (j->end[par] < j->end[i])
            j->end[par] = j->end[i];
    }
    if (j->end[0] != r)
        return av_fail(errbuf, AV_EPARSE, "invalid JSON: more than one root value");
    for (k = (size_t)TOK(j, 0).end; k < len; k++)
        if (!is_ws(text[k]))
            return av_fail(errbuf, AV_EPARSE, "invalid JSON: trailing bytes at offset %zu", k);
    {
        /* depth via parent chain, computed forward into a small stack-free
         * pass: depth[i] = depth[parent] + 1, reusing .end is not possible,
         * so walk up at most max_depth steps for container tokens only. */
        for (i = 0; i < r; i++) {
            jsmntok_t *t = &TOK(j, i);
            if (t->type == JSMN_PRIMITIVE) {
                if (primitive_type(text + t->start, (size_t)(t->end - t->start)) ==
                    AV_JSON_NONE)
                    return av_fail(errbuf, AV_EPARSE, "invalid JSON value at byte %d",
                                   t->start);
            } else if (t->type == JSMN_OBJECT) {
                int c = i + 1;
                for (int m = 0; m < t->size; m++) {
                    if (TOK(j, c).type != JSMN_STRING || TOK(j, c).size != 1)
                        return av_fail(errbuf, AV_EPARSE,
                                       "invalid JSON object member at byte %d",
                                       TOK(j, c).start);
                    c = j->end[c];
                }
            }
            if (t->type == JSMN_OBJECT || t->type == JSMN_ARRAY) {
                int d = 0, q = t->parent;
                while (q >= 0 && d <= j->max_depth) {
                    if (TOK(j, q).type != JSMN_STRING)
                        d++;
                    q = TOK(j, q).parent;
                }
                if (d >= j->max_depth)
                    return av_fail(errbuf, AV_ELIMIT,
                                   "JSON nested deeper than %d levels at byte %d",
                                   j->max_depth, t->start);
            }
        }
    }
    return AV_OK;
}

enum av_json_type av_json_type(const struct av_json *j, int i)
{
    const jsmntok_t *t;

    if (i < 0 || i >= j->ntok)
        return AV_JSON_NONE;
    t = &TOK(j, i);
    switch (t->type) {
    case JSMN_OBJECT:
        return AV_JSON_OBJECT;
    case JSMN_ARRAY:
        return AV_JSON_ARRAY;
    case JSMN_STRING:
        return AV_JSON_STRING;
    case JSMN_PRIMITIVE:
        return primitive_type(j->text + t->start, (size_t)(t->end - t->start));
    default:
        return AV_JSON_NONE;
    }
}

int av_json_size(const struct av_json *j, int i)
{
    if (i < 0 || i >= j->ntok)
        return 0;
    return TOK(j, i).size;
}

int av_json_skip(const struct av_json *j, int i)
{
    return j->end[i];
}

int av_json_get(struct av_json *j, int obj, const char *key)
{
    size_t klen;
    int c, n, m, start_c, start_m;
    struct av_json_hint *h;

    if (obj < 0 || obj >= j->ntok || TOK(j, obj).type != JSMN_OBJECT)
        return -1;
    n = TOK(j, obj).size;
    if (n == 0)
        return -1;
    klen = strlen(key);
    h = &j->hint[obj & 7];
    if (h->obj == obj && h->m + 1 < n) {
        start_m = h->m + 1;
        start_c = j->end[h->key + 1];
    } else {
        start_m = 0;
        start_c = obj + 1;
    }
    c = start_c;
    m = start_m;
    for (int k = 0; k < n; k++) {
        const jsmntok_t *t = &TOK(j, c);
        if ((size_t)(t->end - t->start) == klen && memcmp(j->text + t->start, key, klen) == 0) {
            h->obj = obj;
            h->key = c;
            h->m = m;
            return c + 1;
        }
        if (++m == n) {
            m = 0;
            c = obj + 1;
        } else {
            c = j->end[c + 1];
        }
    }
    return -1;
}

const char *av_json_raw(const struct av_json *j, int i, size_t *len)
{
    const jsmntok_t *t = &TOK(j, i);

    *len = (size_t)(t->end - t->start);
    return j->text + t->start;
}

const char *av_json_span(const struct av_json *j, int i, size_t *len)
{
    const jsmntok_t *t = &TOK(j, i);

    if (t->type == JSMN_STRING) {
        *len = (size_t)(t->end - t->start) + 2;
        return j->text + t->start - 1;
    }
    *len = (size_t)(t->end - t->start);
    return j->text + t->start;
}

static av_rc parse_int(const char *p, size_t n, int64_t *out)
{
    int64_t v = 0;
    size_t i = 0;
    int neg = 0;

    while (n > 0 && is_ws(p[n - 1]))
        n--;
    while (i < n && is_ws(p[i]))
        i++;
    if (i < n && p[i] == '-') {
        neg = 1;
        i++;
    }
    if (i >= n)
        return AV_EPARSE;
    for (; i < n && p[i] >= '0' && p[i] <= '9'; i++) {
        if (v > (INT64_MAX - 9) / 10)
            return AV_EPARSE;
        v = v * 10 + (p[i] - '0');
    }
    if (i < n && p[i] == '.') { /* allow "3.0" */
        for (i++; i < n && p[i] == '0'; i++)
            ;
    }
    if (i != n)
        return AV_EPARSE;
    *out = neg ? -v : v;
    return AV_OK;
}

av_rc av_json_int(const struct av_json *j, int i, int64_t *out)
{
    enum av_json_type ty = av_json_type(j, i);
    size_t n;
    const char *p;

    if (ty != AV_JSON_NUMBER && ty != AV_JSON_STRING)
        return AV_EPARSE;
    p = av_json_raw(j, i, &n);
    if (ty == AV_JSON_STRING && (n == 0 || memchr(p, '\\', n) != NULL))
        return AV_EPARSE;
    return parse_int(p, n, out);
}

av_rc av_json_bool(const struct av_json *j, int i, int *out)
{
    switch (av_json_type(j, i)) {
    case AV_JSON_TRUE:
        *out = 1;
        return AV_OK;
    case AV_JSON_FALSE:
        *out = 0;
        return AV_OK;
    default:
        return AV_EPARSE;
    }
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int hex4(const char *p, size_t n)
{
    int v = 0;

    if (n < 4)
        return -1;
    for (int k = 0; k < 4; k++) {
        int h = hexval(p[k]);
        if (h < 0)
            return -1;
        v = v * 16 + h;
    }
    return v;
}

static size_t put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Length of a valid UTF-8 sequence at p (n bytes left), or 0. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
    unsigned c = p[0];

    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        return n >= 2 && (p[1] & 0xC0) == 0x80 ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        if (n < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80)
            return 0;
        if ((c == 0xE0 && p[1] < 0xA0) || (c == 0xED && p[1] > 0x9F))
            return 0;
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (n < 4 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 ||
            (p[3] & 0xC0) != 0x80)
            return 0;
        if ((c == 0xF0 && p[1] < 0x90) || (c == 0xF4 && p[1] > 0x8F))
            return 0;
        return 4;
    }
    return 0;
}

av_rc av_json_str(const struct av_json *j, int i, struct av_buf *out, size_t *off)
{
    const char *p;
    size_t n, k = 0;
    char *o;
    av_rc rc;

    if (av_json_type(j, i) != AV_JSON_STRING)
        return AV_EPARSE;
    p = av_json_raw(j, i, &n);
    /* Worst case: each invalid byte becomes 3 bytes of U+FFFD. */
    rc = av_buf_reserve(out, n * 3 + 1);
    if (rc != AV_OK)
        return rc;
    *off = out->len;
    o = out->data + out->len;
    while (k < n) {
        unsigned char c = (unsigned char)p[k];
        if (c == '\\' && k + 1 < n) {
            char e = p[k + 1];
            k += 2;
            switch (e) {
            case 'n': *o++ = '\n'; break;
            case 't': *o++ = '\t'; break;
            case 'r': *o++ = '\r'; break;
            case 'b': *o++ = '\b'; break;
            case 'f': *o++ = '\f'; break;
            case 'u': {
                int cp = hex4(p + k, n - k), lo;
                if (cp < 0) {
                    o += put_utf8(o, 0xFFFD);
                    break;
                }
                k += 4;
                if (cp >= 0xD800 && cp <= 0xDBFF && k + 6 <= n && p[k] == '\\' &&
                    p[k + 1] == 'u' && (lo = hex4(p + k + 2, n - k - 2)) >= 0xDC00 &&
                    lo <= 0xDFFF) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    k += 6;
                } else if (cp >= 0xD800 && cp <= 0xDFFF) {
                    cp = 0xFFFD;
                } else if (cp == 0) {
                    cp = 0xFFFD; /* no NULs inside C strings */
                }
                o += put_utf8(o, (unsigned)cp);
                break;
            }
            default: *o++ = e; break; /* \" \\ \/ */
            }
        } else if (c < 0x80) {
            *o++ = (char)c;
            k++;
        } else {
            size_t l = utf8_len((const unsigned char *)p + k, n - k);
            if (l == 0) {
                o += put_utf8(o, 0xFFFD);
                k++;
            } else {
                memcpy(o, p + k, l);
                o += l;
                k += l;
            }
        }
    }
    *o = '\0';
    out->len = (size_t)(o - out->data) + 1; /* keep the NUL: strings stay apart */
    return AV_OK;
}

av_rc av_json_quote(struct av_buf *out, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    av_rc rc = av_buf_reserve(out, strlen(s) * 6 + 2);
    char *o;

    if (rc != AV_OK)
        return rc;
    o = out->data + out->len;
    *o++ = '"';
    for (; *p; p++) {
        switch (*p) {
        case '"': *o++ = '\\'; *o++ = '"'; break;
        case '\\': *o++ = '\\'; *o++ = '\\'; break;
        case '\n': *o++ = '\\'; *o++ = 'n'; break;
        case '\r': *o++ = '\\'; *o++ = 'r'; break;
        case '\t': *o++ = '\\'; *o++ = 't'; break;
        default:
            if (*p < 0x20) {
                memcpy(o, "\\u00", 4);
                o[4] = hex[*p >> 4];
                o[5] = hex[*p & 15];
                o += 6;
            } else {
                *o++ = (char)*p;
            }
        }
    }
    *o++ = '"';
    *o = '\0';
    out->len = (size_t)(o - out->data);
    return AV_OK;
}
