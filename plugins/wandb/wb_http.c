/* wb_http.c -- authenticated requests to a W&B server (wb_http.h). */
#include "wb_http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *wb_base64(const void *p, size_t n)
{
    static const char tab[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const unsigned char *b = p;
    char *out = malloc(4 * ((n + 2) / 3) + 1), *o = out;
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)b[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)b[i + 1] << 8;
        if (i + 2 < n)
            v |= b[i + 2];
        *o++ = tab[v >> 18 & 63];
        *o++ = tab[v >> 12 & 63];
        *o++ = i + 1 < n ? tab[v >> 6 & 63] : '=';
        *o++ = i + 2 < n ? tab[v & 63] : '=';
    }
    *o = '\0';
    return out;
}

char *wb_url_escape(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    char *out = malloc(3 * strlen(s) + 1), *o = out;
    if (!out)
        return NULL;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        unsigned c = *p;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
            (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '~' ||
            c == '-') {
            *o++ = (char)c;
        } else {
            *o++ = '%';
            *o++ = hex[c >> 4];
            *o++ = hex[c & 15];
        }
    }
    *o = '\0';
    return out;
}

static void wipe_free(char *s)
{
    if (s)
        memset(s, 0, strlen(s));
    free(s);
}

int wb_conn_init(struct wb_conn *c, const char *base, const char *api_key,
                 const char *ca_bundle, long timeout_ms, int attempts,
                 long base_ms, long cap_ms)
{
    memset(c, 0, sizeof *c);
    c->base = strdup(base);
    c->key = api_key;
    c->ca_bundle = ca_bundle;
    c->timeout_ms = timeout_ms;
    c->attempts = attempts > 0 ? attempts : 1;
    c->base_ms = base_ms;
    c->cap_ms = cap_ms;
    if (!c->base)
        return -1;
    if (!api_key)
        return 0;
    size_t n = strlen(api_key) + 5;
    char *cred = malloc(n);
    if (!cred)
        return -1;
    snprintf(cred, n, "api:%s", api_key);
    c->auth_b64 = wb_base64(cred, strlen(cred));
    wipe_free(cred);
    if (!c->auth_b64)
        return -1;
    n = strlen(c->auth_b64) + 32;
    if (!(c->auth = malloc(n)))
        return -1;
    snprintf(c->auth, n, "Authorization: Basic %s", c->auth_b64);
    return 0;
}

void wb_conn_free(struct wb_conn *c)
{
    free(c->base);
    wipe_free(c->auth);
    wipe_free(c->auth_b64);
    memset(c, 0, sizeof *c);
}

/* err scrubbed of the base64 credentials too (the sdk scrubs the key). */
static void scrub(const struct wb_conn *c, char *err, size_t errlen)
{
    if (!c->auth_b64 || !err || !errlen || !strstr(err, c->auth_b64))
        return;
    char *copy = strdup(err);
    if (!copy) {
        snprintf(err, errlen, "request failed (message withheld)");
        return;
    }
    evt_http_scrub(copy, c->auth_b64, err, errlen);
    free(copy);
}

static int exchange(struct wb_conn *c, struct evt_http_request *req,
                int attempts, int64_t deadline_ns,
                struct evt_http_response *resp, char *err, size_t errlen)
{
    struct evt_http_retry pol = {attempts > 0 ? attempts : c->attempts,
                                 c->base_ms, c->cap_ms, deadline_ns, NULL,
                                 NULL};
    req->ca_bundle = c->ca_bundle;
    req->timeout_ms = c->timeout_ms;
    req->connect_timeout_ms = c->timeout_ms < 10000 ? c->timeout_ms : 10000;
    req->secret = c->key;
    int out = evt_http_send(req, &pol, resp, NULL, err, errlen);
    scrub(c, err, errlen);
    return out;
}

int wb_conn_post(struct wb_conn *c, const char *path, const void *body,
                 size_t n, int attempts, int64_t deadline_ns,
                 struct evt_http_response *resp, char *err, size_t errlen)
{
    size_t un = strlen(c->base) + strlen(path) + 1;
    char *url = malloc(un);
    if (!url) {
        memset(resp, 0, sizeof *resp);
        snprintf(err, errlen, "POST %s: out of memory", path);
        return EVT_HTTP_TRANSIENT;
    }
    snprintf(url, un, "%s%s", c->base, path);
    const char *hdr[] = {"Content-Type: application/json",
                         "Accept: application/json", c->auth, NULL};
    struct evt_http_request req = {0};
    req.method = "POST";
    req.url = url;
    req.headers = hdr;
    req.body = body;
    req.body_len = n;
    int out = exchange(c, &req, attempts, deadline_ns, resp, err, errlen);
    free(url);
    return out;
}

int wb_conn_put(struct wb_conn *c, const char *url,
                const char *const *headers, const void *data, size_t n,
                int64_t deadline_ns, struct evt_http_response *resp,
                char *err, size_t errlen)
{
    struct evt_http_request req = {0};
    req.method = "PUT";
    req.url = url;
    req.headers = headers;
    req.body = data ? data : "";
    req.body_len = n;
    return exchange(c, &req, 0, deadline_ns, resp, err, errlen);
}
