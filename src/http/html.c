/* html.c - see html.h. */
#include "html.h"

void av_html_esc(struct av_buf *b, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '<': av_buf_puts(b, "&lt;"); break;
        case '>': av_buf_puts(b, "&gt;"); break;
        case '&': av_buf_puts(b, "&amp;"); break;
        case '"': av_buf_puts(b, "&quot;"); break;
        case '\'': av_buf_puts(b, "&#39;"); break;
        default: av_buf_putc(b, *s);
        }
    }
}
