/* json.h - read-only JSON documents (our own tokenizer; no library).
 *
 * av_json_parse() tokenizes a whole document (no copies of the text, one
 * token array) and checks it: strict grammar for primitives, string keys,
 * one root value, no NUL bytes, nesting no deeper than max_depth, at most
 * max_tokens tokens. After that, navigation is by token index: values are
 * read on demand, strings are unescaped into caller-owned memory.
 *
 * Why our own: jsmn (Debian) was the first choice by the measurements of
 * design.md §9 (jansson ~6x slower, simdjson is C++). Measured here on the
 * benchmark corpus, one warning at a time, this one-pass tokenizer with
 * SSE2 string scanning parses ~1.4x faster than jsmn in the configuration
 * we need (strict, parent links) and checks the grammar more strictly
 * (trailing commas, missing colons); see bench/README.md.
 *
 * The document borrows the text; keep it alive while reading. One struct
 * can be reused for many documents (its arrays grow, bounded by the limits).
 */
#ifndef AV_JSON_H
#define AV_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

enum av_json_type {
    AV_JSON_NONE = 0,
    AV_JSON_OBJECT,
    AV_JSON_ARRAY,
    AV_JSON_STRING,
    AV_JSON_NUMBER,
    AV_JSON_TRUE,
    AV_JSON_FALSE,
    AV_JSON_NULL,
};

struct av_json {
    const char *text;
    size_t len;
    void *tok;      /* token array [cap], private to json.c */
    int *end;       /* end[i]: index past the subtree of token i */
    int ntok;
    int cap;
    int max_tokens; /* ceiling, e.g. 1 << 22 */
    int max_depth;  /* ceiling, e.g. 64 */
    struct av_json_hint { /* av_json_get() resumes after its last hit, per object */
        int obj, key, m;
    } hint[8];
};

/* Sets limits; no allocation. */
void av_json_init(struct av_json *j, int max_tokens, int max_depth);
void av_json_free(struct av_json *j);

/* Tokenizes text[0..len). On error writes a line naming the byte offset. */
av_rc av_json_parse(struct av_json *j, const char *text, size_t len, char *errbuf);

enum av_json_type av_json_type(const struct av_json *j, int i);
/* Number of elements (array) or members (object). */
int av_json_size(const struct av_json *j, int i);
/* Index just past the subtree rooted at i (the next sibling, if any). */
int av_json_skip(const struct av_json *j, int i);
/* First child of an array, or first key of an object; then use skip(). */
static inline int av_json_first(int i) { return i + 1; }
/* Member value of object i by exact key, or -1 (also when i < 0 or not an
 * object). Keys are compared byte for byte without unescaping. The search
 * starts after the previous hit in the same object and wraps around, so
 * reading members in document order costs one comparison each. */
int av_json_get(struct av_json *j, int obj, const char *key);
/* Raw bytes of token i (for strings: without the quotes). */
const char *av_json_raw(const struct av_json *j, int i, size_t *len);
/* Bytes of the whole value at i, with quotes/brackets (for copying). */
const char *av_json_span(const struct av_json *j, int i, size_t *len);

/* Integer from a number (no fraction/exponent beyond ".0") or from a
 * string holding one (the API sends DangerLevel as "3"). AV_EPARSE when
 * absent, null or not an integer. */
av_rc av_json_int(const struct av_json *j, int i, int64_t *out);
/* true/false; AV_EPARSE otherwise. */
av_rc av_json_bool(const struct av_json *j, int i, int *out);
/* Unescapes string i into out (appending, NUL-terminated, invalid UTF-8
 * replaced by U+FFFD) and sets *off to the start offset in out->data.
 * AV_EPARSE if i is not a string. */
av_rc av_json_str(const struct av_json *j, int i, struct av_buf *out, size_t *off);

/* Appends s as a JSON string literal (quoted, escaped) to out. */
av_rc av_json_quote(struct av_buf *out, const char *s);

#endif
