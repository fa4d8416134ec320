/* http.c - libmicrohttpd behind av_http (see http.h). */
#include "http.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct av_http {
    struct MHD_Daemon *d;
    av_http_handler h;
    void *ud;
    int port;
};

const char *av_http_query(const struct av_http_req *r, const char *key)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, key);
}

const char *av_http_header(const struct av_http_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload, size_t *upload_size, void **state)
{
    static int started;
    struct av_http *s = cls;
    struct av_http_req req = {method, url, conn};
    struct av_http_resp resp;
    struct MHD_Response *r;
    enum MHD_Result ret;

    (void)version;
    (void)upload;
    if (*state == NULL) { /* headers only so far */
        *state = &started;
        return MHD_YES;
    }
    if (*upload_size > 0) { /* bodies are not used: drain, bounded by MHD */
        *upload_size = 0;
        return MHD_YES;
    }
    memset(&resp, 0, sizeof(resp));
    resp.status = 200;
    resp.type = "application/json";
    av_buf_init(&resp.body, 64u << 20);
    s->h(s->ud, &req, &resp);
    r = MHD_create_response_from_buffer(resp.body.len, resp.body.data ? resp.body.data : "",
                                        MHD_RESPMEM_MUST_COPY);
    av_buf_free(&resp.body);
    if (r == NULL)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", resp.type);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    ret = MHD_queue_response(conn, (unsigned)resp.status, r);
    MHD_destroy_response(r);
    return ret;
}

av_rc av_http_start(struct av_http **out, const char *listen, av_http_handler h, void *ud,
                    char *errbuf)
{
    struct av_http *s;
    struct sockaddr_in sa;
    const char *colon = strrchr(listen, ':');
    char host[64];
    long port;
    const union MHD_DaemonInfo *info;

    if (colon == NULL || (size_t)(colon - listen) >= sizeof(host))
        return av_fail(errbuf, AV_EINVAL, "listen address \"%s\": use ADDR:PORT", listen);
    memcpy(host, listen, (size_t)(colon - listen));
    host[colon - listen] = '\0';
    port = strtol(colon + 1, NULL, 10);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    if (port < 0 || port > 65535 || inet_pton(AF_INET, host, &sa.sin_addr) != 1)
        return av_fail(errbuf, AV_EINVAL, "listen address \"%s\": use an IPv4 ADDR:PORT",
                       listen);
    s = calloc(1, sizeof(*s));
    if (s == NULL)
        return AV_ENOMEM;
    s->h = h;
    s->ud = ud;
    s->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
                            on_request, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
                            MHD_OPTION_CONNECTION_LIMIT, (unsigned)64,
                            MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(256 * 1024),
                            MHD_OPTION_END);
    if (s->d == NULL) {
        free(s);
        return av_fail(errbuf, AV_EIO, "cannot listen on %s (in use? try another --listen)",
                       listen);
    }
    info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : (int)port;
    *out = s;
    return AV_OK;
}

int av_http_port(const struct av_http *s)
{
    return s->port;
}

void av_http_stop(struct av_http *s)
{
    if (s == NULL)
        return;
    MHD_stop_daemon(s->d);
    free(s);
}
