/* conf.h - configuration: one option table per module, one parser for the
 * file, the environment and the command line.
 *
 * Each module declares its options as a const struct av_opt table (section,
 * name, type, default, bounds, help). av_conf_init() gathers the tables and
 * loads the defaults; then, in order of precedence:
 *   av_conf_load_file()  `[section]` headers, `key = value` lines, `#` or `;`
 *                        comments; unknown sections/keys are errors with
 *                        file:line;
 *   av_conf_load_env()   AVALANCHE_<SECTION>_<KEY>, e.g. AVALANCHE_API_BASE;
 *   av_conf_set()        "section.key" = value, from flags and -X.
 * Every value is checked against its type and bounds when it is set; a bad
 * value is an error naming where it came from and what is allowed.
 *
 * A table may end its section with a wildcard entry (name "*", type STR):
 * then any key of that section is accepted and kept verbatim for a library
 * that takes its own settings (kafka.* for librdkafka).
 */
#ifndef AV_CONF_H
#define AV_CONF_H

#include <stddef.h>

#include "err.h"

enum av_opt_type { AV_OPT_STR, AV_OPT_INT, AV_OPT_ENUM };

struct av_opt {
    const char *section;
    const char *name;
    enum av_opt_type type;
    const char *def;   /* default, as text */
    long long min;     /* INT bounds */
    long long max;
    const char *choices; /* ENUM: "a|b|c" */
    const char *help;
};

struct av_conf_val;

struct av_conf {
    struct av_conf_val *v;
    int n;
    int cap;
};

/* tables: NULL-terminated array of tables, each ending with {NULL}. */
av_rc av_conf_init(struct av_conf *c, const struct av_opt *const *tables, char *errbuf);
void av_conf_free(struct av_conf *c);

av_rc av_conf_load_file(struct av_conf *c, const char *path, char *errbuf);
/* The same from memory (name says where it came from, in messages): a
 * leading UTF-8 BOM is skipped; a NUL byte, a line over 4095 bytes or a key
 * set twice is an error with name:line. */
av_rc av_conf_load_text(struct av_conf *c, const char *name, const char *text, size_t len,
                        char *errbuf);
av_rc av_conf_load_env(struct av_conf *c, char *errbuf);
/* key is "section.name"; origin names the source for error messages. */
av_rc av_conf_set(struct av_conf *c, const char *key, const char *value,
                  const char *origin, char *errbuf);

/* Getters abort() on an unknown key: that is a programming error. */
const char *av_conf_str(const struct av_conf *c, const char *key);
long long av_conf_int(const struct av_conf *c, const char *key);

/* Calls fn for each wildcard-section key set (e.g. every kafka.* entry). */
void av_conf_each_extra(const struct av_conf *c, const char *section,
                        void (*fn)(const char *key, const char *value, void *ud), void *ud);

/* Writes every option with default and help (for --help-config). */
void av_conf_describe(const struct av_conf *c, void *file);

#endif
