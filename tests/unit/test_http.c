/* test_http.c -- the sdk HTTP module (evtrack/sdk/http.h) against the
 * loopback fake server tests/fake/fake_http.py: success, retried 5xx,
 * Retry-After / RateLimit, final 4xx with the secret scrubbed, refused
 * connections, stalls past the timeout, truncated and missing answers. */
#include "test_util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "../fake/fake_server.h"
#include "evtrack/sdk/http.h"

#define SECRET "hf_SECRETtokenABCDEFGHIJKLMNOP"

static struct fake_server srv;
static char *logdir, *logpath;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static char *url(const char *path)
{
    return tu_fmt("%s%s", srv.url, path);
}

/* POST a control request to the fake server; must succeed. */
static void ctl(const char *path, const char *json)
{
    char *u = url(path), err[512];
    struct evt_http_request rq = {.method = "POST", .url = u, .body = json,
                                  .body_len = json ? strlen(json) : 0};
    struct evt_http_response rs;
    assert_int_equal(evt_http_do(&rq, &rs, err, sizeof err), EVT_HTTP_DONE);
    evt_http_response_free(&rs);
    free(u);
}

/* The requests the server logged (cJSON array). */
static cJSON *server_log(void)
{
    char *text = tu_read_file(logpath, NULL);
    cJSON *j = cJSON_Parse(text ? text : "[]");
    free(text);
    assert_true(cJSON_IsArray(j));
    return j;
}

static int setup(void **state)
{
    (void)state;
    assert_int_equal(evt_http_global_init(), 0);
    logdir = tu_tmpdir();
    logpath = tu_fmt("%s/log.json", logdir);
    const char *args[] = {"--log", logpath, NULL};
    return fake_server_start(&srv, "fake_http.py", args);
}

static int teardown(void **state)
{
    (void)state;
    fake_server_stop(&srv);
    free(logpath);
    tu_rmtree(logdir);
    return 0;
}

static int reset(void **state)
{
    (void)state;
    ctl("/_ctl/reset", NULL);
    return 0;
}

static const struct evt_http_retry fast = {.max_attempts = 5, .base_ms = 5,
                                           .cap_ms = 20};

/* 2xx: body, headers and method reach the server; the answer comes back. */
static void test_ok(void **state)
{
    (void)state;
    char *u = url("/echo?x=1"), err[256];
    const char *hdr[] = {"X-Test: yes", NULL};
    static const char body[] = "a\0b\nc";
    struct evt_http_request rq = {.method = "PUT", .url = u, .headers = hdr,
                                  .body = body, .body_len = sizeof body};
    struct evt_http_response rs;
    int attempts = 0;
    assert_int_equal(evt_http_send(&rq, &fast, &rs, &attempts, err,
                                   sizeof err), EVT_HTTP_DONE);
    assert_int_equal(attempts, 1);
    assert_int_equal(rs.status, 200);
    cJSON *j = cJSON_Parse(rs.body);
    assert_string_equal(cJSON_GetObjectItem(j, "method")->valuestring, "PUT");
    assert_string_equal(cJSON_GetObjectItem(j, "path")->valuestring, "/echo");
    assert_int_equal(cJSON_GetObjectItem(j, "body_len")->valueint,
                     (int)sizeof body);
    cJSON *h = cJSON_GetObjectItem(j, "headers");
    assert_string_equal(cJSON_GetObjectItem(h, "x-test")->valuestring, "yes");
    /* no form content type, no 100-continue */
    assert_null(cJSON_GetObjectItem(h, "content-type"));
    assert_null(cJSON_GetObjectItem(h, "expect"));
    cJSON_Delete(j);
    char *ct = evt_http_header(&rs, "content-TYPE");
    assert_string_equal(ct, "application/json");
    free(ct);
    assert_null(evt_http_header(&rs, "X-Nope"));
    evt_http_response_free(&rs);
    free(u);
}

/* 503 three times, then 200: four tries, all seen by the server. */
static void test_503_then_ok(void **state)
{
    (void)state;
    ctl("/_ctl/faults", "[{\"path\":\"/flaky\",\"status\":503,\"times\":3,"
                        "\"body\":\"{\\\"error\\\":\\\"busy\\\"}\"}]");
    char *u = url("/flaky"), err[256];
    struct evt_http_request rq = {.method = "POST", .url = u, .body = "{}",
                                  .body_len = 2};
    struct evt_http_response rs;
    int attempts = 0;
    assert_int_equal(evt_http_send(&rq, &fast, &rs, &attempts, err,
                                   sizeof err), EVT_HTTP_DONE);
    assert_int_equal(attempts, 4);
    assert_int_equal(rs.status, 200);
    evt_http_response_free(&rs);
    cJSON *log = server_log();
    assert_int_equal(cJSON_GetArraySize(log), 4);
    for (int i = 0; i < 4; i++)
        assert_int_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(log, i),
                                             "status")->valueint,
                         i < 3 ? 503 : 200);
    cJSON_Delete(log);
    /* attempts run out: the last outcome is transient, err names it */
    ctl("/_ctl/faults", "[{\"path\":\"/down\",\"status\":503,\"times\":-1,"
                        "\"body\":\"{\\\"error\\\":\\\"maintenance\\\"}\"}]");
    char *d = url("/down");
    rq.url = d;
    struct evt_http_retry three = fast;
    three.max_attempts = 3;
    assert_int_equal(evt_http_send(&rq, &three, &rs, &attempts, err,
                                   sizeof err), EVT_HTTP_TRANSIENT);
    assert_int_equal(attempts, 3);
    assert_int_equal(rs.status, 503);
    assert_non_null(strstr(err, "HTTP 503: maintenance"));
    assert_non_null(strstr(err, "POST http://127.0.0.1:"));
    evt_http_response_free(&rs);
    free(d);
    free(u);
}

static long slept;
static int record_sleep(void *ctx, long ms)
{
    (void)ctx;
    slept = ms;
    return 0;
}

/* 429 with Retry-After: 1 -> the second try comes at least 1 s later. */
static void test_429_retry_after(void **state)
{
    (void)state;
    ctl("/_ctl/faults", "[{\"path\":\"/limited\",\"status\":429,"
                        "\"headers\":{\"Retry-After\":\"1\"}}]");
    char *u = url("/limited"), err[256];
    struct evt_http_request rq = {.method = "GET", .url = u};
    struct evt_http_response rs;
    struct evt_http_retry p = {.max_attempts = 3, .base_ms = 1,
                               .cap_ms = 5000, .before_sleep = record_sleep};
    int attempts = 0;
    int64_t t0 = now_ms();
    assert_int_equal(evt_http_send(&rq, &p, &rs, &attempts, err, sizeof err),
                     EVT_HTTP_DONE);
    assert_true(now_ms() - t0 >= 1000);
    assert_int_equal(attempts, 2);
    assert_int_equal(slept, 1000);
    evt_http_response_free(&rs);
    /* a server wait beyond the cap stops the retries at once */
    ctl("/_ctl/faults", "[{\"path\":\"/limited\",\"status\":429,"
                        "\"headers\":{\"Retry-After\":\"120\"}}]");
    p.cap_ms = 1000;
    t0 = now_ms();
    assert_int_equal(evt_http_send(&rq, &p, &rs, &attempts, err, sizeof err),
                     EVT_HTTP_TRANSIENT);
    assert_int_equal(attempts, 1);
    assert_int_equal(rs.retry_after_ms, 120000);
    assert_true(now_ms() - t0 < 1000);
    evt_http_response_free(&rs);
    free(u);
}

/* The wait a server asks for, without sleeping: Retry-After seconds and
 * HTTP-date, the RateLimit header's t= when r=0 (t+1 s, as
 * huggingface_hub), RateLimit-Remaining/-Reset. */
static void test_wait_headers(void **state)
{
    (void)state;
    char date[64];
    time_t when = time(NULL) + 5;
    struct tm tm;
    gmtime_r(&when, &tm);
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    char *faults = tu_fmt(
        "[{\"path\":\"/w1\",\"status\":503,\"headers\":{\"Retry-After\":"
        "\"%s\"}},{\"path\":\"/w2\",\"status\":429,\"headers\":"
        "{\"RateLimit\":\"\\\"api\\\";r=0;t=2\"}},{\"path\":\"/w3\","
        "\"status\":429,\"headers\":{\"RateLimit\":\"\\\"api\\\";r=5;t=9\"}},"
        "{\"path\":\"/w4\",\"status\":429,\"headers\":"
        "{\"RateLimit-Remaining\":\"0\",\"RateLimit-Reset\":\"7\"}},"
        "{\"path\":\"/w5\",\"status\":500,\"headers\":{\"Retry-After\":"
        "\"soon\"}}]",
        date);
    ctl("/_ctl/faults", faults);
    free(faults);
    static const struct {
        const char *path;
        int64_t lo, hi;
    } want[] = {{"/w1", 3000, 5000}, {"/w2", 3000, 3000}, {"/w3", -1, -1},
                {"/w4", 7000, 7000}, {"/w5", -1, -1}};
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        char *u = url(want[i].path), err[256];
        struct evt_http_request rq = {.method = "GET", .url = u};
        struct evt_http_response rs;
        assert_int_equal(evt_http_do(&rq, &rs, err, sizeof err),
                         EVT_HTTP_TRANSIENT);
        assert_in_range(rs.retry_after_ms, want[i].lo, want[i].hi);
        evt_http_response_free(&rs);
        free(u);
    }
}

/* 401: final at once, the server's message in err, the token never. */
static void test_401_final_scrubbed(void **state)
{
    (void)state;
    ctl("/_ctl/faults",
        "[{\"path\":\"/secure\",\"status\":401,\"body\":\"{\\\"error\\\":"
        "\\\"Invalid credentials in Authorization header (got "
        SECRET ")\\\"}\"}]");
    char *u = url("/secure?token=" SECRET), err[512];
    const char *hdr[] = {"Authorization: Bearer " SECRET, NULL};
    struct evt_http_request rq = {.method = "POST", .url = u, .headers = hdr,
                                  .body = "{}", .body_len = 2,
                                  .secret = SECRET};
    struct evt_http_response rs;
    int attempts = 0;
    assert_int_equal(evt_http_send(&rq, &fast, &rs, &attempts, err,
                                   sizeof err), EVT_HTTP_FINAL);
    assert_int_equal(attempts, 1);
    assert_int_equal(rs.status, 401);
    assert_non_null(strstr(err, "HTTP 401: Invalid credentials in "
                                "Authorization header"));
    assert_non_null(strstr(err, "[REDACTED]"));
    assert_non_null(strstr(err, "/secure"));
    assert_null(strstr(err, SECRET));
    assert_null(strstr(err, "token=")); /* the query is not shown */
    evt_http_response_free(&rs);
    /* 404 with only X-Error-Message */
    ctl("/_ctl/faults", "[{\"path\":\"/gone\",\"status\":404,\"headers\":"
                        "{\"X-Error-Message\":\"Repository not found\"}}]");
    char *g = url("/gone");
    rq.url = g;
    assert_int_equal(evt_http_do(&rq, &rs, err, sizeof err), EVT_HTTP_FINAL);
    assert_non_null(strstr(err, "HTTP 404: Repository not found"));
    evt_http_response_free(&rs);
    free(g);
    free(u);
}

/* A port nobody listens on: transient, status 0, every try made. */
static void test_refused(void **state)
{
    (void)state;
    int port = fake_server_closed_port(); /* free and closed */
    assert_true(port > 0);
    char *u = tu_fmt("http://127.0.0.1:%d/x", port), err[256];
    struct evt_http_request rq = {.method = "GET", .url = u};
    struct evt_http_response rs;
    int attempts = 0;
    struct evt_http_retry p = fast;
    p.max_attempts = 2;
    assert_int_equal(evt_http_send(&rq, &p, &rs, &attempts, err, sizeof err),
                     EVT_HTTP_TRANSIENT);
    assert_int_equal(attempts, 2);
    assert_int_equal(rs.status, 0);
    assert_non_null(strstr(err, "GET http://127.0.0.1:"));
    assert_non_null(strstr(err, "onnect"));
    evt_http_response_free(&rs);
    free(u);
}

/* A server that answers later than the timeout: transient, on time. */
static void test_stall(void **state)
{
    (void)state;
    ctl("/_ctl/faults", "[{\"path\":\"/slow\",\"stall_ms\":1500}]");
    char *u = url("/slow"), err[256];
    struct evt_http_request rq = {.method = "GET", .url = u,
                                  .timeout_ms = 300};
    struct evt_http_response rs;
    int64_t t0 = now_ms();
    assert_int_equal(evt_http_do(&rq, &rs, err, sizeof err),
                     EVT_HTTP_TRANSIENT);
    assert_true(now_ms() - t0 < 1400);
    assert_int_equal(rs.status, 0);
    assert_non_null(strstr(err, "imeout"));
    evt_http_response_free(&rs);
    free(u);
}

/* A body cut short, and a connection closed with no answer: transient. */
static void test_truncated(void **state)
{
    (void)state;
    ctl("/_ctl/faults", "[{\"path\":\"/cut\",\"status\":200,\"body\":"
                        "\"{\\\"partial\\\":\",\"truncate\":true},"
                        "{\"path\":\"/mute\",\"close\":true}]");
    const char *paths[] = {"/cut", "/mute"};
    for (int i = 0; i < 2; i++) {
        char *u = url(paths[i]), err[256];
        struct evt_http_request rq = {.method = "GET", .url = u};
        struct evt_http_response rs;
        assert_int_equal(evt_http_do(&rq, &rs, err, sizeof err),
                         EVT_HTTP_TRANSIENT);
        assert_int_equal(rs.status, 0);
        assert_true(err[0] != '\0');
        evt_http_response_free(&rs);
        free(u);
    }
}

static int stop_now(void *ctx, long ms)
{
    (void)ms;
    (*(int *)ctx)++;
    return 1;
}

/* The deadline and before_sleep end the retries early. */
static void test_deadline_and_stop(void **state)
{
    (void)state;
    ctl("/_ctl/faults", "[{\"path\":\"/busy\",\"status\":502,\"times\":-1}]");
    char *u = url("/busy"), err[256];
    struct evt_http_request rq = {.method = "GET", .url = u};
    struct evt_http_response rs;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    struct evt_http_retry p = {.max_attempts = 10, .base_ms = 400,
                               .cap_ms = 400};
    p.deadline_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    int attempts = 0, calls = 0;
    assert_int_equal(evt_http_send(&rq, &p, &rs, &attempts, err, sizeof err),
                     EVT_HTTP_TRANSIENT);
    assert_int_equal(attempts, 1);
    evt_http_response_free(&rs);
    p.deadline_ns = 0;
    p.before_sleep = stop_now;
    p.ctx = &calls;
    assert_int_equal(evt_http_send(&rq, &p, &rs, &attempts, err, sizeof err),
                     EVT_HTTP_TRANSIENT);
    assert_int_equal(attempts, 1);
    assert_int_equal(calls, 1);
    evt_http_response_free(&rs);
    free(u);
}

static void test_classify_scrub(void **state)
{
    (void)state;
    assert_int_equal(evt_http_classify(200), EVT_HTTP_DONE);
    assert_int_equal(evt_http_classify(204), EVT_HTTP_DONE);
    assert_int_equal(evt_http_classify(0), EVT_HTTP_TRANSIENT);
    assert_int_equal(evt_http_classify(408), EVT_HTTP_TRANSIENT);
    assert_int_equal(evt_http_classify(429), EVT_HTTP_TRANSIENT);
    assert_int_equal(evt_http_classify(500), EVT_HTTP_TRANSIENT);
    assert_int_equal(evt_http_classify(504), EVT_HTTP_TRANSIENT);
    assert_int_equal(evt_http_classify(400), EVT_HTTP_FINAL);
    assert_int_equal(evt_http_classify(401), EVT_HTTP_FINAL);
    assert_int_equal(evt_http_classify(409), EVT_HTTP_FINAL);
    assert_int_equal(evt_http_classify(302), EVT_HTTP_FINAL);
    char out[64];
    evt_http_scrub("a tok b tok", "tok", out, sizeof out);
    assert_string_equal(out, "a [REDACTED] b [REDACTED]");
    evt_http_scrub("tok", NULL, out, sizeof out);
    assert_string_equal(out, "tok");
    evt_http_scrub("xxtokyy", "tok", out, 8);
    assert_string_equal(out, "xx[REDA");
}

static int tls_get(const char *base, const char *ca, char *err, size_t len,
                   long *status)
{
    char *u = tu_fmt("%s/tls", base);
    struct evt_http_request rq = {.method = "GET", .url = u, .ca_bundle = ca};
    struct evt_http_response rs;
    int attempts = 0;
    int out = evt_http_send(&rq, &fast, &rs, &attempts, err, len);
    *status = rs.status;
    evt_http_response_free(&rs);
    free(u);
    return attempts == 1 || out == EVT_HTTP_TRANSIENT ? out : -1;
}

/* https: the peer is always verified. An untrusted certificate and a
 * certificate for another host are final errors (retrying cannot help),
 * tried once; ca_bundle makes a private CA trusted. */
static void test_tls_verified(void **state)
{
    (void)state;
    char *dir = tu_tmpdir(), err[512];
    assert_int_equal(fake_server_make_cert(dir, "ip", "IP:127.0.0.1"), 0);
    assert_int_equal(fake_server_make_cert(dir, "other", "DNS:other.example"),
                     0);
    char *ip_pem = tu_fmt("%s/ip.pem", dir), *ip_key = tu_fmt("%s/ip.key", dir);
    char *ot_pem = tu_fmt("%s/other.pem", dir);
    char *ot_key = tu_fmt("%s/other.key", dir);
    struct fake_server tls = {0}, wrong = {0};
    const char *a1[] = {"--tls", ip_pem, ip_key, NULL};
    const char *a2[] = {"--tls", ot_pem, ot_key, NULL};
    assert_int_equal(fake_server_start(&tls, "fake_http.py", a1), 0);
    assert_int_equal(fake_server_start(&wrong, "fake_http.py", a2), 0);
    char *base = tu_fmt("https://127.0.0.1:%d", tls.port);
    char *wbase = tu_fmt("https://127.0.0.1:%d", wrong.port);
    long status = -1;
    /* the system store does not trust it */
    assert_int_equal(tls_get(base, NULL, err, sizeof err, &status),
                     EVT_HTTP_FINAL);
    assert_int_equal(status, 0);
    assert_non_null(strstr(err, "GET https://127.0.0.1:"));
    assert_non_null(strstr(err, "certificate"));
    /* trusted through ca_bundle */
    assert_int_equal(tls_get(base, ip_pem, err, sizeof err, &status),
                     EVT_HTTP_DONE);
    assert_int_equal(status, 200);
    /* trusted, but issued for another host name */
    assert_int_equal(tls_get(wbase, ot_pem, err, sizeof err, &status),
                     EVT_HTTP_FINAL);
    assert_non_null(strstr(err, "host name"));
    /* a CA file that is not there */
    char *missing = tu_fmt("%s/missing.pem", dir);
    assert_int_equal(tls_get(base, missing, err, sizeof err, &status),
                     EVT_HTTP_FINAL);
    fake_server_stop(&tls);
    fake_server_stop(&wrong);
    free(missing);
    free(base);
    free(wbase);
    free(ip_pem);
    free(ip_key);
    free(ot_pem);
    free(ot_key);
    tu_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classify_scrub),
        cmocka_unit_test_setup(test_ok, reset),
        cmocka_unit_test_setup(test_503_then_ok, reset),
        cmocka_unit_test_setup(test_429_retry_after, reset),
        cmocka_unit_test_setup(test_wait_headers, reset),
        cmocka_unit_test_setup(test_401_final_scrubbed, reset),
        cmocka_unit_test(test_refused),
        cmocka_unit_test_setup(test_stall, reset),
        cmocka_unit_test_setup(test_truncated, reset),
        cmocka_unit_test_setup(test_deadline_and_stop, reset),
        cmocka_unit_test(test_tls_verified),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
