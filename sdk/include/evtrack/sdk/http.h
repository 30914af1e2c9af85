/* evtrack/sdk/http.h -- HTTP for network sinks (hf-hub, wandb, third-party
 * sinks): one request over libcurl, the retry decision for its outcome, and
 * a retry loop with capped, jittered exponential backoff that honours
 * Retry-After and RateLimit headers.
 *
 * Secrets: a request names the secret it carries (a token); every error
 * text these functions produce has that secret replaced by "[REDACTED]",
 * and curl's verbose output is never enabled. TLS verification is always
 * on for https; ca_bundle only adds a trust store for private endpoints.
 *
 * Link target: evt_sdk_http. libcurl (libcurl.so.4) is loaded by the
 * first request, not when the sink's plugin is loaded: a tracker opens
 * without paying for it, and a sink's worker pays once per process. If it
 * cannot be loaded, each request fails (EVT_HTTP_TRANSIENT) with the
 * loader's reason. */
#ifndef EVTRACK_SDK_HTTP_H
#define EVTRACK_SDK_HTTP_H

#include <stddef.h>
#include <stdint.h>

struct evt_http_request {
    const char *method;             /* "GET", "POST", "PUT", "HEAD" */
    const char *url;
    const char *const *headers;     /* "Name: value", NULL-terminated; or NULL */
    const void *body;               /* or NULL */
    size_t body_len;
    const char *ca_bundle;          /* extra CA file for https; or NULL */
    long timeout_ms;                /* whole exchange; 0: 60000 */
    long connect_timeout_ms;        /* 0: 10000 */
    const char *secret;             /* scrubbed from every error; or NULL */
};

struct evt_http_response {
    long status;          /* HTTP status; 0 when no response arrived */
    char *body;           /* heap, NUL-terminated (body_len excludes it) */
    size_t body_len;
    char *headers;        /* heap: the raw response header block */
    int64_t retry_after_ms; /* Retry-After / RateLimit "t=" in ms; -1: none */
};

/* What to do after an exchange. */
enum evt_http_outcome {
    EVT_HTTP_DONE = 0,      /* 2xx */
    EVT_HTTP_TRANSIENT = 1, /* connection/timeout error, 408, 429, 5xx */
    EVT_HTTP_FINAL = 2      /* any other status: retrying will not help */
};

/* Retry policy of evt_http_send. */
struct evt_http_retry {
    int max_attempts;         /* total tries; 0: 5 */
    long base_ms;             /* first backoff ceiling; 0: 500 */
    long cap_ms;              /* largest backoff; 0: 30000 */
    int64_t deadline_ns;      /* CLOCK_MONOTONIC; 0: none. No sleep past it */
    /* Optional: called before each sleep with the ms it will sleep;
     * returning nonzero stops retrying (e.g. the sink is closing). */
    int (*before_sleep)(void *ctx, long sleep_ms);
    void *ctx;
};

/* Load libcurl and run curl_global_init, once per process; 0, or -1.
 * Thread-safe. Optional: evt_http_do does it. */
int evt_http_global_init(void);

/* One exchange. Fills *resp (free it with evt_http_response_free) and
 * returns its outcome. When no response arrived (status 0) or the outcome
 * is not DONE, err holds "METHOD URL: reason" (the server's message for a
 * status, curl's for a transport error), scrubbed of req->secret; the URL
 * is shown without its query (presigned URLs carry signatures there).
 * A transfer cut short (truncated body, timeout) counts as no response:
 * status 0, TRANSIENT. Bodies over 64 MiB fail (FINAL). No redirects are
 * followed; only http and https are allowed. */
int evt_http_do(const struct evt_http_request *req,
                struct evt_http_response *resp, char *err, size_t errlen);

/* evt_http_do until DONE, FINAL, attempts run out or the deadline. Sleeps
 * max(retry_after_ms, full-jitter backoff) between tries, capped. Returns
 * the last outcome; *attempts (may be NULL) gets the number of tries. */
int evt_http_send(const struct evt_http_request *req,
                  const struct evt_http_retry *policy,
                  struct evt_http_response *resp, int *attempts,
                  char *err, size_t errlen);

/* The outcome for a status (0 = transport error). */
int evt_http_classify(long status);

/* The value of header name (case-insensitive) in resp, heap, trimmed;
 * NULL when absent. */
char *evt_http_header(const struct evt_http_response *resp, const char *name);

void evt_http_response_free(struct evt_http_response *resp);

/* Copy text into out (NUL-terminated, cut to outlen) with every
 * occurrence of secret replaced by "[REDACTED]". */
void evt_http_scrub(const char *text, const char *secret, char *out,
                    size_t outlen);

#endif
