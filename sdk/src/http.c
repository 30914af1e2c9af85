/* http.c -- one HTTP exchange over libcurl, its retry decision, and a
 * retry loop with capped full-jitter backoff that honours Retry-After and
 * RateLimit headers (evtrack/sdk/http.h). */
#include "evtrack/sdk/http.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "curl_lazy.h"

/* Largest response body kept: bigger ones fail the exchange. */
#define HTTP_MAX_BODY ((size_t)64 << 20)
/* Longest server message quoted in an error. */
#define HTTP_MAX_MSG 400
/* Retry-After / RateLimit values above this are taken as this. */
#define HTTP_MAX_WAIT_S 86400

/* ---- global init ---------------------------------------------------- */

int evt_http_global_init(void)
{
    return evt__curl_load(NULL, 0) ? 0 : -1;
}

/* libcurl's functions, for a path that went through a successful
 * evt_http_global_init (evt_http_do checks it first). */
static const struct evt__curl *lib(void)
{
    return evt__curl_load(NULL, 0);
}

/* ---- small helpers -------------------------------------------------- */

void evt_http_scrub(const char *text, const char *secret, char *out,
                    size_t outlen)
{
    static const char red[] = "[REDACTED]";
    size_t sl = secret ? strlen(secret) : 0, o = 0;
    if (!outlen)
        return;
    for (const char *p = text ? text : ""; *p && o + 1 < outlen;) {
        if (sl && strncmp(p, secret, sl) == 0) {
            size_t n = sizeof red - 1;
            if (n > outlen - 1 - o)
                n = outlen - 1 - o;
            memcpy(out + o, red, n);
            o += n;
            p += sl;
        } else {
            out[o++] = *p++;
        }
    }
    out[o] = '\0';
}

int evt_http_classify(long status)
{
    if (status >= 200 && status < 300)
        return EVT_HTTP_DONE;
    if (status == 0 || status == 408 || status == 429 || status >= 500)
        return EVT_HTTP_TRANSIENT;
    return EVT_HTTP_FINAL;
}

void evt_http_response_free(struct evt_http_response *resp)
{
    if (!resp)
        return;
    free(resp->body);
    free(resp->headers);
    resp->body = resp->headers = NULL;
    resp->body_len = 0;
}

/* Heap copy of p[0..n) without surrounding white space. */
static char *trimmed(const char *p, size_t n)
{
    while (n && isspace((unsigned char)*p))
        p++, n--;
    while (n && isspace((unsigned char)p[n - 1]))
        n--;
    char *s = malloc(n + 1);
    if (s) {
        memcpy(s, p, n);
        s[n] = '\0';
    }
    return s;
}

char *evt_http_header(const struct evt_http_response *resp, const char *name)
{
    size_t nl = strlen(name);
    const char *p = resp && resp->headers ? resp->headers : "";
    while (*p) {
        size_t len = strcspn(p, "\r\n");
        if (len > nl && p[nl] == ':' && strncasecmp(p, name, nl) == 0)
            return trimmed(p + nl + 1, len - nl - 1);
        p += len;
        p += strspn(p, "\r\n");
    }
    return NULL;
}

/* ---- growing buffers ------------------------------------------------ */

struct grow {
    char *p;
    size_t len, cap;
    int too_big;
};

static int grow_put(struct grow *g, const char *d, size_t n)
{
    if (g->len + n + 1 > HTTP_MAX_BODY) {
        g->too_big = 1;
        return -1;
    }
    if (g->len + n + 1 > g->cap) {
        size_t cap = g->cap ? g->cap : 1024;
        while (cap < g->len + n + 1)
            cap *= 2;
        char *q = realloc(g->p, cap);
        if (!q)
            return -1;
        g->p = q;
        g->cap = cap;
    }
    memcpy(g->p + g->len, d, n);
    g->len += n;
    g->p[g->len] = '\0';
    return 0;
}

static size_t on_body(char *d, size_t sz, size_t n, void *ctx)
{
    return grow_put(ctx, d, sz * n) == 0 ? sz * n : 0;
}

/* Headers of the final response only: a status line starts a new block
 * (after "100 Continue" or an interim response). */
static size_t on_header(char *d, size_t sz, size_t n, void *ctx)
{
    struct grow *g = ctx;
    if (sz * n >= 5 && strncmp(d, "HTTP/", 5) == 0)
        g->len = 0;
    return grow_put(g, d, sz * n) == 0 ? sz * n : 0;
}

/* ---- Retry-After / RateLimit ---------------------------------------- */

/* Non-negative decimal seconds in s (whole string), or -1. */
static long long parse_seconds(const char *s)
{
    long long v = 0;
    if (!*s)
        return -1;
    for (; *s; s++) {
        if (!isdigit((unsigned char)*s))
            return -1;
        v = v * 10 + (*s - '0');
        if (v > HTTP_MAX_WAIT_S)
            v = HTTP_MAX_WAIT_S;
    }
    return v;
}

/* Retry-After: delta-seconds or an HTTP-date; ms, or -1. */
static int64_t retry_after_value(const char *v)
{
    long long s = parse_seconds(v);
    if (s >= 0)
        return (int64_t)s * 1000;
    const struct evt__curl *L = lib();
    time_t when = L ? L->getdate(v, NULL) : -1;
    if (when == (time_t)-1)
        return -1;
    double d = difftime(when, time(NULL));
    if (d < 0)
        return 0;
    return (int64_t)(d > HTTP_MAX_WAIT_S ? HTTP_MAX_WAIT_S : d) * 1000;
}

/* The integer of parameter key ("r", "t") in a RateLimit structured
 * header ("\"api\";r=0;t=55"), or -1. */
static long long ratelimit_param(const char *v, const char *key)
{
    size_t kl = strlen(key);
    for (const char *p = strchr(v, ';'); p; p = strchr(p + 1, ';')) {
        const char *q = p + 1;
        while (*q == ' ')
            q++;
        if (strncmp(q, key, kl) != 0 || q[kl] != '=')
            continue;
        char num[24];
        size_t n = strspn(q + kl + 1, "0123456789");
        if (n == 0 || n >= sizeof num)
            return -1;
        memcpy(num, q + kl + 1, n);
        num[n] = '\0';
        return parse_seconds(num);
    }
    return -1;
}

/* RateLimit: "api";r=0;t=55 means the quota is used up and resets in 55
 * s; huggingface_hub then waits t+1 s (protocols.md 1.7). Also the
 * RateLimit-Remaining: 0 / RateLimit-Reset: N pair. ms, or -1. */
static int64_t ratelimit_wait(const struct evt_http_response *r)
{
    int64_t ms = -1;
    char *v = evt_http_header(r, "RateLimit");
    if (v && ratelimit_param(v, "r") == 0) {
        long long t = ratelimit_param(v, "t");
        if (t >= 0)
            ms = (int64_t)(t + 1) * 1000;
    }
    free(v);
    char *rem = evt_http_header(r, "RateLimit-Remaining");
    char *rst = evt_http_header(r, "RateLimit-Reset");
    if (rem && rst && parse_seconds(rem) == 0 && parse_seconds(rst) >= 0) {
        int64_t w = (int64_t)parse_seconds(rst) * 1000;
        ms = w > ms ? w : ms;
    }
    free(rem);
    free(rst);
    return ms;
}

static int64_t server_wait_ms(const struct evt_http_response *r)
{
    int64_t ms = ratelimit_wait(r);
    char *v = evt_http_header(r, "Retry-After");
    if (v) {
        int64_t ra = retry_after_value(v);
        ms = ra > ms ? ra : ms;
    }
    free(v);
    return ms;
}

/* ---- error text ----------------------------------------------------- */

/* Append the server's message for a failed status to b (cut to
 * HTTP_MAX_MSG): the JSON body's "error" (and "error_description" or
 * "message"), else X-Error-Message, else the body's first line. */
static void server_message(const struct evt_http_response *r, char *out,
                           size_t outlen)
{
    out[0] = '\0';
    cJSON *j = r->body ? cJSON_ParseWithLength(r->body, r->body_len) : NULL;
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(j, "error_description");
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "message");
    if (!cJSON_IsString(e) && cJSON_IsObject(e)) /* {"error":{"message":…}} */
        e = cJSON_GetObjectItemCaseSensitive(e, "message");
    char *x = evt_http_header(r, "X-Error-Message");
    if (cJSON_IsString(e) && cJSON_IsString(d))
        snprintf(out, outlen, "%s: %s", e->valuestring, d->valuestring);
    else if (cJSON_IsString(e))
        snprintf(out, outlen, "%s", e->valuestring);
    else if (cJSON_IsString(m))
        snprintf(out, outlen, "%s", m->valuestring);
    else if (x && *x)
        snprintf(out, outlen, "%s", x);
    else if (r->body)
        snprintf(out, outlen, "%.*s", (int)strcspn(r->body, "\r\n"), r->body);
    free(x);
    cJSON_Delete(j);
    for (char *p = out; *p; p++) /* one line */
        if ((unsigned char)*p < 0x20)
            *p = ' ';
}

/* The URL without its query (presigned URLs carry signatures there). */
static int url_shown_len(const char *url)
{
    return (int)strcspn(url, "?#");
}

/* err = "METHOD URL: what", scrubbed of the secret. */
static void set_err(const struct evt_http_request *req, const char *what,
                    char *err, size_t errlen)
{
    if (!err || !errlen)
        return;
    size_t n = strlen(req->url) + strlen(what) + 64;
    char *raw = malloc(n);
    if (!raw) {
        snprintf(err, errlen, "%s: out of memory", req->method);
        return;
    }
    snprintf(raw, n, "%s %.*s: %s", req->method, url_shown_len(req->url),
             req->url, what);
    evt_http_scrub(raw, req->secret, err, errlen);
    free(raw);
}

/* ---- one exchange --------------------------------------------------- */

static int has_header(const char *const *h, const char *name)
{
    size_t n = strlen(name);
    for (; h && *h; h++)
        if (strncasecmp(*h, name, n) == 0 && (*h)[n] == ':')
            return 1;
    return 0;
}

/* The request's headers, plus "Expect:" (no 100-continue round trip) and,
 * for a body without a Content-Type, "Content-Type:" (no form type). */
static struct curl_slist *make_headers(const struct evt_http_request *req,
                                       int *oom)
{
    const struct evt__curl *L = lib();
    struct curl_slist *l = NULL, *t;
    *oom = 0;
    for (const char *const *h = req->headers; h && *h && !*oom; h++) {
        if ((t = L->slist_append(l, *h)) == NULL)
            *oom = 1;
        else
            l = t;
    }
    if (!*oom && (t = L->slist_append(l, "Expect:")))
        l = t;
    else
        *oom = 1;
    if (!*oom && !has_header(req->headers, "Content-Type")) {
        if ((t = L->slist_append(l, "Content-Type:")))
            l = t;
        else
            *oom = 1;
    }
    return l;
}

static void set_method(CURL *c, const struct evt_http_request *req)
{
    const struct evt__curl *L = lib();
    const char *m = req->method;
    if (strcmp(m, "GET") == 0 && !req->body) {
        L->easy_setopt(c, CURLOPT_HTTPGET, 1L);
        return;
    }
    if (strcmp(m, "HEAD") == 0) {
        L->easy_setopt(c, CURLOPT_NOBODY, 1L);
        return;
    }
    L->easy_setopt(c, CURLOPT_POST, 1L);
    L->easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
                     (curl_off_t)(req->body ? req->body_len : 0));
    L->easy_setopt(c, CURLOPT_POSTFIELDS, req->body ? req->body : "");
    if (strcmp(m, "POST") != 0)
        L->easy_setopt(c, CURLOPT_CUSTOMREQUEST, m);
}

static void set_options(CURL *c, const struct evt_http_request *req,
                        struct curl_slist *hdr, char *ebuf)
{
    const struct evt__curl *L = lib();
    L->easy_setopt(c, CURLOPT_URL, req->url);
    L->easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    L->easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf);
#if LIBCURL_VERSION_NUM >= 0x075500
    L->easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
    L->easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    L->easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    L->easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    if (req->ca_bundle && *req->ca_bundle)
        L->easy_setopt(c, CURLOPT_CAINFO, req->ca_bundle);
    L->easy_setopt(c, CURLOPT_TIMEOUT_MS,
                     req->timeout_ms > 0 ? req->timeout_ms : 60000L);
    L->easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                     req->connect_timeout_ms > 0 ? req->connect_timeout_ms
                                                 : 10000L);
    L->easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
    L->easy_setopt(c, CURLOPT_USERAGENT, "evtrack/0.1 (libcurl)");
    set_method(c, req);
}

/* Errors that the same request will meet again however often it is
 * retried: the peer's certificate does not verify (untrusted, expired,
 * wrong host), the CA file is unusable, the URL is bad. Retrying those for
 * minutes would only hide the cause. */
static int curl_error_is_final(CURLcode rc)
{
    switch (rc) {
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
        return 1;
    default:
        return 0;
    }
}

/* The outcome of a finished transfer; fills resp->status and err. */
static int conclude(CURL *c, CURLcode rc, const struct evt_http_request *req,
                    struct evt_http_response *resp, const struct grow *body,
                    const char *ebuf, char *err, size_t errlen)
{
    const struct evt__curl *L = lib();
    char what[HTTP_MAX_MSG + 128];
    if (rc != CURLE_OK) {
        resp->status = 0;
        if (body->too_big)
            snprintf(what, sizeof what, "response body larger than %zu "
                     "bytes", HTTP_MAX_BODY);
        else
            snprintf(what, sizeof what, "%s%s%s%s", L->easy_strerror(rc),
                     ebuf[0] ? " (" : "", ebuf, ebuf[0] ? ")" : "");
        set_err(req, what, err, errlen);
        return body->too_big || curl_error_is_final(rc) ? EVT_HTTP_FINAL
                                                        : EVT_HTTP_TRANSIENT;
    }
    L->easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
    int out = evt_http_classify(resp->status);
    if (out != EVT_HTTP_DONE) {
        char msg[HTTP_MAX_MSG];
        server_message(resp, msg, sizeof msg);
        snprintf(what, sizeof what, "HTTP %ld%s%s", resp->status,
                 msg[0] ? ": " : "", msg);
        set_err(req, what, err, errlen);
        resp->retry_after_ms = server_wait_ms(resp);
    }
    return out;
}

int evt_http_do(const struct evt_http_request *req,
                struct evt_http_response *resp, char *err, size_t errlen)
{
    struct grow body = {0}, head = {0};
    char ebuf[CURL_ERROR_SIZE], why[256];
    int oom;
    memset(resp, 0, sizeof *resp);
    resp->retry_after_ms = -1;
    if (err && errlen)
        err[0] = '\0';
    ebuf[0] = '\0';
    const struct evt__curl *L = evt__curl_load(why, sizeof why);
    if (!L) { /* libcurl missing: kept for a retry or a dead letter */
        set_err(req, why, err, errlen);
        return EVT_HTTP_TRANSIENT;
    }
    CURL *c = L->easy_init();
    struct curl_slist *hdr = c ? make_headers(req, &oom) : NULL;
    if (!c || oom) {
        L->slist_free_all(hdr);
        if (c)
            L->easy_cleanup(c);
        set_err(req, "out of memory", err, errlen);
        return EVT_HTTP_TRANSIENT;
    }
    set_options(c, req, hdr, ebuf);
    L->easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    L->easy_setopt(c, CURLOPT_WRITEDATA, &body);
    L->easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    L->easy_setopt(c, CURLOPT_HEADERDATA, &head);
    CURLcode rc = L->easy_perform(c);
    resp->body = body.p ? body.p : calloc(1, 1);
    resp->body_len = body.len;
    resp->headers = head.p ? head.p : calloc(1, 1);
    int out = conclude(c, rc, req, resp, &body, ebuf, err, errlen);
    L->slist_free_all(hdr);
    L->easy_cleanup(c);
    return out;
}

/* ---- retry loop ----------------------------------------------------- */

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static uint64_t xorshift(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

/* Uniform in [0, min(cap, base * 2^attempt)]. */
static long jitter_ms(long base, long cap, int attempt, uint64_t *rng)
{
    long ceil = base;
    for (int i = 0; i < attempt && ceil < cap; i++)
        ceil *= 2;
    if (ceil > cap)
        ceil = cap;
    return ceil > 0 ? (long)(xorshift(rng) % (uint64_t)(ceil + 1)) : 0;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* The wait before the next try, or -1 to stop retrying: the server asks
 * for more than the cap, or the wait would pass the deadline. */
static long next_wait(const struct evt_http_retry *p, int attempt,
                      int64_t server_ms, uint64_t *rng)
{
    long base = p && p->base_ms > 0 ? p->base_ms : 500;
    long cap = p && p->cap_ms > 0 ? p->cap_ms : 30000;
    if (base > cap)
        base = cap;
    if (server_ms > cap)
        return -1;
    long w = jitter_ms(base, cap, attempt, rng);
    if (server_ms > w)
        w = (long)server_ms;
    if (p && p->deadline_ns &&
        mono_ns() + (int64_t)w * 1000000 > p->deadline_ns)
        return -1;
    return w;
}

int evt_http_send(const struct evt_http_request *req,
                  const struct evt_http_retry *policy,
                  struct evt_http_response *resp, int *attempts, char *err,
                  size_t errlen)
{
    int max = policy && policy->max_attempts > 0 ? policy->max_attempts : 5;
    uint64_t rng = (uint64_t)mono_ns() ^ (uint64_t)(uintptr_t)resp ^
                   0x9e3779b97f4a7c15ull;
    int out = EVT_HTTP_TRANSIENT, n = 0;
    memset(resp, 0, sizeof *resp);
    while (n < max) {
        evt_http_response_free(resp);
        out = evt_http_do(req, resp, err, errlen);
        n++;
        if (out != EVT_HTTP_TRANSIENT || n >= max)
            break;
        long w = next_wait(policy, n - 1, resp->retry_after_ms, &rng);
        if (w < 0 || (policy && policy->before_sleep &&
                      policy->before_sleep(policy->ctx, w) != 0))
            break;
        sleep_ms(w);
    }
    if (attempts)
        *attempts = n;
    return out;
}
