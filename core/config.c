/* config.c -- the JSON config file (docs/CONFIG.md), parsed with cJSON.
 * Every error names the source, the JSON path of the offending value and
 * what was expected, and never echoes a value (it may be a secret); only
 * file paths are named, since the message is useless without them. */
#include "config.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plugin_dirs.h"
#include "strbuf.h"

struct evt_config {
    cJSON *obj; /* owned */
    char **json_cache;
    size_t njson;
};

/* Context of one parse, for messages. */
struct cp {
    const char *src;
    char *err;
    size_t errlen;
};

static int bad(struct cp *p, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int bad(struct cp *p, const char *path, const char *fmt, ...)
{
    char what[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return evt__err(p->err, p->errlen, EVT_ECONFIG, "%s: %s: %s", p->src,
                    path, what);
}

int evt__read_file(const char *path, char **text, size_t *len, char *err,
                   size_t errlen)
{
    *text = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return evt__err(err, errlen, EVT_ECONFIG, "%s: cannot open: %s",
                        path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return evt__err(err, errlen, EVT_ECONFIG, "%s: not a regular file",
                        path);
    }
    size_t cap = (size_t)st.st_size + 1, n = 0;
    char *buf = malloc(cap);
    if (!buf) {
        close(fd);
        return evt__err(err, errlen, EVT_ENOMEM, "%s: out of memory", path);
    }
    for (;;) {
        if (n + 1 >= cap) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                close(fd);
                return evt__err(err, errlen, EVT_ENOMEM, "%s: out of memory",
                                path);
            }
            buf = nb;
            cap *= 2;
        }
        ssize_t r = read(fd, buf + n, cap - 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            free(buf);
            close(fd);
            return evt__err(err, errlen, EVT_ECONFIG, "%s: read failed: %s",
                            path, strerror(e));
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    buf[n] = '\0';
    *text = buf;
    *len = n;
    return EVT_OK;
}

static void join_path(char *out, size_t n, const char *path, const char *key)
{
    snprintf(out, n, "%s%s%s", path, path[0] ? "." : "", key);
}

/* ---- ${ENV} expansion ----------------------------------------------------*/

/* Expand ${NAME} in s ("$$" is a literal "$"). */
static int expand_env(struct cp *p, const char *path, const char *s,
                      char **out)
{
    size_t cap = strlen(s) + 1, n = 0;
    char *o = malloc(cap);
    if (!o)
        return bad(p, path, "out of memory");
    for (const char *q = s; *q;) {
        const char *val = NULL;
        size_t vlen = 0, adv = 1;
        if (q[0] == '$' && q[1] == '$') {
            val = "$";
            vlen = 1;
            adv = 2;
        } else if (q[0] == '$' && q[1] == '{') {
            const char *close = strchr(q + 2, '}');
            char name[128];
            size_t nl = close ? (size_t)(close - q - 2) : 0;
            if (!close || nl == 0 || nl >= sizeof name) {
                free(o);
                return bad(p, path, "unterminated or empty ${...}");
            }
            memcpy(name, q + 2, nl);
            name[nl] = '\0';
            val = getenv(name);
            if (!val) {
                free(o);
                return bad(p, path, "environment variable %s is not set",
                           name);
            }
            vlen = strlen(val);
            adv = nl + 3;
        } else {
            val = q;
            vlen = 1;
        }
        if (n + vlen + 1 > cap) {
            cap = (n + vlen + 1) * 2;
            char *no = realloc(o, cap);
            if (!no) {
                free(o);
                return bad(p, path, "out of memory");
            }
            o = no;
        }
        memcpy(o + n, val, vlen);
        n += vlen;
        q += adv;
    }
    o[n] = '\0';
    *out = o;
    return EVT_OK;
}

static int expand_tree(struct cp *p, cJSON *node, const char *path)
{
    if (cJSON_IsString(node) && strchr(node->valuestring, '$')) {
        char *x = NULL;
        int rc = expand_env(p, path, node->valuestring, &x);
        if (rc)
            return rc;
        cJSON_free(node->valuestring);
        node->valuestring = cJSON_malloc(strlen(x) + 1);
        if (!node->valuestring) {
            free(x);
            return bad(p, path, "out of memory");
        }
        memcpy(node->valuestring, x, strlen(x) + 1);
        free(x);
        return EVT_OK;
    }
    int i = 0;
    for (cJSON *c = node->child; c; c = c->next, i++) {
        char sub[256];
        if (cJSON_IsObject(node))
            join_path(sub, sizeof sub, path, c->string);
        else
            snprintf(sub, sizeof sub, "%s[%d]", path, i);
        int rc = expand_tree(p, c, sub);
        if (rc)
            return rc;
    }
    return EVT_OK;
}

/* ---- typed getters with path-naming errors -------------------------------*/

static const char *type_name(const cJSON *v)
{
    if (cJSON_IsString(v))
        return "a string";
    if (cJSON_IsNumber(v))
        return "a number";
    if (cJSON_IsBool(v))
        return "a boolean";
    if (cJSON_IsNull(v))
        return "null";
    if (cJSON_IsArray(v))
        return "an array";
    return "an object";
}

/* Reject keys of obj that are not in allowed (NULL-terminated). */
static int check_keys(struct cp *p, const cJSON *obj, const char *path,
                      const char *const *allowed)
{
    for (const cJSON *c = obj->child; c; c = c->next) {
        int ok = 0;
        for (const char *const *a = allowed; *a; a++)
            ok |= strcmp(c->string, *a) == 0;
        if (ok)
            continue;
        char known[256] = "";
        size_t n = 0;
        for (const char *const *a = allowed; *a && n < sizeof known; a++)
            n += (size_t)snprintf(known + n, sizeof known - n, "%s%s",
                                  a == allowed ? "" : ", ", *a);
        char sub[256];
        snprintf(sub, sizeof sub, "%s%s%s", path, path[0] ? "." : "",
                 c->string);
        return bad(p, sub, "unknown key (expected one of: %s)", known);
    }
    return EVT_OK;
}

static int get_str(struct cp *p, const cJSON *obj, const char *path,
                   const char *key, const char **out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v)
        return EVT_OK;
    char sub[256];
    join_path(sub, sizeof sub, path, key);
    if (!cJSON_IsString(v))
        return bad(p, sub, "expected a string, got %s", type_name(v));
    *out = v->valuestring;
    return EVT_OK;
}

static int get_int(struct cp *p, const cJSON *obj, const char *path,
                   const char *key, int64_t lo, int64_t hi, int64_t *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v)
        return EVT_OK;
    char sub[256];
    join_path(sub, sizeof sub, path, key);
    double d = v->valuedouble;
    if (!cJSON_IsNumber(v) || d != floor(d))
        return bad(p, sub, "expected an integer, got %s",
                   cJSON_IsNumber(v) ? "a fraction" : type_name(v));
    if (d < (double)lo || d > (double)hi)
        return bad(p, sub, "expected an integer from %lld to %lld",
                   (long long)lo, (long long)hi);
    *out = (int64_t)d;
    return EVT_OK;
}

static int get_bool(struct cp *p, const cJSON *obj, const char *path,
                    const char *key, int *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v)
        return EVT_OK;
    char sub[256];
    join_path(sub, sizeof sub, path, key);
    if (!cJSON_IsBool(v))
        return bad(p, sub, "expected true or false, got %s", type_name(v));
    *out = cJSON_IsTrue(v);
    return EVT_OK;
}

static int get_object(struct cp *p, const cJSON *obj, const char *path,
                      const char *key, const cJSON **out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    *out = NULL;
    if (!v)
        return EVT_OK;
    char sub[256];
    join_path(sub, sizeof sub, path, key);
    if (!cJSON_IsObject(v))
        return bad(p, sub, "expected an object, got %s", type_name(v));
    *out = v;
    return EVT_OK;
}

/* ---- paths -----------------------------------------------------------------*/

static char *resolve(const char *base_dir, const char *path)
{
    if (path[0] == '/' || !base_dir || !base_dir[0])
        return evt__strdup(path);
    return evt__path_join(base_dir, path);
}

/* ---- sinks -----------------------------------------------------------------*/

static const char *const sink_keys[] = {"plugin", "path",   "name", "enabled",
                                        "events", "queue",  "retry", "config",
                                        NULL};
static const char *const queue_keys[] = {"max_events", "overflow", NULL};
static const char *const retry_keys[] = {"limit", "base_ms", "cap_ms", NULL};

static int parse_overflow(struct cp *p, const char *path, const char *s,
                          int *out)
{
    static const char *const names[] = {"block", "spill", "drop_newest",
                                        "drop_oldest"};
    for (int i = 0; i < 4; i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = i;
            return EVT_OK;
        }
    }
    return bad(p, path,
               "expected one of \"block\", \"spill\", \"drop_newest\", "
               "\"drop_oldest\"");
}

static int parse_queue(struct cp *p, const cJSON *sink, const char *where,
                       struct evt__sink_spec *s)
{
    const cJSON *q;
    char path[64];
    snprintf(path, sizeof path, "%s.queue", where);
    int rc = get_object(p, sink, where, "queue", &q);
    if (rc || !q)
        return rc;
    if ((rc = check_keys(p, q, path, queue_keys)))
        return rc;
    int64_t max = (int64_t)s->max_events;
    if ((rc = get_int(p, q, path, "max_events", 1, 100000000, &max)))
        return rc;
    s->max_events = (size_t)max;
    const char *ov = NULL;
    if ((rc = get_str(p, q, path, "overflow", &ov)))
        return rc;
    if (ov) {
        char sub[96];
        snprintf(sub, sizeof sub, "%s.overflow", path);
        s->overflow_set = 1;
        return parse_overflow(p, sub, ov, &s->overflow);
    }
    return EVT_OK;
}

static int parse_retry(struct cp *p, const cJSON *sink, const char *where,
                       struct evt__sink_spec *s)
{
    const cJSON *r;
    char path[64];
    snprintf(path, sizeof path, "%s.retry", where);
    int rc = get_object(p, sink, where, "retry", &r);
    if (rc || !r)
        return rc;
    int64_t limit = s->retry_limit;
    if ((rc = check_keys(p, r, path, retry_keys)) ||
        (rc = get_int(p, r, path, "limit", 0, 1000000, &limit)) ||
        (rc = get_int(p, r, path, "base_ms", 0, 3600000, &s->retry_base_ms)) ||
        (rc = get_int(p, r, path, "cap_ms", 0, 86400000, &s->retry_cap_ms)))
        return rc;
    s->retry_limit = (int)limit;
    if (s->retry_cap_ms < s->retry_base_ms)
        return bad(p, path, "cap_ms must not be smaller than base_ms");
    return EVT_OK;
}

static int parse_events(struct cp *p, const cJSON *sink, const char *where,
                        uint32_t *mask)
{
    const cJSON *ev = cJSON_GetObjectItemCaseSensitive(sink, "events");
    if (!ev)
        return EVT_OK;
    char path[64];
    snprintf(path, sizeof path, "%s.events", where);
    if (!cJSON_IsArray(ev) || cJSON_GetArraySize(ev) == 0)
        return bad(p, path, "expected a non-empty array of event kinds");
    int i = 0;
    for (const cJSON *c = ev->child; c; c = c->next, i++) {
        char sub[96];
        snprintf(sub, sizeof sub, "%s[%d]", path, i);
        uint32_t k = cJSON_IsString(c) ? evt__kind_from_name(c->valuestring)
                                       : 0;
        if (!k)
            return bad(p, sub,
                       "expected one of \"run_start\", \"task_config\", "
                       "\"sample\", \"result\", \"scalar\", \"run_end\"");
        *mask |= k;
    }
    return EVT_OK;
}

static int resolve_plugin(struct cp *p, const cJSON *sink, const char *where,
                          char *const *dirs, const char *base_dir,
                          struct evt__sink_spec *s, const char **default_name)
{
    const char *plugin = NULL, *path = NULL;
    int rc = get_str(p, sink, where, "plugin", &plugin);
    if (rc || (rc = get_str(p, sink, where, "path", &path)))
        return rc;
    if (!plugin == !path)
        return bad(p, where, "expected exactly one of \"plugin\" (a name) "
                             "or \"path\" (a .so file)");
    char sub[64];
    if (path) {
        snprintf(sub, sizeof sub, "%s.path", where);
        if (!path[0])
            return bad(p, sub, "empty path");
        s->path = resolve(base_dir, path);
        const char *slash = strrchr(path, '/');
        *default_name = slash ? slash + 1 : path;
        return s->path ? EVT_OK : bad(p, sub, "out of memory");
    }
    snprintf(sub, sizeof sub, "%s.plugin", where);
    if (!evt__plugin_name_ok(plugin))
        return bad(p, sub, "invalid plugin name (letters, digits, '-', '_', "
                           "'.' only)");
    s->path = evt__plugin_find(dirs, plugin);
    *default_name = plugin;
    if (s->path)
        return EVT_OK;
    char looked[512] = "";
    size_t n = 0;
    for (size_t i = 0; dirs && dirs[i] && n < sizeof looked; i++)
        n += (size_t)snprintf(looked + n, sizeof looked - n, "%s%s",
                              i ? ", " : "", dirs[i]);
    return bad(p, sub, "no plugin named \"%s\" (looked for %s%s%s in: %s)",
               plugin, EVT__PLUGIN_PREFIX, plugin, EVT__PLUGIN_SUFFIX, looked);
}

static int parse_sink(struct cp *p, const cJSON *sink, int idx,
                      char *const *dirs, const char *base_dir,
                      struct evt__sink_spec *s)
{
    snprintf(s->where, sizeof s->where, "sinks[%d]", idx);
    const char *where = s->where;
    if (!cJSON_IsObject(sink))
        return bad(p, where, "expected an object, got %s", type_name(sink));
    s->enabled = 1;
    s->max_events = 16384;
    s->retry_limit = 10;
    s->retry_base_ms = 100;
    s->retry_cap_ms = 30000;
    int rc = check_keys(p, sink, where, sink_keys);
    const char *dflt_name = NULL, *name = NULL;
    if (rc || (rc = resolve_plugin(p, sink, where, dirs, base_dir, s,
                                   &dflt_name)) ||
        (rc = get_str(p, sink, where, "name", &name)) ||
        (rc = get_bool(p, sink, where, "enabled", &s->enabled)) ||
        (rc = parse_events(p, sink, where, &s->events)) ||
        (rc = parse_queue(p, sink, where, s)) ||
        (rc = parse_retry(p, sink, where, s)))
        return rc;
    char sub[64];
    snprintf(sub, sizeof sub, "%s.name", where);
    if (name && !evt__plugin_name_ok(name))
        return bad(p, sub, "invalid sink name (letters, digits, '-', '_', "
                           "'.' only, at most 64)");
    if (!name && !evt__plugin_name_ok(dflt_name))
        return bad(p, sub, "missing: the file name cannot serve as the sink "
                           "name, give one");
    s->name = evt__strdup(name ? name : dflt_name);
    const cJSON *cfg;
    if ((rc = get_object(p, sink, where, "config", &cfg)))
        return rc;
    s->config = calloc(1, sizeof *s->config);
    if (!s->name || !s->config)
        return bad(p, where, "out of memory");
    s->config->obj = cfg ? cJSON_Duplicate(cfg, 1) : cJSON_CreateObject();
    return s->config->obj ? EVT_OK : bad(p, where, "out of memory");
}

static int check_unique_names(struct cp *p, struct evt__config_file *c)
{
    for (size_t i = 0; i < c->nsinks; i++)
        for (size_t j = 0; j < i; j++)
            if (strcmp(c->sinks[i].name, c->sinks[j].name) == 0) {
                char sub[64];
                snprintf(sub, sizeof sub, "%s.name", c->sinks[i].where);
                return bad(p, sub,
                           "duplicate sink name \"%s\" (also %s); give each "
                           "instance its own \"name\"",
                           c->sinks[i].name, c->sinks[j].where);
            }
    return EVT_OK;
}

static int parse_plugin_dirs(struct cp *p, const cJSON *root,
                             const char *base_dir, char ***out)
{
    const cJSON *pd = cJSON_GetObjectItemCaseSensitive(root, "plugin_dirs");
    size_t n = 0;
    char **extra = NULL;
    int rc = EVT_OK;
    if (pd && !cJSON_IsArray(pd))
        return bad(p, "plugin_dirs", "expected an array of strings, got %s",
                   type_name(pd));
    if (pd) {
        extra = calloc((size_t)cJSON_GetArraySize(pd) + 1, sizeof *extra);
        if (!extra)
            return bad(p, "plugin_dirs", "out of memory");
        for (const cJSON *c = pd->child; c; c = c->next, n++) {
            if (!cJSON_IsString(c)) {
                char sub[64];
                snprintf(sub, sizeof sub, "plugin_dirs[%zu]", n);
                rc = bad(p, sub, "expected a string, got %s", type_name(c));
                break;
            }
            extra[n] = resolve(base_dir, c->valuestring);
        }
    }
    if (!rc) {
        *out = evt__plugin_search_dirs(extra, n);
        if (!*out)
            rc = bad(p, "plugin_dirs", "out of memory");
    }
    for (size_t i = 0; extra && i < n; i++)
        free(extra[i]);
    free(extra);
    return rc;
}

static const char *const top_keys[] = {"output_dir", "state_dir",
                                       "plugin_dirs", "run_id", "sinks",
                                       "version", NULL};

static int parse_top(struct cp *p, cJSON *root, const char *base_dir,
                     struct evt__config_file *c)
{
    if (!cJSON_IsObject(root))
        return bad(p, "(top level)", "expected an object, got %s",
                   type_name(root));
    int rc = check_keys(p, root, "", top_keys);
    if (rc || (rc = expand_tree(p, root, "")))
        return rc;
    int64_t version = 1;
    const char *out_dir = "eval_results", *state_dir = NULL, *run_id = NULL;
    if ((rc = get_int(p, root, "", "version", 1, 1, &version)) ||
        (rc = get_str(p, root, "", "output_dir", &out_dir)) ||
        (rc = get_str(p, root, "", "state_dir", &state_dir)) ||
        (rc = get_str(p, root, "", "run_id", &run_id)) ||
        (rc = parse_plugin_dirs(p, root, base_dir, &c->plugin_dirs)))
        return rc;
    if (run_id && !evt__plugin_name_ok(run_id))
        return bad(p, "run_id", "invalid run id (letters, digits, '-', '_', "
                                "'.' only, at most 64)");
    c->output_dir = resolve(base_dir, out_dir);
    c->state_dir = state_dir ? resolve(base_dir, state_dir)
                             : evt__path_join(c->output_dir, ".evtrack");
    c->run_id = run_id ? evt__strdup(run_id) : NULL;
    if (!c->output_dir || !c->state_dir || (run_id && !c->run_id))
        return bad(p, "(top level)", "out of memory");
    const cJSON *sinks = cJSON_GetObjectItemCaseSensitive(root, "sinks");
    if (!sinks)
        return bad(p, "sinks", "missing (an array of sink objects)");
    if (!cJSON_IsArray(sinks))
        return bad(p, "sinks", "expected an array, got %s", type_name(sinks));
    size_t n = (size_t)cJSON_GetArraySize(sinks);
    c->sinks = calloc(n ? n : 1, sizeof *c->sinks);
    if (!c->sinks)
        return bad(p, "sinks", "out of memory");
    int i = 0;
    for (const cJSON *s = sinks->child; s; s = s->next, i++) {
        c->nsinks++;
        if ((rc = parse_sink(p, s, i, c->plugin_dirs, base_dir,
                             &c->sinks[i])))
            return rc;
    }
    return check_unique_names(p, c);
}

static int syntax_error(struct cp *p, const char *text, const char *at)
{
    int line = 1, col = 1;
    for (const char *q = text; at && q < at; q++) {
        if (*q == '\n') {
            line++;
            col = 1;
        } else
            col++;
    }
    return evt__err(p->err, p->errlen, EVT_ECONFIG,
                    "%s:%d:%d: invalid JSON near this position", p->src, line,
                    col);
}

int evt__config_parse(const char *text, size_t len, const char *source,
                      const char *base_dir, struct evt__config_file *out,
                      char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    struct cp p = {source ? source : "<config>", err, errlen};
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!root)
        return syntax_error(&p, text, end ? end : cJSON_GetErrorPtr());
    out->source = evt__strdup(p.src);
    out->base_dir = evt__strdup(base_dir ? base_dir : ".");
    int rc = (!out->source || !out->base_dir)
                 ? bad(&p, "(top level)", "out of memory")
                 : parse_top(&p, root, base_dir, out);
    cJSON_Delete(root);
    if (rc)
        evt__config_free(out);
    return rc;
}

void evt__sink_config_free(struct evt_config *c)
{
    if (!c)
        return;
    cJSON_Delete(c->obj);
    for (size_t i = 0; i < c->njson; i++)
        cJSON_free(c->json_cache[i]);
    free(c->json_cache);
    free(c);
}

void evt__config_free(struct evt__config_file *c)
{
    for (size_t i = 0; i < c->nsinks; i++) {
        free(c->sinks[i].name);
        free(c->sinks[i].path);
        evt__sink_config_free(c->sinks[i].config);
    }
    free(c->sinks);
    evt__strv_free(c->plugin_dirs);
    free(c->source);
    free(c->base_dir);
    free(c->output_dir);
    free(c->state_dir);
    free(c->run_id);
    memset(c, 0, sizeof *c);
}

/* ---- binding a sink's config to its declared keys -------------------------*/

static int type_ok(const cJSON *v, int type)
{
    switch (type) {
    case EVT_CFG_STR: return cJSON_IsString(v);
    case EVT_CFG_INT:
        return cJSON_IsNumber(v) && v->valuedouble == floor(v->valuedouble) &&
               fabs(v->valuedouble) < 9007199254740992.0;
    case EVT_CFG_DOUBLE: return cJSON_IsNumber(v);
    case EVT_CFG_BOOL: return cJSON_IsBool(v);
    case EVT_CFG_JSON: return 1;
    default: return 0;
    }
}

static const char *type_word(int type)
{
    switch (type) {
    case EVT_CFG_STR: return "a string";
    case EVT_CFG_INT: return "an integer";
    case EVT_CFG_DOUBLE: return "a number";
    case EVT_CFG_BOOL: return "true or false";
    default: return "any JSON value";
    }
}

static const struct evt_config_key *find_key(const struct evt_config_key *k,
                                             const char *name)
{
    for (; k && k->name; k++)
        if (strcmp(k->name, name) == 0)
            return k;
    return NULL;
}

static int unknown_sink_key(struct cp *p, const char *path, const char *plugin,
                            const struct evt_config_key *keys)
{
    char known[256] = "";
    size_t n = 0;
    for (const struct evt_config_key *k = keys; k && k->name; k++)
        if (n < sizeof known)
            n += (size_t)snprintf(known + n, sizeof known - n, "%s%s",
                                  k == keys ? "" : ", ", k->name);
    return bad(p, path, "unknown key for plugin \"%s\" (known: %s)", plugin,
               n ? known : "none");
}

int evt__config_bind(struct evt_config *c, const struct evt_config_key *keys,
                     const char *plugin, const char *source,
                     const char *where, char *err, size_t errlen)
{
    struct cp p = {source, err, errlen};
    char path[256];
    for (const cJSON *v = c->obj->child; v; v = v->next) {
        snprintf(path, sizeof path, "%s.config.%s", where, v->string);
        const struct evt_config_key *k = find_key(keys, v->string);
        if (!k)
            return unknown_sink_key(&p, path, plugin, keys);
        if (!type_ok(v, k->type))
            return bad(&p, path, "expected %s, got %s", type_word(k->type),
                       type_name(v));
    }
    for (const struct evt_config_key *k = keys; k && k->name; k++) {
        if (cJSON_GetObjectItemCaseSensitive(c->obj, k->name))
            continue;
        snprintf(path, sizeof path, "%s.config.%s", where, k->name);
        if (k->required)
            return bad(&p, path, "missing (required by plugin \"%s\")",
                       plugin);
        if (!k->dflt)
            continue;
        cJSON *d = cJSON_Parse(k->dflt);
        if (!d || !type_ok(d, k->type)) {
            cJSON_Delete(d);
            return bad(&p, path, "plugin \"%s\" declares an invalid default",
                       plugin);
        }
        cJSON_AddItemToObject(c->obj, k->name, d);
    }
    return EVT_OK;
}

/* ---- accessors --------------------------------------------------------------*/

static const cJSON *item(const struct evt_config *c, const char *key)
{
    return c && key ? cJSON_GetObjectItemCaseSensitive(c->obj, key) : NULL;
}

const char *evt__cfg_str(const struct evt_config *c, const char *key,
                         const char *dflt)
{
    const cJSON *v = item(c, key);
    return cJSON_IsString(v) ? v->valuestring : dflt;
}

int64_t evt__cfg_int(const struct evt_config *c, const char *key,
                     int64_t dflt)
{
    const cJSON *v = item(c, key);
    return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : dflt;
}

double evt__cfg_double(const struct evt_config *c, const char *key,
                       double dflt)
{
    const cJSON *v = item(c, key);
    return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

int evt__cfg_bool(const struct evt_config *c, const char *key, int dflt)
{
    const cJSON *v = item(c, key);
    return cJSON_IsBool(v) ? cJSON_IsTrue(v) : dflt;
}

const char *evt__cfg_json(const struct evt_config *c, const char *key)
{
    const cJSON *v = item(c, key);
    if (!v)
        return NULL;
    struct evt_config *m = (struct evt_config *)c;
    char **nc = realloc(m->json_cache, (m->njson + 1) * sizeof *nc);
    if (!nc)
        return NULL;
    m->json_cache = nc;
    char *s = cJSON_PrintUnformatted(v);
    if (s)
        m->json_cache[m->njson++] = s;
    return s;
}
