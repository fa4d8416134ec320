/* html.h - the one HTML escape of the pages that live outside dashboard.c
 * (the rose, the region's day). Pure: appends to a buffer, no I/O. */
#ifndef AV_HTML_H
#define AV_HTML_H

#include "../core/buf.h"

/* Appends s with < > & " ' escaped (text and attribute values alike);
 * NULL appends nothing. */
void av_html_esc(struct av_buf *b, const char *s);

#endif
