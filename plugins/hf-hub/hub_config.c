/* hub_config.c -- the hf-hub sink's config keys, its token and endpoint
 * (docs/sinks/hf-hub.md section 1). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub.h"

#define DEFAULT_REPO "lmms-eval-results"
#define DEFAULT_ENDPOINT "https://huggingface.co"

const struct evt_config_key hub_config_keys[] = {
    {"org", EVT_CFG_STR, 0, NULL,
     "namespace of the repos (user or organization); default: the token's "
     "owner (/api/whoami-v2)"},
    {"results_repo", EVT_CFG_STR, 0, NULL,
     "dataset repo for results files, \"name\" or \"org/name\"; default "
     "\"lmms-eval-results\" (\"-private\" appended unless public)"},
    {"details_repo", EVT_CFG_STR, 0, NULL,
     "dataset repo for per-sample files; default: results_repo"},
    {"public", EVT_CFG_BOOL, 0, "false", "create public repos (false: private)"},
    {"gated", EVT_CFG_BOOL, 0, "false",
     "make newly created repos gated (access requests approved automatically)"},
    {"push_results", EVT_CFG_BOOL, 0, "true", "push the results JSON"},
    {"push_samples", EVT_CFG_BOOL, 0, "true", "push the samples JSONL files"},
    {"card", EVT_CFG_BOOL, 0, "true",
     "push a README.md dataset card with `configs` for the dataset viewer"},
    {"endpoint", EVT_CFG_STR, 0, NULL,
     "Hub URL; default $HF_ENDPOINT, then https://huggingface.co"},
    {"token_env", EVT_CFG_STR, 0, NULL,
     "environment variable holding the token; default HF_TOKEN, then "
     "HUGGING_FACE_HUB_TOKEN"},
    {"ca_bundle", EVT_CFG_STR, 0, NULL,
     "extra CA certificates (PEM file) for a private https endpoint"},
    {"push_interval_secs", EVT_CFG_INT, 0, "0",
     "also push a running run's files every N seconds (0: only at run_end)"},
    {"timeout_secs", EVT_CFG_INT, 0, "300", "limit for one HTTP exchange"},
    {"http_attempts", EVT_CFG_INT, 0, "6",
     "tries of one request on transient errors before the push fails"},
    {"http_backoff_ms", EVT_CFG_INT, 0, "1000",
     "first backoff ceiling between tries (doubles, full jitter)"},
    {"http_backoff_cap_ms", EVT_CFG_INT, 0, "8000",
     "largest backoff between tries"},
    {"nan", EVT_CFG_STR, 0, "\"strict\"",
     "results JSON NaN/Infinity: \"strict\" or \"bare\" (as local-json)"},
    {"redact", EVT_CFG_BOOL, 0, "true",
     "redact tokens in the results config (as local-json)"},
    {"filter_key", EVT_CFG_BOOL, 0, "true",
     "keep the \"filter\" key in sample lines (as jsonl)"},
    {NULL, 0, 0, NULL, NULL}};

static int fail(char *err, size_t errlen, const char *msg)
{
    snprintf(err, errlen, "%s", msg);
    return -1;
}

/* The token as huggingface_hub cleans it: no '\r' or '\n', trimmed.
 * NULL when v is NULL or nothing is left. */
static char *clean_token(const char *v)
{
    if (!v)
        return NULL;
    size_t n = strlen(v), o = 0;
    char *t = malloc(n + 1);
    if (!t)
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (v[i] != '\r' && v[i] != '\n')
            t[o++] = v[i];
    while (o && isspace((unsigned char)t[o - 1]))
        o--;
    t[o] = '\0';
    size_t lead = strspn(t, " \t\f\v");
    memmove(t, t + lead, o - lead + 1);
    if (!t[0]) {
        free(t);
        return NULL;
    }
    return t;
}

/* 0 with c->token set (or left NULL when pushing is off), or -1. */
static int read_token(struct hub_cfg *c, const char *var, char *err,
                      size_t errlen)
{
    if (var && *var) {
        snprintf(c->token_var_buf, sizeof c->token_var_buf, "%s", var);
        c->token_var = c->token_var_buf;
        c->token = clean_token(getenv(var));
    } else {
        c->token_var = "HF_TOKEN";
        c->token = clean_token(getenv("HF_TOKEN"));
        if (!c->token) {
            c->token = clean_token(getenv("HUGGING_FACE_HUB_TOKEN"));
            if (c->token)
                c->token_var = "HUGGING_FACE_HUB_TOKEN";
        }
    }
    if (c->token || (!c->push_results && !c->push_samples))
        return 0;
    if (var && *var)
        snprintf(err, errlen, "no Hugging Face token: the environment "
                 "variable %.100s (config key \"token_env\") is not set or "
                 "empty; set it, or turn push_results and push_samples off",
                 var);
    else
        snprintf(err, errlen, "no Hugging Face token: set the environment "
                 "variable HF_TOKEN (or HUGGING_FACE_HUB_TOKEN), or name "
                 "another one with \"token_env\"");
    return -1;
}

static int read_endpoint(struct hub_cfg *c, const char *v, char *err,
                         size_t errlen)
{
    if (!v || !*v)
        v = getenv("HF_ENDPOINT");
    if (!v || !*v)
        v = DEFAULT_ENDPOINT;
    if (strncmp(v, "https://", 8) != 0 && strncmp(v, "http://", 7) != 0)
        return fail(err, errlen, "config key \"endpoint\" (or $HF_ENDPOINT): "
                    "expected an http:// or https:// URL");
    size_t n = strlen(v);
    while (n > 8 && v[n - 1] == '/')
        n--;
    if (!(c->endpoint = strndup(v, n)))
        return fail(err, errlen, "out of memory");
    return 0;
}

/* A repo or org name: letters, digits, '-', '_', '.', not starting with
 * '-' or '.', at most 96 bytes; with_org allows one "org/" prefix. */
static int valid_name(const char *s, int with_org)
{
    size_t n = strlen(s), seg = 0;
    if (n == 0 || n > 200)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (ch == '/' && with_org && seg > 0 && i + 1 < n) {
            with_org = 0;
            seg = 0;
            continue;
        }
        if (!isalnum((unsigned char)ch) && ch != '-' && ch != '_' &&
            ch != '.')
            return 0;
        if (seg == 0 && (ch == '-' || ch == '.'))
            return 0;
        if (++seg > 96)
            return 0;
    }
    return 1;
}

/* results_repo / details_repo with lmms-eval's defaults. */
static int read_repos(struct hub_cfg *c, const char *res, const char *det,
                      char *err, size_t errlen)
{
    char dflt[64];
    snprintf(dflt, sizeof dflt, "%s%s", DEFAULT_REPO,
             c->public_repo ? "" : "-private");
    const char *r = res && *res ? res : dflt;
    const char *d = det && *det ? det : r;
    if (!valid_name(r, 1))
        return fail(err, errlen, "config key \"results_repo\": expected "
                    "\"name\" or \"org/name\" (letters, digits, - _ .)");
    if (!valid_name(d, 1))
        return fail(err, errlen, "config key \"details_repo\": expected "
                    "\"name\" or \"org/name\" (letters, digits, - _ .)");
    if (c->org && !valid_name(c->org, 0))
        return fail(err, errlen, "config key \"org\": expected a user or "
                    "organization name (letters, digits, - _ .)");
    c->results_repo = strdup(r);
    c->details_repo = strdup(d);
    return c->results_repo && c->details_repo ? 0
                                              : fail(err, errlen, "out of "
                                                                  "memory");
}

static int read_http(struct hub_cfg *c, const struct evt_host_api *api,
                     const evt_config *cfg, char *err, size_t errlen)
{
    int64_t t = api->cfg_int(cfg, "timeout_secs", 300);
    int64_t a = api->cfg_int(cfg, "http_attempts", 6);
    int64_t b = api->cfg_int(cfg, "http_backoff_ms", 1000);
    int64_t m = api->cfg_int(cfg, "http_backoff_cap_ms", 8000);
    c->push_interval_s = api->cfg_int(cfg, "push_interval_secs", 0);
    if (t < 1 || t > 86400)
        return fail(err, errlen, "config key \"timeout_secs\": expected 1 "
                    "to 86400");
    if (a < 1 || a > 100)
        return fail(err, errlen, "config key \"http_attempts\": expected 1 "
                    "to 100");
    if (b < 1 || m < b || m > 3600000)
        return fail(err, errlen, "config keys \"http_backoff_ms\" / "
                    "\"http_backoff_cap_ms\": expected 1 <= backoff <= cap "
                    "<= 3600000");
    if (c->push_interval_s < 0)
        return fail(err, errlen, "config key \"push_interval_secs\": must "
                    "not be negative");
    c->timeout_ms = (long)t * 1000;
    c->connect_timeout_ms = 10000;
    c->retry.max_attempts = (int)a;
    c->retry.base_ms = (long)b;
    c->retry.cap_ms = (long)m;
    return 0;
}

static int read_formats(struct hub_cfg *c, const struct evt_host_api *api,
                        const evt_config *cfg, char *err, size_t errlen)
{
    if (evt_results_nan_from_name(api->cfg_str(cfg, "nan", "strict"),
                                  &c->ropts.nan) != 0)
        return fail(err, errlen,
                    "config key \"nan\": expected \"strict\" or \"bare\"");
    c->ropts.layout = EVT_RESULTS_LMMS_EVAL;
    c->ropts.redact = api->cfg_bool(cfg, "redact", 1);
    c->jopts.layout = JL_LMMS;
    c->jopts.filter_key = api->cfg_bool(cfg, "filter_key", 1);
    if (evt_results_load_secrets(&c->ropts, c->secret_store) != 0)
        return fail(err, errlen, "out of memory");
    for (int i = 0; c->token && i < EVT_RESULTS_MAX_SECRETS; i++)
        if (!c->ropts.secrets[i]) {
            c->ropts.secrets[i] = c->token;
            break;
        }
    return 0;
}

static char *dup_opt(const char *v)
{
    return v && *v ? strdup(v) : NULL;
}

int hub_config_read(struct hub_cfg *c, const struct evt_host_api *api,
                    const evt_config *cfg, char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    c->public_repo = api->cfg_bool(cfg, "public", 0);
    c->gated = api->cfg_bool(cfg, "gated", 0);
    c->push_results = api->cfg_bool(cfg, "push_results", 1);
    c->push_samples = api->cfg_bool(cfg, "push_samples", 1);
    c->card = api->cfg_bool(cfg, "card", 1);
    c->org = dup_opt(api->cfg_str(cfg, "org", NULL));
    c->ca_bundle = dup_opt(api->cfg_str(cfg, "ca_bundle", NULL));
    if (read_http(c, api, cfg, err, errlen) != 0 ||
        read_endpoint(c, api->cfg_str(cfg, "endpoint", NULL), err,
                      errlen) != 0 ||
        read_repos(c, api->cfg_str(cfg, "results_repo", NULL),
                   api->cfg_str(cfg, "details_repo", NULL), err,
                   errlen) != 0 ||
        read_token(c, api->cfg_str(cfg, "token_env", NULL), err,
                   errlen) != 0 ||
        read_formats(c, api, cfg, err, errlen) != 0)
        return -1;
    return 0;
}

void hub_config_free(struct hub_cfg *c)
{
    free(c->endpoint);
    if (c->token) /* leave no copy of the secret in freed memory */
        memset(c->token, 0, strlen(c->token));
    free(c->token);
    free(c->org);
    free(c->results_repo);
    free(c->details_repo);
    free(c->ca_bundle);
    evt_results_free_secrets(c->secret_store);
    memset(c, 0, sizeof *c);
}
