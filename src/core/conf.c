/* conf.c - option tables, config file, environment and flags. */
#include "conf.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct av_conf_val {
    const struct av_opt *opt; /* NULL for wildcard extras */
    char *section;            /* extras only */
    char *name;               /* extras only */
    char *str;
    long long i;
};

static av_rc push(struct av_conf *c, struct av_conf_val **out)
{
    if (c->n == c->cap) {
        int ncap = c->cap ? c->cap * 2 : 32;
        struct av_conf_val *p = realloc(c->v, (size_t)ncap * sizeof(*p));
        if (p == NULL)
            return AV_ENOMEM;
        c->v = p;
        c->cap = ncap;
    }
    *out = &c->v[c->n++];
    memset(*out, 0, sizeof(**out));
    return AV_OK;
}

static int key_is(const struct av_opt *o, const char *sec, size_t slen, const char *name)
{
    return strlen(o->section) == slen && strncmp(o->section, sec, slen) == 0 &&
           strcmp(o->name, name) == 0;
}

static av_rc check_set(struct av_conf_val *v, const char *value, const char *origin,
                       char *errbuf)
{
    const struct av_opt *o = v->opt;
    char *end, *copy;
    long long n = 0;

    if (o != NULL && o->type == AV_OPT_INT) {
        errno = 0;
        n = strtoll(value, &end, 10);
        if (errno || end == value || *end != '\0')
            return av_fail(errbuf, AV_EINVAL, "%s: %s.%s = \"%s\" is not an integer",
                           origin, o->section, o->name, value);
        if (n < o->min || n > o->max)
            return av_fail(errbuf, AV_EINVAL, "%s: %s.%s = %lld is out of range %lld..%lld",
                           origin, o->section, o->name, n, o->min, o->max);
    } else if (o != NULL && o->type == AV_OPT_ENUM) {
        const char *p = o->choices;
        size_t vl = strlen(value);
        int ok = 0;
        while (*p) {
            size_t l = strcspn(p, "|");
            if (l == vl && strncmp(p, value, l) == 0)
                ok = 1;
            p += l + (p[l] == '|');
        }
        if (!ok)
            return av_fail(errbuf, AV_EINVAL, "%s: %s.%s = \"%s\" must be one of %s", origin,
                           o->section, o->name, value, o->choices);
    }
    copy = strdup(value);
    if (copy == NULL)
        return AV_ENOMEM;
    free(v->str);
    v->str = copy;
    v->i = n;
    return AV_OK;
}

av_rc av_conf_init(struct av_conf *c, const struct av_opt *const *tables, char *errbuf)
{
    struct av_conf_val *v;
    av_rc rc;

    memset(c, 0, sizeof(*c));
    for (; *tables; tables++) {
        for (const struct av_opt *o = *tables; o->section; o++) {
            rc = push(c, &v);
            if (rc != AV_OK)
                goto fail;
            v->opt = o;
            if (strcmp(o->name, "*") == 0)
                continue;
            rc = check_set(v, o->def, "default", errbuf);
            if (rc != AV_OK)
                goto fail;
        }
    }
    return AV_OK;
fail:
    av_conf_free(c);
    return rc;
}

void av_conf_free(struct av_conf *c)
{
    for (int k = 0; k < c->n; k++) {
        free(c->v[k].str);
        free(c->v[k].section);
        free(c->v[k].name);
    }
    free(c->v);
    memset(c, 0, sizeof(*c));
}

static av_rc set_split(struct av_conf *c, const char *sec, size_t slen, const char *name,
                       const char *value, const char *origin, char *errbuf)
{
    struct av_conf_val *v;
    int wildcard = 0;
    av_rc rc;

    for (int k = 0; k < c->n; k++) {
        const struct av_opt *o = c->v[k].opt;
        if (o == NULL) {
            if (strlen(c->v[k].section) == slen && strncmp(c->v[k].section, sec, slen) == 0 &&
                strcmp(c->v[k].name, name) == 0)
                return check_set(&c->v[k], value, origin, errbuf);
            continue;
        }
        if (strcmp(o->name, "*") == 0 && strlen(o->section) == slen &&
            strncmp(o->section, sec, slen) == 0)
            wildcard = 1;
        else if (key_is(o, sec, slen, name))
            return check_set(&c->v[k], value, origin, errbuf);
    }
    if (!wildcard)
        return av_fail(errbuf, AV_EINVAL,
                       "%s: unknown setting \"%.*s.%s\" (see `avalanche help-config`)", origin,
                       (int)slen, sec, name);
    rc = push(c, &v);
    if (rc != AV_OK)
        return rc;
    v->section = strndup(sec, slen);
    v->name = strdup(name);
    if (v->section == NULL || v->name == NULL)
        return AV_ENOMEM;
    return check_set(v, value, origin, errbuf);
}

av_rc av_conf_set(struct av_conf *c, const char *key, const char *value, const char *origin,
                  char *errbuf)
{
    const char *dot = strchr(key, '.');

    if (dot == NULL || dot == key || dot[1] == '\0')
        return av_fail(errbuf, AV_EINVAL, "%s: \"%s\" is not of the form section.key", origin,
                       key);
    return set_split(c, key, (size_t)(dot - key), dot + 1, value, origin, errbuf);
}

static char *trim(char *s)
{
    char *e;

    while (isspace((unsigned char)*s))
        s++;
    e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

/* One "key = value" line of a file: set it, unless this file set the same
 * key before (a duplicate is an error naming both lines). */
struct seen_keys {
    char **keys;
    int *lines;
    int n, cap;
};

static av_rc set_once(struct av_conf *c, struct seen_keys *sk, const char *section,
                      const char *key, const char *val, const char *origin, int lineno,
                      char *errbuf)
{
    char full[256];
    av_rc rc;

    if (section[0])
        snprintf(full, sizeof(full), "%s.%s", section, key);
    else
        snprintf(full, sizeof(full), "%s", key);
    for (int k = 0; k < sk->n; k++)
        if (strcmp(sk->keys[k], full) == 0)
            return av_fail(errbuf, AV_EPARSE, "%s: %s is set twice in this file (first on line "
                           "%d); keep one", origin, full, sk->lines[k]);
    if (section[0])
        rc = set_split(c, section, strlen(section), key, val, origin, errbuf);
    else /* before any [section]: "section.key = v" */
        rc = av_conf_set(c, key, val, origin, errbuf);
    if (rc != AV_OK)
        return rc;
    if (sk->n == sk->cap) {
        int cap = sk->cap ? sk->cap * 2 : 16;
        char **k2 = realloc(sk->keys, (size_t)cap * sizeof(*k2));
        int *l2 = k2 ? realloc(sk->lines, (size_t)cap * sizeof(*l2)) : NULL;
        if (k2)
            sk->keys = k2;
        if (l2 == NULL)
            return AV_ENOMEM;
        sk->lines = l2;
        sk->cap = cap;
    }
    if ((sk->keys[sk->n] = strdup(full)) == NULL)
        return AV_ENOMEM;
    sk->lines[sk->n++] = lineno;
    return AV_OK;
}

av_rc av_conf_load_text(struct av_conf *c, const char *name, const char *text, size_t len,
                        char *errbuf)
{
    char line[4096], section[64] = "", origin[300];
    struct seen_keys sk = {NULL, NULL, 0, 0};
    size_t pos = 0;
    int lineno = 0;
    av_rc rc = AV_OK;

    if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
        pos = 3; /* a UTF-8 byte order mark (Windows editors write one) */
    while (pos < len && rc == AV_OK) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t l = nl ? (size_t)(nl - (text + pos)) : len - pos;
        char *s, *eq, *key, *val;

        lineno++;
        snprintf(origin, sizeof(origin), "%s:%d", name, lineno);
        if (memchr(text + pos, '\0', l) != NULL) {
            rc = av_fail(errbuf, AV_EPARSE, "%s: a NUL byte in the line (not a config file?)",
                         origin);
            break;
        }
        if (l >= sizeof(line)) {
            rc = av_fail(errbuf, AV_EPARSE, "%s: line longer than %zu bytes", origin,
                         sizeof(line) - 1);
            break;
        }
        memcpy(line, text + pos, l);
        line[l] = '\0';
        pos += l + (nl != NULL);
        s = trim(line);
        if (*s == '\0' || *s == '#' || *s == ';')
            continue;
        if (*s == '[') {
            char *e = strchr(s, ']');
            if (e == NULL || e[1] != '\0' || e - s - 1 <= 0 ||
                (size_t)(e - s - 1) >= sizeof(section)) {
                rc = av_fail(errbuf, AV_EPARSE, "%s: bad section header \"%s\"", origin, s);
                break;
            }
            *e = '\0';
            snprintf(section, sizeof(section), "%s", trim(s + 1));
            if (section[0] == '\0')
                rc = av_fail(errbuf, AV_EPARSE, "%s: empty section header", origin);
            continue;
        }
        eq = strchr(s, '=');
        if (eq == NULL) {
            rc = av_fail(errbuf, AV_EPARSE, "%s: expected \"key = value\", got \"%.200s\"",
                         origin, s);
            break;
        }
        *eq = '\0';
        key = trim(s);
        val = trim(eq + 1);
        if (strlen(val) >= 2 && val[0] == '"' && val[strlen(val) - 1] == '"') {
            val[strlen(val) - 1] = '\0';
            val++;
        }
        rc = set_once(c, &sk, section, key, val, origin, lineno, errbuf);
    }
    for (int k = 0; k < sk.n; k++)
        free(sk.keys[k]);
    free(sk.keys);
    free(sk.lines);
    return rc;
}

av_rc av_conf_load_file(struct av_conf *c, const char *path, char *errbuf)
{
    enum { MAX_FILE = 1 << 20 };
    FILE *f = fopen(path, "rb");
    char *text;
    size_t n;
    av_rc rc;

    if (f == NULL)
        return av_fail(errbuf, AV_EIO, "cannot open config file %s: %s", path, strerror(errno));
    text = malloc(MAX_FILE + 1);
    if (text == NULL) {
        fclose(f);
        return AV_ENOMEM;
    }
    n = fread(text, 1, MAX_FILE + 1, f);
    if (ferror(f))
        rc = av_fail(errbuf, AV_EIO, "error reading %s: %s", path, strerror(errno));
    else if (n > MAX_FILE)
        rc = av_fail(errbuf, AV_EPARSE, "%s is larger than 1 MiB: not a config file?", path);
    else
        rc = av_conf_load_text(c, path, text, n, errbuf);
    free(text);
    fclose(f);
    return rc;
}

av_rc av_conf_load_env(struct av_conf *c, char *errbuf)
{
    char name[160], origin[200];
    av_rc rc;

    for (int k = 0; k < c->n; k++) {
        const struct av_opt *o = c->v[k].opt;
        const char *val;
        size_t p = 0;

        if (o == NULL || strcmp(o->name, "*") == 0)
            continue;
        p = (size_t)snprintf(name, sizeof(name), "AVALANCHE_%s_%s", o->section, o->name);
        for (size_t q = 0; q < p && q < sizeof(name); q++)
            name[q] = (char)(name[q] == '.' ? '_' : toupper((unsigned char)name[q]));
        val = getenv(name);
        if (val == NULL)
            continue;
        snprintf(origin, sizeof(origin), "environment %s", name);
        rc = check_set(&c->v[k], val, origin, errbuf);
        if (rc != AV_OK)
            return rc;
    }
    return AV_OK;
}

static const struct av_conf_val *find(const struct av_conf *c, const char *key)
{
    const char *dot = strchr(key, '.');

    for (int k = 0; dot && k < c->n; k++) {
        const struct av_opt *o = c->v[k].opt;
        if (o != NULL && key_is(o, key, (size_t)(dot - key), dot + 1))
            return &c->v[k];
    }
    fprintf(stderr, "internal error: unknown config key %s\n", key);
    abort();
}

const char *av_conf_str(const struct av_conf *c, const char *key)
{
    return find(c, key)->str;
}

long long av_conf_int(const struct av_conf *c, const char *key)
{
    return find(c, key)->i;
}

void av_conf_each_extra(const struct av_conf *c, const char *section,
                        void (*fn)(const char *key, const char *value, void *ud), void *ud)
{
    for (int k = 0; k < c->n; k++)
        if (c->v[k].opt == NULL && strcmp(c->v[k].section, section) == 0)
            fn(c->v[k].name, c->v[k].str, ud);
}

/* Sections in the order they first appear (modules register their keys
 * in several tables: plan.* comes from the planner and from the points),
 * each printed once with all of its keys. */
void av_conf_describe(const struct av_conf *c, void *file)
{
    FILE *f = file;

    for (int s = 0; s < c->n; s++) {
        const struct av_opt *head = c->v[s].opt;
        int seen = 0;
        if (head == NULL)
            continue;
        for (int p = 0; p < s && !seen; p++)
            seen = c->v[p].opt != NULL && strcmp(c->v[p].opt->section, head->section) == 0;
        if (seen)
            continue;
        fprintf(f, "\n[%s]\n", head->section);
        for (int k = s; k < c->n; k++) {
            const struct av_opt *o = c->v[k].opt;
            if (o == NULL || strcmp(o->section, head->section) != 0)
                continue;
            if (strcmp(o->name, "*") == 0) {
                fprintf(f, "# %s.* : %s\n", o->section, o->help);
                continue;
            }
            fprintf(f, "# %s", o->help);
            if (o->type == AV_OPT_INT)
                fprintf(f, " (%lld..%lld)", o->min, o->max);
            else if (o->type == AV_OPT_ENUM)
                fprintf(f, " (%s)", o->choices);
            fprintf(f, "\n%s = %s\n", o->name, o->def);
        }
    }
}
