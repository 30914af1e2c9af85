/* ingest.c -- `evtrack ingest -c CONFIG PATH...`: replay results files of
 * lmms-eval, lm-evaluation-harness (v0.3 and 0.4.x) and lighteval, and the
 * samples JSONL files of the same runs, as events through the configured
 * sinks. See docs/INGEST.md.
 *
 * The files are never re-printed: a small scanner finds the raw text of
 * each JSON value, and that text goes to evt_json, so ints stay ints,
 * 1.0 stays a float and member order is kept. */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "evtrack/evtrack.h"

#include "ingest.h"

#define EXIT_RUNTIME 1
#define EXIT_USAGE 2
#define MAX_DEPTH 256        /* JSON nesting the scanner accepts */
#define MAX_DIR_DEPTH 8      /* folders searched below a PATH */
#define MAX_SINKS 64
#define FLUSH_TIMEOUT_MS 120000
#define PROGRESS_MIN_BYTES (1u << 20)

static const char usage_ingest[] =
    "usage: evtrack ingest -c CONFIG PATH...\n"
    "\n"
    "Replay existing evaluation results as events through the sinks of\n"
    "CONFIG. Each PATH is a results file or a folder searched for them:\n"
    "  lmms-eval   {date}_results.json + {date}_samples_{task}.jsonl\n"
    "  lm-eval     results_{date}.json + samples_{task}_{date}.jsonl\n"
    "              (0.4.x; v0.3 flat files too)\n"
    "  lighteval   results/{org}/{model}/results_{date}.json\n"
    "The tool and its era are detected from the file's keys. Each results\n"
    "file is one run: run_start, task_config per task, its samples, a\n"
    "result per metric and filter, run_end (see docs/INGEST.md).\n"
    "\n"
    "options:\n"
    "  -c, --config CONFIG     the evtrack config (sinks) to replay into\n"
    "  -h, --help              show this help\n"
    "\n"
    "exit codes: 0 ok, 1 a sink failed (dead letters, disabled),\n"
    "2 usage or config error, or an unreadable or unrecognised input\n";

/* ---- small helpers -------------------------------------------------------*/

/* printf into a fresh heap string (never NULL: aborts on no memory). */
static char *fmt(const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    int n = vsnprintf(NULL, 0, f, ap);
    va_end(ap);
    char *s = malloc(n < 0 ? 1 : (size_t)n + 1);
    if (!s)
        abort();
    va_start(ap, f);
    vsnprintf(s, (size_t)n + 1, f, ap);
    va_end(ap);
    return s;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* The whole file as a NUL-terminated heap string, or NULL (errno set). */
static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 65536, n = 0, r;
    char *buf = malloc(cap);
    while (buf && (r = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += r;
        if (n + 1 < cap)
            continue;
        char *p = realloc(buf, cap * 2);
        if (!p) {
            free(buf);
            buf = NULL;
            errno = ENOMEM;
            break;
        }
        buf = p;
        cap *= 2;
    }
    if (buf && ferror(f)) {
        free(buf);
        buf = NULL;
        errno = EIO;
    }
    fclose(f);
    if (buf) {
        buf[n] = '\0';
        *len = n;
    }
    return buf;
}

/* A growing list of heap strings. */
struct names {
    char **v;
    size_t n, cap;
};

static void names_add(struct names *l, char *s)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        char **v = realloc(l->v, cap * sizeof *v);
        if (!v)
            abort();
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = s;
}

static void names_free(struct names *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = l->cap = 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* ---- raw JSON scanner ----------------------------------------------------
 * It checks the structure (brackets, strings, commas, colons) and finds
 * value boundaries. Numbers and literals are checked loosely here and
 * strictly by evt_json; bare NaN / Infinity are accepted as Python writes
 * them. */

struct jv {
    char *p; /* the value's first byte; NULL: absent */
    size_t n;
};

struct scan {
    const char *end;
    const char *why; /* error, NULL when none */
    const char *at;  /* where */
};

static const char *ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

static const char *scan_fail(struct scan *s, const char *at, const char *why)
{
    s->why = why;
    s->at = at;
    return NULL;
}

static const char *scan_string(struct scan *s, const char *p)
{
    const char *q = p + 1;
    while (q < s->end) {
        unsigned char c = (unsigned char)*q;
        if (c == '"')
            return q + 1;
        if (c < 0x20)
            return scan_fail(s, q, "control character in string");
        q += c == '\\' ? 2 : 1;
    }
    return scan_fail(s, p, "unterminated string");
}

static const char *scan_word(struct scan *s, const char *p)
{
    static const char *const words[] = {"true", "false", "null", "NaN",
                                        "Infinity", "-Infinity", NULL};
    for (int i = 0; words[i]; i++) {
        size_t n = strlen(words[i]);
        if ((size_t)(s->end - p) >= n && memcmp(p, words[i], n) == 0)
            return p + n;
    }
    const char *q = p;
    int digits = 0;
    while (q < s->end && strchr("0123456789+-.eE", *q) && *q) {
        digits += *q >= '0' && *q <= '9';
        q++;
    }
    if (!digits)
        return scan_fail(s, p, "unexpected character");
    return q;
}

static const char *scan_value(struct scan *s, const char *p, int depth);

/* One member key and its ':' of an object; returns the value's start. */
static const char *scan_key(struct scan *s, const char *p)
{
    if (p >= s->end || *p != '"')
        return scan_fail(s, p, "expected a string key");
    p = scan_string(s, p);
    if (!p)
        return NULL;
    p = ws(p, s->end);
    if (p >= s->end || *p != ':')
        return scan_fail(s, p, "expected ':'");
    return ws(p + 1, s->end);
}

static const char *scan_container(struct scan *s, const char *p, int depth)
{
    int obj = *p == '{';
    char close = obj ? '}' : ']';
    if (depth > MAX_DEPTH)
        return scan_fail(s, p, "nesting too deep");
    p = ws(p + 1, s->end);
    if (p < s->end && *p == close)
        return p + 1;
    for (;;) {
        if (obj && !(p = scan_key(s, p)))
            return NULL;
        if (!(p = scan_value(s, p, depth + 1)))
            return NULL;
        p = ws(p, s->end);
        if (p < s->end && *p == ',') {
            p = ws(p + 1, s->end);
            continue;
        }
        if (p < s->end && *p == close)
            return p + 1;
        return scan_fail(s, p, obj ? "expected ',' or '}'"
                                   : "expected ',' or ']'");
    }
}

static const char *scan_value(struct scan *s, const char *p, int depth)
{
    if (p >= s->end)
        return scan_fail(s, p, "unexpected end of input");
    if (*p == '{' || *p == '[')
        return scan_container(s, p, depth);
    if (*p == '"')
        return scan_string(s, p);
    return scan_word(s, p);
}

/* The one value of [p, end) (whitespace around it allowed); 0, or -1
 * with s->why / s->at set. */
static int scan_whole(struct scan *s, char *p, const char *end, struct jv *out)
{
    s->end = end;
    s->why = NULL;
    char *v = (char *)ws(p, end);
    const char *q = scan_value(s, v, 1);
    if (!q)
        return -1;
    if (ws(q, end) != end) {
        scan_fail(s, q, "trailing characters after the JSON value");
        return -1;
    }
    out->p = v;
    out->n = (size_t)(q - v);
    return 0;
}

/* Iterate the members (or elements) of a scanned container. */
struct jit {
    struct scan s;
    const char *p;
    int obj;
};

static int jit_begin(struct jit *it, struct jv v)
{
    if (!v.p || (*v.p != '{' && *v.p != '['))
        return -1;
    it->s.end = v.p + v.n - 1; /* the closing bracket */
    it->s.why = NULL;
    it->p = ws(v.p + 1, it->s.end);
    it->obj = *v.p == '{';
    return 0;
}

/* The next member: key (the raw quoted text; NULL for arrays) and value. */
static int jit_next(struct jit *it, struct jv *key, struct jv *val)
{
    const char *p = ws(it->p, it->s.end);
    if (p < it->s.end && *p == ',')
        p = ws(p + 1, it->s.end);
    if (p >= it->s.end)
        return 0;
    if (it->obj) {
        const char *k = p;
        if (!(p = scan_key(&it->s, p)))
            return 0;
        if (key) {
            key->p = (char *)k;
            key->n = (size_t)(scan_string(&it->s, k) - k);
        }
    }
    const char *q = scan_value(&it->s, p, 1);
    if (!q)
        return 0;
    val->p = (char *)p;
    val->n = (size_t)(q - p);
    it->p = q;
    return 1;
}

static int jv_is(struct jv v, char c)
{
    return v.p && *v.p == c;
}

static int jv_is_number(struct jv v)
{
    return v.p && (*v.p == '-' || (*v.p >= '0' && *v.p <= '9') ||
                   *v.p == 'N' || *v.p == 'I');
}

/* A JSON string (raw, with quotes) as a heap C string. */
static char *jv_str(struct jv v)
{
    if (!jv_is(v, '"'))
        return NULL;
    if (!memchr(v.p, '\\', v.n)) {
        char *s = malloc(v.n - 1);
        if (!s)
            abort();
        memcpy(s, v.p + 1, v.n - 2);
        s[v.n - 2] = '\0';
        return s;
    }
    cJSON *j = cJSON_ParseWithLength(v.p, v.n);
    char *s = cJSON_IsString(j) ? strdup(j->valuestring) : NULL;
    cJSON_Delete(j);
    return s;
}

/* Whether the raw key equals name. */
static int key_eq(struct jv key, const char *name)
{
    size_t n = strlen(name);
    if (!memchr(key.p, '\\', key.n))
        return key.n == n + 2 && memcmp(key.p + 1, name, n) == 0;
    char *k = jv_str(key);
    int eq = k && strcmp(k, name) == 0;
    free(k);
    return eq;
}

static int jv_str_eq(struct jv v, const char *s)
{
    return jv_is(v, '"') && key_eq(v, s);
}

/* Member name of object obj; {NULL, 0} when absent or obj no object. */
static struct jv get(struct jv obj, const char *name)
{
    struct jv none = {NULL, 0}, k, v;
    struct jit it;
    if (!jv_is(obj, '{') || jit_begin(&it, obj) != 0)
        return none;
    while (jit_next(&it, &k, &v))
        if (key_eq(k, name))
            return v;
    return none;
}

/* evt_json with the raw text (NUL-terminated in place for the call). */
static void put_json(evt_ev *e, const char *key, struct jv v)
{
    char save = v.p[v.n];
    v.p[v.n] = '\0';
    evt_json(e, key, v.p);
    v.p[v.n] = save;
}

static size_t line_of(const char *buf, const char *at)
{
    size_t line = 1;
    for (const char *p = buf; p < at; p++)
        line += *p == '\n';
    return line;
}

/* ---- runs ----------------------------------------------------------------*/

enum tool { TOOL_NONE, TOOL_LMMS, TOOL_LMEVAL, TOOL_LMEVAL03, TOOL_LIGHTEVAL };

static const char *const tool_names[] = {"?", "lmms-eval", "lm-eval 0.4",
                                         "lm-eval v0.3", "lighteval"};

struct samples_file {
    char *path;
    char *task;
    int sent;
};

struct run {
    evt_tracker *t;
    const char *path;
    char *date; /* from the file name, or NULL */
    int lmms_name; /* the name is "{date}_results.json" */
    struct jv root;
    struct jv sec[8]; /* top-level sections, see section() */
    unsigned sec_loaded;
    enum tool tool;
    struct samples_file *sf;
    size_t nsf;
    uint64_t bytes_total, bytes_done;
    int pct; /* last percentage shown; -1: no progress bar */
    size_t ntasks, nresults, nsamples;
    int input_err, sink_err;
};

static void report(struct run *r, const char *file, size_t line,
                   const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    if (r && r->pct >= 0)
        fputc('\n', stderr);
    if (line)
        fprintf(stderr, "evtrack ingest: %s:%zu: ", file, line);
    else
        fprintf(stderr, "evtrack ingest: %s: ", file);
    vfprintf(stderr, f, ap);
    fputc('\n', stderr);
    va_end(ap);
    if (r)
        r->input_err = 1;
}

/* evt_commit, with the error reported at file:line. */
static int commit(struct run *r, evt_ev *e, const char *file, size_t line)
{
    int rc = evt_commit(e);
    if (rc == EVT_OK)
        return 0;
    if (rc == EVT_EDROPPED || rc == EVT_ECLOSED) {
        r->sink_err = 1;
        return -1;
    }
    char msg[EVT_ERRMSG_SIZE];
    if (evt_last_error(r->t, msg, sizeof msg) == 0)
        snprintf(msg, sizeof msg, "%s", evt_status_name(rc));
    report(r, file, line, "%s", msg);
    return -1;
}

static void progress(struct run *r, uint64_t bytes)
{
    r->bytes_done += bytes;
    if (r->pct < 0 || !r->bytes_total)
        return;
    int pct = (int)(r->bytes_done * 100 / r->bytes_total);
    if (pct == r->pct || pct > 100)
        return;
    r->pct = pct;
    char bar[41];
    memset(bar, '#', (size_t)pct * 40 / 100);
    memset(bar + pct * 40 / 100, '.', 40 - (size_t)pct * 40 / 100);
    bar[40] = '\0';
    fprintf(stderr, "\r[%s] %3d%% %s", bar, pct, base_name(r->path));
    fflush(stderr);
}

/* ---- tool detection and file names ---------------------------------------*/

static int has(struct jv obj, const char *name)
{
    return get(obj, name).p != NULL;
}

/* Some results entry has a "metric,filter" key. */
static int has_filter_keys(struct jv results)
{
    struct jit it, in;
    struct jv k, v, k2, v2;
    if (jit_begin(&it, results) != 0)
        return 0;
    while (jit_next(&it, &k, &v))
        if (jit_begin(&in, v) == 0 && in.obj)
            while (jit_next(&in, &k2, &v2))
                if (memchr(k2.p, ',', k2.n))
                    return 1;
    return 0;
}

static char *name_date(const char *path, int *lmms);

static enum tool detect(struct jv root, const char *path)
{
    struct jv results = get(root, "results");
    if (!jv_is(results, '{'))
        return TOOL_NONE;
    if (has(root, "config_general"))
        return TOOL_LIGHTEVAL;
    if (has(root, "lmms_eval_version") || has(root, "git_branch"))
        return TOOL_LMMS;
    if (has(root, "lm_eval_version") || has(root, "pretty_env_info") ||
        has(root, "upper_git_hash"))
        return TOOL_LMEVAL;
    int lmms_name;
    free(name_date(path, &lmms_name));
    if (has_filter_keys(results) || has(root, "configs"))
        return lmms_name ? TOOL_LMMS : TOOL_LMEVAL;
    if (has(root, "versions") || has(root, "config"))
        return TOOL_LMEVAL03;
    return TOOL_NONE;
}

/* A harness date: at least 8 characters, the first 4 digits. */
static int date_like(const char *s, size_t n)
{
    if (n < 8)
        return 0;
    for (int i = 0; i < 4; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

/* The date of "{date}_results.json" or "results_{date}.json"; *lmms set
 * for the first form. NULL when the name has none. */
static char *name_date(const char *path, int *lmms)
{
    const char *b = base_name(path);
    size_t n = strlen(b);
    *lmms = 0;
    if (ends_with(b, "_results.json") && date_like(b, n - 13)) {
        *lmms = 1;
        return fmt("%.*s", (int)(n - 13), b);
    }
    if (starts_with(b, "results_") && ends_with(b, ".json") && n > 13 &&
        date_like(b + 8, n - 13))
        return fmt("%.*s", (int)(n - 13), b + 8);
    return NULL;
}

static int cmp_sf(const void *a, const void *b)
{
    return strcmp(((const struct samples_file *)a)->path,
                  ((const struct samples_file *)b)->path);
}

static void add_samples_file(struct run *r, const char *dir, const char *name,
                             size_t pre, size_t suf)
{
    size_t n = strlen(name);
    if (n <= pre + suf)
        return;
    struct samples_file *v = realloc(r->sf, (r->nsf + 1) * sizeof *v);
    if (!v)
        abort();
    r->sf = v;
    v[r->nsf].path = fmt("%s/%s", dir, name);
    v[r->nsf].task = fmt("%.*s", (int)(n - pre - suf), name + pre);
    v[r->nsf].sent = 0;
    struct stat st;
    if (stat(v[r->nsf].path, &st) == 0)
        r->bytes_total += (uint64_t)st.st_size;
    r->nsf++;
}

/* The samples files of the same run next to the results file. */
static void find_samples(struct run *r)
{
    int lmms = r->lmms_name;
    if (!r->date)
        return;
    char *pre = lmms ? fmt("%s_samples_", r->date) : fmt("samples_");
    char *suf = lmms ? fmt(".jsonl") : fmt("_%s.jsonl", r->date);
    const char *slash = strrchr(r->path, '/');
    char *dir = slash ? fmt("%.*s", (int)(slash - r->path), r->path)
                      : fmt(".");
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d)))
        if (starts_with(de->d_name, pre) && ends_with(de->d_name, suf))
            add_samples_file(r, dir, de->d_name, strlen(pre), strlen(suf));
    if (d)
        closedir(d);
    if (r->nsf)
        qsort(r->sf, r->nsf, sizeof *r->sf, cmp_sf);
    free(pre);
    free(suf);
    free(dir);
}

/* ---- samples -------------------------------------------------------------*/

/* Keys of an lmms-eval samples line that are not metrics (formats.md 3.1). */
static int lmms_known_key(struct jv k)
{
    static const char *const names[] = {
        "doc_id", "doc", "target", "arguments", "resps", "filtered_resps",
        "filter", "token_counts", "doc_hash", "prompt_hash", "target_hash",
        "input_media", "input", "metrics", "task", NULL};
    for (int i = 0; names[i]; i++)
        if (key_eq(k, names[i]))
            return 1;
    return 0;
}

/* Copy the record's members; is_metric selects lmms-eval metric keys
 * (1), the others (0), or all (-1). Returns how many matched. */
static size_t put_members(evt_ev *e, struct jv rec, int is_metric)
{
    struct jit it;
    struct jv k, v;
    size_t n = 0;
    jit_begin(&it, rec);
    while (jit_next(&it, &k, &v)) {
        if (key_eq(k, "task"))
            continue;
        if (is_metric >= 0 && (!lmms_known_key(k)) != is_metric)
            continue;
        n++;
        char *key = e ? jv_str(k) : NULL;
        if (e)
            put_json(e, key ? key : "?", v);
        free(key);
    }
    return n;
}

static void send_sample(struct run *r, const char *task, struct jv rec,
                        const char *file, size_t line)
{
    if (!jv_is(rec, '{')) {
        report(r, file, line, "not a JSON object");
        return;
    }
    evt_ev *e = evt_begin(r->t, EVT_EV_SAMPLE);
    evt_str(e, "task", task);
    int lmms = r->tool == TOOL_LMMS;
    put_members(e, rec, lmms ? 0 : -1);
    if (lmms && put_members(NULL, rec, 1) > 0) {
        evt_map_begin(e, "metrics");
        put_members(e, rec, 1);
        evt_map_end(e);
    }
    if (commit(r, e, file, line) == 0)
        r->nsamples++;
}

/* A .jsonl that is one JSON array (lm-eval 0.4.1/0.4.2 era). */
static void send_array(struct run *r, const struct samples_file *sf,
                       char *buf, size_t len)
{
    struct scan s;
    struct jv arr, v;
    if (scan_whole(&s, buf, buf + len, &arr) != 0) {
        report(r, sf->path, line_of(buf, s.at), "invalid JSON: %s", s.why);
        return;
    }
    struct jit it;
    jit_begin(&it, arr);
    const char *last = arr.p;
    size_t line = line_of(buf, last);
    while (jit_next(&it, NULL, &v)) {
        line += line_of(last, v.p) - 1;
        send_sample(r, sf->task, v, sf->path, line);
        progress(r, (uint64_t)(v.p + v.n - last));
        last = v.p + v.n;
    }
}

static void send_lines(struct run *r, const struct samples_file *sf,
                       char *buf, size_t len)
{
    size_t line = 0;
    for (char *p = buf; p < buf + len;) {
        char *nl = memchr(p, '\n', (size_t)(buf + len - p));
        char *end = nl ? nl : buf + len;
        line++;
        struct scan s;
        struct jv rec;
        if (ws(p, end) == end) {
            /* blank line */
        } else if (scan_whole(&s, p, end, &rec) != 0) {
            report(r, sf->path, line, "invalid JSON: %s (column %zu)", s.why,
                   (size_t)(s.at - p) + 1);
        } else {
            send_sample(r, sf->task, rec, sf->path, line);
        }
        progress(r, (uint64_t)(end - p) + (nl != NULL));
        p = nl ? nl + 1 : end;
    }
}

static void send_samples_file(struct run *r, struct samples_file *sf)
{
    size_t len = 0;
    sf->sent = 1;
    char *buf = read_all(sf->path, &len);
    if (!buf) {
        report(r, sf->path, 0, "cannot read: %s", strerror(errno));
        return;
    }
    if (*ws(buf, buf + len) == '[')
        send_array(r, sf, buf, len);
    else
        send_lines(r, sf, buf, len);
    free(buf);
}

static void send_task_samples(struct run *r, const char *task)
{
    for (size_t i = 0; i < r->nsf; i++)
        if (!r->sf[i].sent && strcmp(r->sf[i].task, task) == 0)
            send_samples_file(r, &r->sf[i]);
}

/* ---- run_start / run_end ---------------------------------------------------*/

/* Top-level members evtrack computes (never sent in events). */
static int computed_member(struct jv k)
{
    static const char *const names[] = {
        "results", "groups", "group_subtasks", "configs", "versions",
        "n-shot", "higher_is_better", "n-samples", "task_hashes",
        "model_name_sanitized", "system_instruction_sha", "chat_template_sha",
        "kind", "run_id", "seq", "time_ns", "step", NULL};
    for (int i = 0; names[i]; i++)
        if (key_eq(k, names[i]))
            return 1;
    return 0;
}

/* Members a harness only knows at the end: sent with run_end. */
static int end_member(struct jv k)
{
    static const char *const names[] = {"end_time",
                                        "total_evaluation_time_seconds",
                                        "throughput", "usage", "efficiency",
                                        NULL};
    for (int i = 0; names[i]; i++)
        if (key_eq(k, names[i]))
            return 1;
    return 0;
}

/* lmms-eval / lm-eval: model_args, then every member that is neither
 * computed nor an end member, with "date" from the file name. */
static void send_run_start_harness(struct run *r, evt_ev *e)
{
    struct jv args = get(get(r->root, "config"), "model_args");
    if (args.p)
        put_json(e, "model_args", args);
    int dated = 0;
    struct jit it;
    struct jv k, v;
    jit_begin(&it, r->root);
    while (jit_next(&it, &k, &v)) {
        if (computed_member(k) || end_member(k) || key_eq(k, "model_args"))
            continue;
        char *key = jv_str(k);
        if (!key) {
            report(r, r->path, 0, "bad member name");
        } else if (strcmp(key, "date") == 0 && r->date) {
            evt_str(e, "date", r->date);
            dated = 1;
        } else {
            put_json(e, key, v);
        }
        free(key);
    }
    if (r->date && !dated)
        evt_str(e, "date", r->date);
}

static void send_run_start_lighteval(struct run *r, evt_ev *e)
{
    struct jv cg = get(r->root, "config_general");
    struct jv name = get(cg, "model_name"), sha = get(cg, "lighteval_sha");
    struct jv args = get(get(cg, "model_config"), "model_args");
    evt_str(e, "model_source", "lighteval");
    if (name.p)
        put_json(e, "model_name", name);
    if (args.p)
        put_json(e, "model_args", args);
    put_json(e, "config", cg);
    if (sha.p)
        put_json(e, "git_hash", sha);
    if (r->date)
        evt_str(e, "date", r->date);
}

static void send_run_start(struct run *r)
{
    evt_ev *e = evt_begin(r->t, EVT_EV_RUN_START);
    if (r->tool == TOOL_LIGHTEVAL)
        send_run_start_lighteval(r, e);
    else
        send_run_start_harness(r, e);
    commit(r, e, r->path, 0);
}

static void send_run_end(struct run *r)
{
    evt_ev *e = evt_begin(r->t, EVT_EV_RUN_END);
    struct jit it;
    struct jv k, v;
    jit_begin(&it, r->root);
    while (r->tool != TOOL_LIGHTEVAL && jit_next(&it, &k, &v)) {
        if (!end_member(k))
            continue;
        char *key = jv_str(k);
        put_json(e, key, v);
        free(key);
    }
    struct jv secs = get(get(r->root, "config_general"),
                         "total_evaluation_time_secondes");
    if (r->tool == TOOL_LIGHTEVAL && secs.p)
        put_json(e, "total_evaluation_time_seconds", secs);
    commit(r, e, r->path, 0);
}

/* ---- task_config and results -----------------------------------------------*/

enum { SEC_GROUP_SUBTASKS = 5, SEC_CONFIG, SEC_CONFIG_TASKS };

/* Top-level member i of sec_names, looked up once. */
static struct jv section(struct run *r, int i)
{
    static const char *const sec_names[] = {
        "versions", "n-shot", "higher_is_better", "configs", "n-samples",
        "group_subtasks", "config", "config_tasks"};
    if (!(r->sec_loaded & (1u << i))) {
        r->sec[i] = get(r->root, sec_names[i]);
        r->sec_loaded |= 1u << i;
    }
    return r->sec[i];
}

/* lighteval "name|k": k as n-shot; the config under the key or the name. */
static void lighteval_task_fields(struct run *r, evt_ev *e, const char *task)
{
    struct jv tasks = section(r, SEC_CONFIG_TASKS);
    struct jv cfg = get(tasks, task);
    const char *bar = strrchr(task, '|');
    if (bar && bar[1] >= '0' && bar[1] <= '9') {
        char *end = NULL;
        long k = strtol(bar + 1, &end, 10);
        if (end && *end == '\0')
            evt_int(e, "n-shot", k);
        if (!cfg.p) {
            char *name = fmt("%.*s", (int)(bar - task), task);
            cfg = get(tasks, name);
            free(name);
        }
    }
    if (cfg.p)
        put_json(e, "config", cfg);
}

static void send_task_config(struct run *r, const char *task, struct jv entry)
{
    static const char *const from[][2] = {
        {"versions", "version"}, {"n-shot", "n-shot"},
        {"higher_is_better", "higher_is_better"}, {"configs", "config"},
        {"n-samples", "n-samples"}};
    evt_ev *e = evt_begin(r->t, EVT_EV_TASK_CONFIG);
    evt_str(e, "task", task);
    for (size_t i = 0; i < sizeof from / sizeof from[0]; i++) {
        struct jv v = get(section(r, (int)i), task);
        if (v.p)
            put_json(e, from[i][1], v);
    }
    struct jv shots = {NULL, 0};
    if (r->tool == TOOL_LMEVAL03)
        shots = get(section(r, SEC_CONFIG), "num_fewshot");
    if (jv_is_number(shots))
        put_json(e, "n-shot", shots);
    if (r->tool == TOOL_LIGHTEVAL)
        lighteval_task_fields(r, e, task);
    struct jv alias = get(entry, "alias");
    if (alias.p)
        put_json(e, "alias", alias);
    struct jv subs = get(section(r, SEC_GROUP_SUBTASKS), task);
    if (jv_is(subs, '[') && *ws(subs.p + 1, subs.p + subs.n) != ']')
        put_json(e, "subtasks", subs);
    commit(r, e, r->path, 0);
}

static const char *const suffixes[] = {
    "stderr",            "stderr_clt",         "stderr_clustered",
    "expected_accuracy", "consensus_accuracy", "internal_variance",
    "consistency_rate",  NULL};

/* The suffix metric ends with ("_stderr"...), or NULL. */
static const char *companion_suffix(const char *metric)
{
    size_t n = strlen(metric);
    const char *best = NULL;
    for (int i = 0; suffixes[i]; i++) {
        size_t m = strlen(suffixes[i]);
        if (n > m + 1 && metric[n - m - 1] == '_' &&
            strcmp(metric + n - m, suffixes[i]) == 0)
            best = suffixes[i];
    }
    return best;
}

/* One result: metric, filter, value and the companions found in entry
 * under "<metric>_<suffix>,<filter>" (flat: "<metric>_<suffix>"). */
static void send_result(struct run *r, const char *task, struct jv entry,
                        const char *metric, const char *filter, int flat,
                        struct jv value)
{
    char *tail = flat ? fmt("") : fmt(",%s", filter);
    evt_ev *e = evt_begin(r->t, EVT_EV_RESULT);
    evt_str(e, "task", task);
    evt_str(e, "metric", metric);
    evt_str(e, "filter", filter);
    put_json(e, "value", value);
    for (int s = 0; suffixes[s]; s++) {
        char *ck = fmt("%s_%s%s", metric, suffixes[s], tail);
        struct jv v = get(entry, ck);
        if (v.p && !jv_str_eq(v, "N/A"))
            put_json(e, suffixes[s], v);
        free(ck);
    }
    free(tail);
    if (commit(r, e, r->path, 0) == 0)
        r->nresults++;
}

/* A flat key (v0.3, lighteval) is a companion when its metric exists. */
static int flat_companion(struct jv entry, const char *key)
{
    const char *suf = companion_suffix(key);
    if (!suf)
        return 0;
    char *base = fmt("%.*s", (int)(strlen(key) - strlen(suf) - 1), key);
    int found = get(entry, base).p != NULL;
    free(base);
    return found;
}

/* One result event per "<metric>,<filter>" key (or flat numeric key). */
static void send_results(struct run *r, const char *task, struct jv entry)
{
    struct jit it;
    struct jv k, v;
    if (jit_begin(&it, entry) != 0 || !it.obj)
        return;
    int flat = r->tool == TOOL_LMEVAL03 || r->tool == TOOL_LIGHTEVAL;
    while (jit_next(&it, &k, &v)) {
        char *key = jv_str(k);
        char *comma = key ? strchr(key, ',') : NULL;
        if (comma) {
            *comma = '\0';
            if (!companion_suffix(key))
                send_result(r, task, entry, key, comma + 1, 0, v);
        } else if (key && flat && (jv_is_number(v) || jv_is(v, 'n')) &&
                   !flat_companion(entry, key)) {
            send_result(r, task, entry, key, "none", 1, v);
        }
        free(key);
    }
}

static void send_task(struct run *r, struct jv key, struct jv entry)
{
    char *task = jv_str(key);
    if (!task || !jv_is(entry, '{')) {
        free(task);
        return;
    }
    r->ntasks++;
    send_task_config(r, task, entry);
    send_task_samples(r, task);
    send_results(r, task, entry);
    free(task);
}

/* Groups listed in "groups" but absent from "results" (older files). */
static void send_extra_groups(struct run *r, struct jv results)
{
    struct jit it;
    struct jv k, v;
    if (jit_begin(&it, get(r->root, "groups")) != 0 || !it.obj)
        return;
    while (jit_next(&it, &k, &v)) {
        char *name = jv_str(k);
        if (name && !get(results, name).p)
            send_task(r, k, v);
        free(name);
    }
}

static void replay(struct run *r)
{
    struct jv results = get(r->root, "results");
    struct jit it;
    struct jv k, v;
    send_run_start(r);
    jit_begin(&it, results);
    while (jit_next(&it, &k, &v))
        send_task(r, k, v);
    send_extra_groups(r, results);
    for (size_t i = 0; i < r->nsf; i++)
        if (!r->sf[i].sent)
            send_samples_file(r, &r->sf[i]);
    send_run_end(r);
}

/* Flush, check every sink, close. 1 when a sink failed. */
static int finish(struct run *r)
{
    static struct evt_sink_stats st[MAX_SINKS];
    int failed = evt_flush(r->t, FLUSH_TIMEOUT_MS) != EVT_OK;
    size_t n = evt_stats(r->t, st, MAX_SINKS);
    n = n < MAX_SINKS ? n : MAX_SINKS;
    failed |= evt_close(r->t, FLUSH_TIMEOUT_MS) != EVT_OK;
    r->t = NULL;
    for (size_t i = 0; i < n; i++) {
        int bad = !st[i].enabled || st[i].dead_lettered > 0;
        failed |= bad;
        printf("  sink %s (%s): written %" PRIu64 ", dead-lettered %" PRIu64
               "%s\n", st[i].name, st[i].plugin, st[i].written,
               st[i].dead_lettered,
               !st[i].enabled ? ", DISABLED" : bad ? ", FAILED" : "");
    }
    return failed;
}

static void run_free(struct run *r)
{
    for (size_t i = 0; i < r->nsf; i++) {
        free(r->sf[i].path);
        free(r->sf[i].task);
    }
    free(r->sf);
    free(r->date);
}

/* Parse and recognise the results file; 0, or -1 (reported). */
static int load_results(struct run *r, char *buf, size_t len)
{
    struct scan s;
    if (scan_whole(&s, buf, buf + len, &r->root) != 0) {
        report(r, r->path, line_of(buf, s.at), "invalid JSON: %s", s.why);
        return -1;
    }
    r->tool = detect(r->root, r->path);
    if (r->tool == TOOL_NONE) {
        report(r, r->path, 0, "not a recognised results file (lmms-eval, "
                              "lm-eval or lighteval)");
        return -1;
    }
    r->date = name_date(r->path, &r->lmms_name);
    find_samples(r);
    r->pct = isatty(STDERR_FILENO) && r->bytes_total >= PROGRESS_MIN_BYTES
                 ? 0 : -1;
    return 0;
}

/* One results file as one run. Sets *input_err / *sink_err; -1 when the
 * config cannot be opened (stop). */
static int ingest_file(const char *config, const char *path, int *input_err,
                       int *sink_err)
{
    struct run r = {.path = path, .pct = -1};
    size_t len = 0;
    char *buf = read_all(path, &len);
    if (!buf) {
        report(&r, path, 0, "cannot read: %s", strerror(errno));
        *input_err = 1;
        return 0;
    }
    int rc = 0;
    if (load_results(&r, buf, len) == 0) {
        char err[EVT_ERRMSG_SIZE];
        if (evt_open_file(config, &r.t, err, sizeof err) != EVT_OK) {
            fprintf(stderr, "evtrack ingest: %s\n", err);
            rc = -1;
        } else {
            replay(&r);
            if (r.pct >= 0)
                fputc('\n', stderr);
            printf("%s: %s, %zu tasks, %zu results, %zu samples from %zu "
                   "file(s)\n", path, tool_names[r.tool], r.ntasks,
                   r.nresults, r.nsamples, r.nsf);
            r.sink_err |= finish(&r);
        }
    }
    *input_err |= r.input_err;
    *sink_err |= r.sink_err;
    run_free(&r);
    free(buf);
    return rc;
}

int evt_cli_ingest_text(evt_tracker *t, const char *path, char *buf,
                        size_t len)
{
    struct run r = {.t = t, .path = path, .pct = -1};
    if (load_results(&r, buf, len) == 0)
        replay(&r);
    run_free(&r);
    return r.input_err || r.sink_err ? -1 : 0;
}

/* ---- inputs ----------------------------------------------------------------*/

static int is_results_name(const char *name)
{
    return ends_with(name, ".json") &&
           (starts_with(name, "results") || ends_with(name, "_results.json"));
}

/* The results files under dir (recursively), added to out. */
static void collect_dir(const char *dir, int depth, struct names *out)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char *p = fmt("%s/%s", dir, de->d_name);
        struct stat st;
        if (stat(p, &st) == 0 && S_ISDIR(st.st_mode) && depth < MAX_DIR_DEPTH)
            collect_dir(p, depth + 1, out);
        else if (stat(p, &st) == 0 && S_ISREG(st.st_mode) &&
                 is_results_name(de->d_name)) {
            names_add(out, p);
            p = NULL;
        }
        free(p);
    }
    if (d)
        closedir(d);
}

/* The results files of one PATH; 0, or -1 (reported). */
static int collect(const char *path, struct names *out)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        report(NULL, path, 0, "cannot open: %s", strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        names_add(out, fmt("%s", path));
        return 0;
    }
    size_t before = out->n;
    collect_dir(path, 0, out);
    if (out->n == before) {
        report(NULL, path, 0, "no results files found (*_results.json, "
                              "results*.json)");
        return -1;
    }
    qsort(out->v + before, out->n - before, sizeof *out->v, cmp_str);
    return 0;
}

/* -c CONFIG and the paths; 0, or -1 on bad usage. */
static int parse_args(int argc, char **argv, const char **config,
                      struct names *paths)
{
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) {
            if (i + 1 >= argc)
                return -1;
            *config = argv[++i];
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            return -1;
        } else {
            names_add(paths, fmt("%s", argv[i]));
        }
    }
    return *config && paths->n ? 0 : -1;
}

static int wants_help(int argc, char **argv)
{
    for (int i = 0; i < argc; i++)
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
            return 1;
    return 0;
}

int evt_cli_ingest(int argc, char **argv)
{
    if (wants_help(argc, argv)) {
        fputs(usage_ingest, stdout);
        return 0;
    }
    const char *config = NULL;
    struct names paths = {0}, files = {0};
    if (parse_args(argc, argv, &config, &paths) != 0) {
        fputs(usage_ingest, stderr);
        names_free(&paths);
        return EXIT_USAGE;
    }
    int input_err = 0, sink_err = 0;
    for (size_t i = 0; i < paths.n; i++)
        input_err |= collect(paths.v[i], &files) != 0;
    for (size_t i = 0; i < files.n; i++) {
        if (ingest_file(config, files.v[i], &input_err, &sink_err) != 0) {
            input_err = 1;
            break;
        }
        fflush(stdout);
    }
    names_free(&paths);
    names_free(&files);
    return input_err ? EXIT_USAGE : sink_err ? EXIT_RUNTIME : 0;
}
