/* caaml.h - warnings as a CAAMLv6 bulletin collection (the EAWS JSON
 * standard that avalanche.report, pyAvaCore and other European services
 * exchange), valid against the official schema with format checking.
 *
 * One bulletin per warning (region, day, language); a document is one
 * language. The mapping, every choice and why: docs/caaml.md. In short:
 * regionID "NO-<id>" with the region's name; bulletinID "NO-<id>_<date>",
 * the same bulletin in both languages and never RegId (0 on not-assessed
 * days); times as Oslo local time with their UTC offset; level 0 =
 * no_rating; problem types 3/7 new_snow, 5/45 wet_snow, 10 wind_slab,
 * 30/37 persistent_weak_layers, 50 gliding_snow (others go to customData);
 * elevations from every ExposedHeightFill (3, above H1 and below H2, is two
 * problem entries); sensitivity -> snowpackStability, propagation ->
 * frequency, destructive size -> avalancheSize; texts HTML-escaped with
 * <br/> for line breaks in their CAAML homes; the next day's warning, when
 * the caller hands it over, gives the tendency; what CAAML has no field
 * for goes to customData.NVE under the Varsom API's own key names.
 *
 * Pure code: no I/O, no clock. Text is appended to an av_buf (whose
 * `failed` flag says when its ceiling cut it). A document is written in
 * order, bulletin by bulletin: av_caaml_doc_add() holds the last bulletin
 * back until the next call shows whether the next day follows (its
 * tendency), so warnings must come in (region, date) order, one language.
 */
#ifndef AV_CAAML_H
#define AV_CAAML_H

#include <stdint.h>

#include "../core/buf.h"
#include "../model/record.h"

/* ---- the mapping, one value at a time (NULL / 0: no CAAML value) ---- */

/* Danger level 0-5 -> "no_rating", "low" ... "very_high"; NULL otherwise. */
const char *av_caaml_danger(int level);
/* AvalancheProblemTypeId -> problemType; NULL for 0 and unknown ids. */
const char *av_caaml_problem_type(int type_id);
/* AvalTriggerSensitivityId (10/20/30/40/45), else AvalTriggerSimpleId
 * (10/21/22; API 6.0) -> snowpackStability; NULL when neither maps. */
const char *av_caaml_stability(int sensitivity_id, int trigger_simple_id);
/* AvalPropagationId 1/2/3 -> "few", "some", "many"; NULL otherwise. */
const char *av_caaml_frequency(int propagation_id);
/* DestructiveSizeExtId 1-5 -> avalancheSize 1-5; 0 when not given. */
int av_caaml_size(int destructive_size_id);

/* An elevation for CAAML: bounds in metres (multiples of 100), or
 * AV_NULL_INT for an open end; both open = no elevation object. */
struct av_caaml_elev {
    int lower, upper;
};
/* The elevations of a problem from ExposedHeightFill, H1 and H2: 1 above
 * H1, 2 below H1, 4 between H2 and H1, 3 above H1 and below H2 (two
 * entries). A lower bound is rounded down and an upper bound up to 100 m
 * (the band never shrinks); a lower bound of 0 is open. Returns the number
 * of entries (1 or 2); one open entry when the heights say nothing usable. */
int av_caaml_elevations(const struct av_problem *p, struct av_caaml_elev out[2]);

#define AV_CAAML_TIME_LEN 48 /* "YYYY-MM-DDTHH:MM:SS.sss+02:00" + NUL, with room */
/* An instant as Oslo local time with its offset at that instant
 * ("2023-03-01T00:00:00+01:00"); milliseconds only when not 0. */
void av_caaml_time(av_ms t, char out[AV_CAAML_TIME_LEN]);
/* ISO 639-1 of LangKey: 1 "nb", 2 "en"; NULL otherwise. */
const char *av_caaml_lang(int lang);
/* Appends s as CAAML text: &, <, > escaped, each line break (\r\n, \n, \r)
 * as <br/>, trailing white space dropped. Appends nothing for NULL. */
void av_caaml_html(struct av_buf *b, const char *s);

/* ---- bulletins and documents ---- */

/* What the next day's warning tells the bulletin before it: its level,
 * validity and main message (tendency). */
struct av_caaml_next {
    int danger_level;
    av_ms valid_from;
    int64_t valid_date;
    const char *main_text;
};

/* Appends w as one bulletin object; next (NULL = unknown) gives the
 * tendency when both days are rated 1-5. */
void av_caaml_bulletin(struct av_buf *b, const struct av_warning *w,
                       const struct av_caaml_next *next);

struct av_caaml_doc {
    struct av_buf *out; /* finished text; the caller may drain it after each add */
    int64_t last;       /* warnings after this date only give a tendency */
    struct av_buf held; /* the last bulletin, still open for its tendency */
    int held_region, held_level;
    int64_t held_date;
    long bulletins;
};

/* Starts {"bulletins":[ in out; last = INT64_MAX for no limit. */
void av_caaml_doc_begin(struct av_caaml_doc *d, struct av_buf *out, int64_t last);
void av_caaml_doc_add(struct av_caaml_doc *d, const struct av_warning *w);
/* Writes the held bulletin and closes the document; frees what it holds. */
void av_caaml_doc_end(struct av_caaml_doc *d);

#endif
