/* clock.h - the monotonic clock and sleeping, for deadlines and backoff.
 * (Wall-clock instants and Oslo dates: tz.h.) Never fails. */
#ifndef AV_CLOCK_H
#define AV_CLOCK_H

#include <stdint.h>

/* Milliseconds of CLOCK_MONOTONIC: only differences mean anything. */
int64_t av_mono_ms(void);
/* Sleeps ms milliseconds (a signal may end it early). */
void av_sleep_ms(long ms);

#endif
