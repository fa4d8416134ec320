/* params.h - what `serve` accepts from the network, parsed strictly: the
 * query parameters and paths of the HTTP API and the --listen address.
 *
 * Pure code (no libmicrohttpd, no I/O), so tests/fuzz/fuzz_params.c runs
 * every parser on arbitrary bytes. Values arrive percent-decoded. Each
 * accepts only the canonical spelling of what it returns: formatting the
 * result gives back the input (no sign, no leading zeros, no spaces), so
 * "/region/+3022", "/region/03022" and "/region/4294970318" are not 3022.
 *
 * Tri-state results: 1 a good value (*out set), 0 absent (NULL or ""),
 * -1 present but bad (the caller answers 400 naming the parameter).
 */
#ifndef AV_PARAMS_H
#define AV_PARAMS_H

#include <stddef.h>
#include <stdint.h>

#include "../core/err.h"

/* n bytes of valid UTF-8 (shortest forms, no surrogates) without NUL. */
int av_param_text_ok(const char *p, size_t n);

/* A decimal integer in lo..hi (lo >= 0), at most 9 digits. */
int av_param_int(const char *v, long lo, long hi, long *out);

/* YYYY-MM-DD, a real calendar day (days since 1970-01-01). */
int av_param_date(const char *v, int64_t *out);

/* REGION:YYYY-MM-DD:LANG, the paging cursor of /api/warnings (lang 1|2). */
int av_param_after(const char *v, int *region, int64_t *date, int *lang);

/* "/region/ID": the id of a catalog region, else 0. */
int av_param_region_path(const char *path);

/* Seasons: 1 Oct of the first year to 30 Jun of the next, named
 * "YYYY-YY" ("2022-23"; "1999-00"). First years AV_SEASON_MIN..
 * AV_SEASON_MAX, so both years lie in 1900-2199. */
#define AV_SEASON_MIN 1900
#define AV_SEASON_MAX 2198

/* "YYYY-YY", the second year the first + 1 (mod 100), the first in
 * AV_SEASON_MIN..AV_SEASON_MAX: *first_year, tri-state. */
int av_param_season(const char *v, int *first_year);

/* "/season/YYYY-YY": 1 a season (*first_year set); 0 not of that shape
 * (exactly 4 digits, '-', 2 digits after the prefix: the caller answers
 * 404); -1 of that shape but not a season ("2022-24", "1899-00": 400
 * naming "season"). */
int av_param_season_path(const char *path, int *first_year);

/* "ADDR:PORT": an IPv4 address and a port 0-65535 (digits only). */
av_rc av_param_listen(const char *listen, char *host, size_t cap, int *port, char *errbuf);

#endif
