/* wb_config.c -- settings of the wandb sink (wb_config.h). */
#include "wb_config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "evtrack/sdk/files.h"
#include "evtrack/sdk/results.h"

const struct evt_config_key wb_config_keys[] = {
    {"mode", EVT_CFG_STR, 0, NULL,
     "\"online\", \"offline\" or \"disabled\" (default: $WANDB_MODE, else "
     "online)"},
    {"api_key", EVT_CFG_STR, 0, NULL,
     "API key (default: $WANDB_API_KEY); use \"${WANDB_API_KEY}\""},
    {"base_url", EVT_CFG_STR, 0, NULL,
     "server (default: $WANDB_BASE_URL, else https://api.wandb.ai)"},
    {"project", EVT_CFG_STR, 0, NULL,
     "project (default: $WANDB_PROJECT, else uncategorized)"},
    {"entity", EVT_CFG_STR, 0, NULL,
     "entity (default: $WANDB_ENTITY, else the key's default entity)"},
    {"run_id", EVT_CFG_STR, 0, NULL,
     "W&B run id (default: $WANDB_RUN_ID, else the evtrack run id)"},
    {"name", EVT_CFG_STR, 0, NULL, "display name (default: $WANDB_NAME)"},
    {"group", EVT_CFG_STR, 0, NULL, "run group (default: $WANDB_RUN_GROUP)"},
    {"job_type", EVT_CFG_STR, 0, NULL, "job type (default: $WANDB_JOB_TYPE)"},
    {"notes", EVT_CFG_STR, 0, NULL, "notes (default: $WANDB_NOTES)"},
    {"tags", EVT_CFG_JSON, 0, NULL,
     "array of tags, or one string \"a;b\" (default: $WANDB_TAGS, "
     "comma-separated)"},
    {"wandb_args", EVT_CFG_STR, 0, NULL,
     "lmms-eval --wandb_args form: \"project=x,name=y,tags=a;b\""},
    {"dir", EVT_CFG_STR, 0, NULL,
     "offline runs go to <dir>/wandb (default: $WANDB_DIR, else "
     "output_dir; relative: inside output_dir)"},
    {"ca_bundle", EVT_CFG_STR, 0, NULL, "extra CA file for https"},
    {"layout", EVT_CFG_STR, 0, "\"lmms-eval\"",
     "results dict of results.json and the tables: \"lmms-eval\" or "
     "\"lm-eval\""},
    {"log_samples", EVT_CFG_BOOL, 0, "true",
     "per-task samples tables and samples files"},
    {"stream_interval_secs", EVT_CFG_DOUBLE, 0, "2",
     "at most one file_stream request per run this often"},
    {"heartbeat_secs", EVT_CFG_DOUBLE, 0, "30",
     "send a heartbeat after this long without a request"},
    {"init_timeout_secs", EVT_CFG_DOUBLE, 0, "30",
     "keep trying to reach the server this long before going offline"},
    {"reconnect_secs", EVT_CFG_DOUBLE, 0, "60",
     "offline after a fallback: try the server again this often (0: never)"},
    {"request_timeout_secs", EVT_CFG_DOUBLE, 0, "30", "one HTTP exchange"},
    {"retry_base_ms", EVT_CFG_INT, 0, "1000",
     "first backoff ceiling between tries of a request"},
    {"retry_cap_ms", EVT_CFG_INT, 0, "30000", "largest backoff"},
    {"attempts", EVT_CFG_INT, 0, "5",
     "tries of one request before the batch is handed back for retry"},
    {NULL, 0, 0, NULL, NULL}};

static int fail(char *err, size_t errlen, const char *key, const char *what)
{
    snprintf(err, errlen, "config key \"%s\": %s", key, what);
    return -1;
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* Replace *slot with a copy of s[0..n). 0 or -1 (OOM). */
static int set_n(char **slot, const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (!p)
        return -1;
    memcpy(p, s, n);
    p[n] = '\0';
    free(*slot);
    *slot = p;
    return 0;
}

static void clear_tags(struct wb_settings *s)
{
    for (size_t i = 0; i < s->ntags; i++)
        free(s->tags[i]);
    s->ntags = 0;
}

/* Tags from "a;b" (sep ';') or "a,b" (sep ','); spaces trimmed, empty
 * ones skipped. 0, or -1 (OOM or too many). */
static int tags_from(struct wb_settings *s, const char *p, size_t n, char sep)
{
    clear_tags(s);
    s->has_tags = 1;
    for (size_t i = 0; i <= n;) {
        size_t j = i;
        while (j < n && p[j] != sep)
            j++;
        size_t a = i, b = j;
        while (a < b && p[a] == ' ')
            a++;
        while (b > a && p[b - 1] == ' ')
            b--;
        if (b > a) {
            if (s->ntags == WB_MAX_TAGS)
                return -1;
            s->tags[s->ntags] = NULL;
            if (set_n(&s->tags[s->ntags], p + a, b - a) != 0)
                return -1;
            s->ntags++;
        }
        i = j + 1;
    }
    return 0;
}

/* ---- --wandb_args ------------------------------------------------------ */

static char **slot_of(struct wb_settings *s, const char *k, size_t n)
{
    static const char *const names[] = {"project", "entity", "name", "id",
                                        "group",   "job_type", "notes",
                                        "mode",    "dir"};
    char **slots[] = {&s->project, &s->entity, &s->name,
                      &s->run_id,  &s->group,  &s->job_type,
                      &s->notes,   &s->mode,   &s->dir};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (strlen(names[i]) == n && memcmp(names[i], k, n) == 0)
            return slots[i];
    return NULL;
}

/* Keys of wandb.init that steer only the Python client. */
static int ignored_arg(const char *k, size_t n)
{
    static const char *const names[] = {
        "resume",     "reinit",         "anonymous", "save_code",
        "force",      "allow_val_change", "sync_tensorboard",
        "monitor_gym", "magic",         "settings",  "config_exclude_keys",
        "config_include_keys", NULL};
    for (int i = 0; names[i]; i++)
        if (strlen(names[i]) == n && memcmp(names[i], k, n) == 0)
            return 1;
    return 0;
}

static int arg_item(const char *p, size_t n, struct wb_settings *out,
                    char *err, size_t errlen)
{
    const char *eq = memchr(p, '=', n);
    size_t kn = eq ? (size_t)(eq - p) : n;
    const char *v = eq ? eq + 1 : p + n;
    size_t vn = eq ? n - kn - 1 : 0;
    if (kn == 4 && memcmp(p, "tags", 4) == 0) {
        if (tags_from(out, v, vn, ';') != 0)
            return fail(err, errlen, "wandb_args", "too many tags");
        return 0;
    }
    char **slot = slot_of(out, p, kn);
    if (slot)
        return set_n(slot, v, vn) == 0
                   ? 0
                   : fail(err, errlen, "wandb_args", "out of memory");
    if (ignored_arg(p, kn))
        return 0;
    snprintf(err, errlen,
             "config key \"wandb_args\": unknown key \"%.*s\" (known: "
             "project, entity, name, id, group, job_type, notes, tags, "
             "mode, dir)",
             (int)(kn > 64 ? 64 : kn), p);
    return -1;
}

int wb_args_parse(const char *s, struct wb_settings *out, char *err,
                  size_t errlen)
{
    while (s && *s) {
        size_t n = strcspn(s, ",");
        size_t a = 0, b = n;
        while (a < b && (s[a] == ' ' || s[a] == '\t'))
            a++;
        while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t'))
            b--;
        if (b > a && arg_item(s + a, b - a, out, err, errlen) != 0)
            return -1;
        s += n + (s[n] == ',');
    }
    return 0;
}

/* ---- environment ------------------------------------------------------- */

static const char *env_nonempty(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

void wb_env_read(struct wb_env *env)
{
    env->api_key = env_nonempty("WANDB_API_KEY");
    env->base_url = env_nonempty("WANDB_BASE_URL");
    env->project = env_nonempty("WANDB_PROJECT");
    env->entity = env_nonempty("WANDB_ENTITY");
    env->mode = env_nonempty("WANDB_MODE");
    env->run_id = env_nonempty("WANDB_RUN_ID");
    env->name = env_nonempty("WANDB_NAME");
    env->group = env_nonempty("WANDB_RUN_GROUP");
    env->job_type = env_nonempty("WANDB_JOB_TYPE");
    env->notes = env_nonempty("WANDB_NOTES");
    env->tags = env_nonempty("WANDB_TAGS");
    env->dir = env_nonempty("WANDB_DIR");
}

/* ---- reading the settings ---------------------------------------------- */

/* *slot = config key, else the wandb_args value already in *slot, else
 * the environment value. */
static int layer(char **slot, const struct evt_host_api *api,
                 const evt_config *cfg, const char *key, const char *envv)
{
    const char *v = api->cfg_str(cfg, key, NULL);
    if (v && *v)
        return set_n(slot, v, strlen(v));
    if (!*slot && envv)
        return set_n(slot, envv, strlen(envv));
    return 0;
}

static int read_tags(struct wb_settings *s, const struct evt_host_api *api,
                     const evt_config *cfg, const char *envv, char *err,
                     size_t errlen)
{
    const char *json = api->cfg_json(cfg, "tags");
    cJSON *t = json ? cJSON_Parse(json) : NULL;
    int rc = 0;
    if (json && cJSON_IsString(t)) {
        rc = tags_from(s, t->valuestring, strlen(t->valuestring), ';');
    } else if (json && cJSON_IsArray(t)) {
        clear_tags(s);
        s->has_tags = 1;
        const cJSON *it;
        cJSON_ArrayForEach(it, t) {
            if (!cJSON_IsString(it) || s->ntags == WB_MAX_TAGS) {
                rc = -1;
                break;
            }
            s->tags[s->ntags] = strdup(it->valuestring);
            if (!s->tags[s->ntags])
                rc = -1;
            else
                s->ntags++;
        }
    } else if (json) {
        rc = -1;
    } else if (!s->has_tags && envv) {
        rc = tags_from(s, envv, strlen(envv), ',');
    }
    cJSON_Delete(t);
    return rc == 0 ? 0
                   : fail(err, errlen, "tags",
                          "expected an array of at most 64 strings or one "
                          "\"a;b\" string");
}

static int read_mode(struct wb_cfg *c, char *err, size_t errlen,
                     const char *source)
{
    const char *m = c->s.mode ? c->s.mode : "online";
    if (strcmp(m, "online") == 0 || strcmp(m, "run") == 0)
        c->mode = WB_MODE_ONLINE;
    else if (strcmp(m, "offline") == 0 || strcmp(m, "dryrun") == 0)
        c->mode = WB_MODE_OFFLINE;
    else if (strcmp(m, "disabled") == 0)
        c->mode = WB_MODE_DISABLED;
    else {
        snprintf(err, errlen,
                 "%s: expected \"online\", \"offline\" or \"disabled\"",
                 source);
        return -1;
    }
    return 0;
}

static int read_secs(const struct evt_host_api *api, const evt_config *cfg,
                     const char *key, double dflt, int64_t *ms_out,
                     char *err, size_t errlen)
{
    double v = api->cfg_double(cfg, key, dflt);
    if (!(v >= 0) || v > 1e7)
        return fail(err, errlen, key, "expected a number of seconds >= 0");
    *ms_out = (int64_t)llround(v * 1000.0);
    return 0;
}

static int read_numbers(struct wb_cfg *c, const struct evt_host_api *api,
                        const evt_config *cfg, char *err, size_t errlen)
{
    int64_t req;
    if (read_secs(api, cfg, "stream_interval_secs", 2, &c->interval_ms, err,
                  errlen) ||
        read_secs(api, cfg, "heartbeat_secs", 30, &c->heartbeat_ms, err,
                  errlen) ||
        read_secs(api, cfg, "init_timeout_secs", 30, &c->init_timeout_ms,
                  err, errlen) ||
        read_secs(api, cfg, "reconnect_secs", 60, &c->reconnect_ms, err,
                  errlen) ||
        read_secs(api, cfg, "request_timeout_secs", 30, &req, err, errlen))
        return -1;
    if (c->heartbeat_ms == 0)
        return fail(err, errlen, "heartbeat_secs", "must be above 0");
    c->request_timeout_ms = req > 0 ? (long)req : 30000;
    int64_t base = api->cfg_int(cfg, "retry_base_ms", 1000);
    int64_t cap = api->cfg_int(cfg, "retry_cap_ms", 30000);
    int64_t tries = api->cfg_int(cfg, "attempts", 5);
    if (base < 1 || base > 3600000 || cap < base || cap > 3600000)
        return fail(err, errlen, "retry_cap_ms",
                    "expected 1 <= retry_base_ms <= retry_cap_ms <= 3600000");
    if (tries < 1 || tries > 1000)
        return fail(err, errlen, "attempts", "expected 1 to 1000");
    c->retry_base_ms = (long)base;
    c->retry_cap_ms = (long)cap;
    c->attempts = (int)tries;
    return 0;
}

static int read_base_url(struct wb_cfg *c, const struct evt_host_api *api,
                         const evt_config *cfg, const struct wb_env *env,
                         char *err, size_t errlen)
{
    const char *u = api->cfg_str(cfg, "base_url", NULL);
    const char *src = "config key \"base_url\"";
    if (!u || !*u) {
        u = env->base_url ? env->base_url : WB_DEFAULT_BASE_URL;
        src = "WANDB_BASE_URL";
    }
    size_t n = strlen(u);
    while (n > 0 && u[n - 1] == '/')
        n--;
    if (strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0) {
        snprintf(err, errlen, "%s: expected an http:// or https:// URL", src);
        return -1;
    }
    return set_n(&c->base_url, u, n) == 0
               ? 0
               : fail(err, errlen, "base_url", "out of memory");
}

/* <dir>/.wandb when that folder exists, else <dir>/wandb. */
static char *offline_root(const char *dir)
{
    char *dot = evt_path_join(dir, ".wandb");
    struct stat st;
    if (dot && stat(dot, &st) == 0 && S_ISDIR(st.st_mode))
        return dot;
    free(dot);
    return evt_path_join(dir, "wandb");
}

static int read_dir(struct wb_cfg *c, const struct evt_host_api *api,
                    const evt_config *cfg, const struct wb_env *env,
                    const char *output_dir)
{
    const char *base = output_dir && *output_dir ? output_dir : ".";
    const char *d = api->cfg_str(cfg, "dir", NULL);
    char *dir;
    if (d && *d)
        dir = d[0] == '/' ? strdup(d) : evt_path_join(base, d);
    else if (c->s.dir && *c->s.dir)
        dir = strdup(c->s.dir);
    else
        dir = strdup(env->dir ? env->dir : base);
    c->offline_root = dir ? offline_root(dir) : NULL;
    free(dir);
    return c->offline_root ? 0 : -1;
}

static int read_strings(struct wb_cfg *c, const struct evt_host_api *api,
                        const evt_config *cfg, const struct wb_env *env)
{
    struct wb_settings *s = &c->s;
    const char *key = api->cfg_str(cfg, "api_key", NULL);
    const char *ca = api->cfg_str(cfg, "ca_bundle", NULL);
    c->api_key = dup_or_null(key && *key ? key : env->api_key);
    c->ca_bundle = dup_or_null(ca && *ca ? ca : NULL);
    if ((key && *key && !c->api_key) || (env->api_key && !c->api_key) ||
        (ca && *ca && !c->ca_bundle))
        return -1;
    int rc = layer(&s->project, api, cfg, "project", env->project) |
             layer(&s->entity, api, cfg, "entity", env->entity) |
             layer(&s->run_id, api, cfg, "run_id", env->run_id) |
             layer(&s->name, api, cfg, "name", env->name) |
             layer(&s->group, api, cfg, "group", env->group) |
             layer(&s->job_type, api, cfg, "job_type", env->job_type) |
             layer(&s->notes, api, cfg, "notes", env->notes) |
             layer(&s->mode, api, cfg, "mode", env->mode);
    if (rc == 0 && !s->project)
        rc = set_n(&s->project, WB_DEFAULT_PROJECT,
                   strlen(WB_DEFAULT_PROJECT));
    return rc;
}

/* Where a bad mode value came from, for the message. */
static const char *mode_source(const struct evt_host_api *api,
                               const evt_config *cfg, int from_args)
{
    const char *v = api->cfg_str(cfg, "mode", NULL);
    if (v && *v)
        return "config key \"mode\"";
    return from_args ? "config key \"wandb_args\": mode" : "WANDB_MODE";
}

static int read_layout(struct wb_cfg *c, const struct evt_host_api *api,
                       const evt_config *cfg, char *err, size_t errlen)
{
    enum evt_results_layout l;
    if (evt_results_layout_from_name(api->cfg_str(cfg, "layout", "lmms-eval"),
                                     &l) != 0 ||
        l == EVT_RESULTS_LIGHTEVAL)
        return fail(err, errlen, "layout",
                    "expected \"lmms-eval\" or \"lm-eval\"");
    c->layout = (int)l;
    c->log_samples = api->cfg_bool(cfg, "log_samples", 1);
    return 0;
}

int wb_cfg_read(struct wb_cfg *c, const struct evt_host_api *api,
                const evt_config *cfg, const struct wb_env *env,
                const char *output_dir, char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    if (wb_args_parse(api->cfg_str(cfg, "wandb_args", NULL), &c->s, err,
                      errlen) != 0)
        return -1;
    int mode_from_args = c->s.mode != NULL;
    if (read_strings(c, api, cfg, env) != 0 ||
        read_dir(c, api, cfg, env, output_dir) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (read_tags(&c->s, api, cfg, env->tags, err, errlen) != 0 ||
        read_mode(c, err, errlen, mode_source(api, cfg, mode_from_args)) ||
        read_base_url(c, api, cfg, env, err, errlen) != 0 ||
        read_numbers(c, api, cfg, err, errlen) != 0 ||
        read_layout(c, api, cfg, err, errlen) != 0)
        return -1;
    if (c->mode == WB_MODE_ONLINE && !c->api_key) {
        snprintf(err, errlen,
                 "no API key: set WANDB_API_KEY or the config key "
                 "\"api_key\" (or use mode \"offline\")");
        return -1;
    }
    return 0;
}

void wb_settings_free(struct wb_settings *s)
{
    free(s->project);
    free(s->entity);
    free(s->run_id);
    free(s->name);
    free(s->group);
    free(s->job_type);
    free(s->notes);
    free(s->mode);
    free(s->dir);
    clear_tags(s);
    memset(s, 0, sizeof *s);
}

void wb_cfg_free(struct wb_cfg *c)
{
    if (c->api_key) /* do not leave the key in freed memory */
        memset(c->api_key, 0, strlen(c->api_key));
    free(c->api_key);
    free(c->base_url);
    free(c->ca_bundle);
    free(c->offline_root);
    wb_settings_free(&c->s);
    memset(c, 0, sizeof *c);
}
