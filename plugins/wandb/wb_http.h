/* wb_http.h -- the wandb sink's connection to a W&B server over the sdk's
 * HTTP module (evtrack/sdk/http.h): HTTP Basic auth with user "api" and
 * the API key (protocols.md section 2.1), JSON POSTs with retries (capped,
 * jittered backoff honouring Retry-After), PUTs to upload URLs with only
 * the headers the server gave (no credentials).
 *
 * Every error text is scrubbed of the API key and of its base64 form. */
#ifndef WB_HTTP_H
#define WB_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "evtrack/sdk/http.h"

struct wb_conn {
    char *base;      /* base URL, no trailing '/' */
    char *auth;      /* "Authorization: Basic <b64>", or NULL */
    char *auth_b64;  /* its credentials part (scrubbed from errors) */
    const char *key; /* the API key (not owned; scrubbed from errors) */
    const char *ca_bundle;
    long timeout_ms;
    int attempts;
    long base_ms, cap_ms;
};

/* 0, or -1 on OOM. api_key may be NULL (no Authorization header). The
 * strings base, api_key and ca_bundle must outlive the connection. */
int wb_conn_init(struct wb_conn *c, const char *base, const char *api_key,
                 const char *ca_bundle, long timeout_ms, int attempts,
                 long base_ms, long cap_ms);
void wb_conn_free(struct wb_conn *c);

/* POST body (JSON) to base + path with auth; tries up to attempts times
 * (0: c->attempts) and never sleeps past deadline_ns (0: none). Returns
 * the evt_http outcome; *resp is filled (free it); err is set unless
 * DONE. */
int wb_conn_post(struct wb_conn *c, const char *path, const void *body,
                 size_t n, int attempts, int64_t deadline_ns,
                 struct evt_http_response *resp, char *err, size_t errlen);

/* PUT data to url with headers (NULL-terminated "Name: value" list, or
 * NULL) and no credentials. Same contract as wb_conn_post. */
int wb_conn_put(struct wb_conn *c, const char *url,
                const char *const *headers, const void *data, size_t n,
                int64_t deadline_ns, struct evt_http_response *resp,
                char *err, size_t errlen);

/* s with every byte outside [A-Za-z0-9._~-] percent-encoded; heap, NULL
 * on OOM. */
char *wb_url_escape(const char *s);

/* Standard base64 of p[0..n); heap, NULL on OOM. */
char *wb_base64(const void *p, size_t n);

#endif /* WB_HTTP_H */
