/* hub_push.c -- one push of a staged run (hub.h, docs/sinks/hf-hub.md
 * section 3): the results JSON rendered from the run's log, the sample
 * files, the dataset card; per repo: create (409: exists), list, preupload
 * (unchanged files drop out), LFS, ONE commit. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "evtrack/sdk/files.h"
#include "hub.h"

static int status_of(int outcome)
{
    return outcome == EVT_HTTP_DONE        ? EVT_OK
           : outcome == EVT_HTTP_TRANSIENT ? EVT_RETRY
                                           : EVT_ERROR;
}

static char *cat3(const char *a, const char *b, const char *c)
{
    size_t n = strlen(a) + strlen(b) + strlen(c) + 1;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%s%s%s", a, b, c);
    return s;
}

int hub_pusher_init(struct hub_pusher *p, const struct hub_cfg *cfg)
{
    memset(p, 0, sizeof *p);
    p->cfg = cfg;
    p->conn.endpoint = cfg->endpoint;
    p->conn.token = cfg->token;
    p->conn.ca_bundle = cfg->ca_bundle;
    p->conn.timeout_ms = cfg->timeout_ms;
    p->conn.connect_timeout_ms = cfg->connect_timeout_ms;
    p->conn.retry = cfg->retry;
    if (cfg->token &&
        !(p->conn.auth = cat3("Authorization: Bearer ", cfg->token, "")))
        return -1;
    return 0;
}

void hub_pusher_free(struct hub_pusher *p)
{
    if (p->conn.auth)
        memset(p->conn.auth, 0, strlen(p->conn.auth));
    free(p->conn.auth);
    free(p->org);
    free(p->repo_created[0]);
    free(p->repo_created[1]);
    memset(p, 0, sizeof *p);
}

/* ---- the files ------------------------------------------------------ */

struct fileset {
    struct hub_file *f;
    size_t n, cap;
};

static struct hub_file *fs_add(struct fileset *s, char *repo_path)
{
    if (!repo_path)
        return NULL;
    if (s->n == s->cap) {
        size_t c = s->cap ? 2 * s->cap : 8;
        struct hub_file *p = realloc(s->f, c * sizeof *p);
        if (!p) {
            free(repo_path);
            return NULL;
        }
        s->f = p;
        s->cap = c;
    }
    struct hub_file *f = &s->f[s->n++];
    memset(f, 0, sizeof *f);
    evt_buf_init(&f->mem);
    f->repo_path = repo_path;
    return f;
}

static void fs_free(struct fileset *s)
{
    for (size_t i = 0; i < s->n; i++) {
        if (s->f[i].map)
            munmap(s->f[i].map, s->f[i].len);
        evt_buf_free(&s->f[i].mem);
        free(s->f[i].repo_path);
    }
    free(s->f);
    memset(s, 0, sizeof *s);
}

/* Map the first len bytes of path as f's data. */
static int map_file(struct hub_file *f, const char *path, size_t len,
                    char *err, size_t errlen)
{
    if (len == 0)
        return 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    void *m = fd >= 0 ? mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0)
                      : MAP_FAILED;
    if (fd >= 0)
        close(fd);
    if (m == MAP_FAILED) {
        snprintf(err, errlen, "%s: cannot map the staged file", path);
        return -1;
    }
    f->map = m;
    f->data = m;
    f->len = len;
    return 0;
}

/* "<subdir>/<name>" or name alone. */
static char *in_subdir(const char *subdir, const char *name)
{
    return *subdir ? cat3(subdir, "/", name) : strdup(name);
}

static int feed_results(void *ud, const msgpack_object *ev)
{
    return evt_results_add(ud, ev, NULL, 0) == -2 ? -1 : 0;
}

/* The results JSON of the run, rendered as local-json renders it, kept
 * in results.json of the staging; *subdir and *date name the files. */
static int render_results(const struct hub_cfg *cfg, const struct hub_run *r,
                          struct evt_buf *json, char **subdir, char **date,
                          char *err, size_t errlen)
{
    struct evt_results *agg = evt_results_new();
    struct evt_results_opts o = cfg->ropts;
    char *name = NULL, *path = NULL;
    o.run_stamp = r->stamp;
    int rc = agg ? hub_stage_each(r, feed_results, agg, err, errlen) : -1;
    if (rc == 0)
        rc = evt_results_render_json(agg, &o, json, err, errlen);
    if (rc == 0 && evt_results_file_path(agg, &o, subdir, &name) != 0)
        rc = -1;
    if (rc == 0) {
        size_t n = strlen(name) - strlen("_results.json");
        *date = strndup(name, n);
        path = evt_path_join(r->dir, "results.json");
        rc = *date && path ? evt_write_file_atomic(path, json->data,
                                                   json->len, err, errlen)
                           : -1;
    }
    if (rc != 0 && !err[0])
        snprintf(err, errlen, "%s: cannot render the results: out of memory",
                 r->dir);
    free(name);
    free(path);
    evt_results_free(agg);
    return rc;
}

static int add_results(struct fileset *s, const char *subdir,
                       const char *date, struct evt_buf *json)
{
    struct hub_file *f = fs_add(s, cat3(date, "_results", ".json"));
    if (!f)
        return -1;
    char *p = in_subdir(subdir, f->repo_path);
    if (!p)
        return -1;
    free(f->repo_path);
    f->repo_path = p;
    f->mem = *json; /* moved */
    evt_buf_init(json);
    f->data = (const unsigned char *)(f->mem.data ? f->mem.data : "");
    f->len = f->mem.len;
    return 0;
}

static int add_samples(struct fileset *s, const struct hub_run *r,
                       const char *subdir, const char *date, char *err,
                       size_t errlen)
{
    for (size_t i = 0; i < r->ntasks; i++) {
        const struct hub_task *t = &r->tasks[i];
        if (t->committed == 0)
            continue;
        char *mid = cat3(date, "_samples_", t->name);
        char *base = mid ? cat3(mid, ".jsonl", "") : NULL;
        struct hub_file *f = base ? fs_add(s, in_subdir(subdir, base)) : NULL;
        free(mid);
        free(base);
        if (!f) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        if (map_file(f, t->path, (size_t)t->committed, err, errlen) != 0)
            return -1;
    }
    return 0;
}

/* ---- repos ---------------------------------------------------------- */

static int resolve_org(struct hub_pusher *p, char *err, size_t errlen)
{
    if (p->org)
        return EVT_HTTP_DONE;
    if (p->cfg->org)
        return (p->org = strdup(p->cfg->org)) ? EVT_HTTP_DONE
                                              : EVT_HTTP_TRANSIENT;
    return hub_whoami(&p->conn, &p->org, err, errlen);
}

static char *repo_id(const struct hub_pusher *p, const char *name)
{
    return strchr(name, '/') ? strdup(name) : cat3(p->org, "/", name);
}

/* Create the repo once per process (409: it exists). gated: set on an
 * existing repo too: a create whose answer was lost, or whose settings
 * call failed, shows up as 409 on the next try. */
static int ensure_repo(struct hub_pusher *p, const char *id, char *err,
                       size_t errlen)
{
    for (int i = 0; i < 2; i++)
        if (p->repo_created[i] && strcmp(p->repo_created[i], id) == 0)
            return EVT_HTTP_DONE;
    int created = 0;
    int out = hub_create_repo(&p->conn, id, !p->cfg->public_repo, &created,
                              err, errlen);
    if (out == EVT_HTTP_DONE && p->cfg->gated)
        out = hub_set_gated(&p->conn, id, err, errlen);
    int slot = p->repo_created[0] ? 1 : 0;
    if (out == EVT_HTTP_DONE && !p->repo_created[slot])
        p->repo_created[slot] = strdup(id);
    return out;
}

/* README.md for the repo: its current files plus those of this push. */
static int add_card(struct hub_pusher *p, const char *id, struct fileset *s,
                    char *err, size_t errlen)
{
    char **paths = NULL;
    size_t n = 0, m = s->n;
    int out = hub_list_files(&p->conn, id, &paths, &n, err, errlen);
    char **all = out == EVT_HTTP_DONE ? realloc(paths, (n + m + 1) *
                                                           sizeof *all)
                                      : NULL;
    if (out == EVT_HTTP_DONE && !all)
        out = EVT_HTTP_TRANSIENT;
    if (all)
        paths = all;
    for (size_t i = 0; all && i < m; i++)
        all[n + i] = s->f[i].repo_path; /* borrowed */
    struct evt_buf card;
    evt_buf_init(&card);
    if (all && hub_card_build((const char *const *)all, n + m, &card) != 0)
        out = EVT_HTTP_TRANSIENT;
    struct hub_file *f = out == EVT_HTTP_DONE ? fs_add(s, strdup("README.md"))
                                              : NULL;
    if (f) {
        f->mem = card; /* moved */
        f->data = (const unsigned char *)card.data;
        f->len = card.len;
    } else {
        evt_buf_free(&card);
        if (out == EVT_HTTP_DONE || all)
            snprintf(err, errlen, "dataset card: out of memory");
        if (out == EVT_HTTP_DONE)
            out = EVT_HTTP_TRANSIENT;
    }
    for (size_t i = 0; i < n; i++)
        free(paths[i]);
    free(paths);
    return out;
}

/* Preupload, LFS and the commit of s to repo id. */
static int push_files(struct hub_pusher *p, const char *id,
                      struct fileset *s, const char *summary, char *err,
                      size_t errlen)
{
    for (size_t i = 0; i < s->n; i++)
        hub_git_blob_oid(s->f[i].data, s->f[i].len, s->f[i].blob);
    int out = hub_preupload(&p->conn, id, s->f, s->n, err, errlen);
    if (out == EVT_HTTP_DONE)
        out = hub_lfs_upload(&p->conn, id, s->f, s->n, err, errlen);
    size_t todo = 0;
    for (size_t i = 0; i < s->n; i++)
        todo += !s->f[i].skip;
    if (out == EVT_HTTP_DONE && todo > 0)
        out = hub_commit(&p->conn, id, s->f, s->n, summary, err, errlen);
    return out;
}

/* One repo's push: create, card, files. */
static int push_repo(struct hub_pusher *p, const char *name,
                     struct fileset *s, const char *summary, char *err,
                     size_t errlen)
{
    char *id = repo_id(p, name);
    char e[HUB_ERRLEN] = "";
    int out = id ? ensure_repo(p, id, e, sizeof e) : EVT_HTTP_TRANSIENT;
    if (out == EVT_HTTP_DONE && p->cfg->card)
        out = add_card(p, id, s, e, sizeof e);
    if (out == EVT_HTTP_DONE)
        out = push_files(p, id, s, summary, e, sizeof e);
    if (out != EVT_HTTP_DONE)
        snprintf(err, errlen, "dataset repo %s: %s", id ? id : name,
                 e[0] ? e : "out of memory");
    free(id);
    return out;
}

/* Render and collect the run's files into res (results repo) and det
 * (details repo). */
static int collect(const struct hub_cfg *cfg, const struct hub_run *r,
                   struct fileset *res, struct fileset *det, char *err,
                   size_t errlen)
{
    struct evt_buf json;
    char *subdir = NULL, *date = NULL;
    evt_buf_init(&json);
    int rc = render_results(cfg, r, &json, &subdir, &date, err, errlen);
    if (rc == 0 && cfg->push_results &&
        add_results(res, subdir, date, &json) != 0)
        rc = -1;
    if (rc == 0 && cfg->push_samples)
        rc = add_samples(det, r, subdir, date, err, errlen);
    if (rc != 0 && !err[0])
        snprintf(err, errlen, "out of memory");
    evt_buf_free(&json);
    free(subdir);
    free(date);
    return rc;
}

static int merge_into(struct fileset *dst, struct fileset *src)
{
    for (size_t i = 0; i < src->n; i++) {
        struct hub_file *f = fs_add(dst, src->f[i].repo_path);
        if (!f)
            return -1;
        *f = src->f[i]; /* moved */
        if (f->mem.data)
            f->data = (const unsigned char *)f->mem.data;
    }
    free(src->f);
    memset(src, 0, sizeof *src);
    return 0;
}

int hub_push_run(struct hub_pusher *p, struct hub_run *r, char *err,
                 size_t errlen)
{
    struct fileset res = {0}, det = {0};
    char *summary = cat3("evtrack: evaluation run ", r->run_id, "");
    int same = strcmp(p->cfg->results_repo, p->cfg->details_repo) == 0;
    err[0] = '\0';
    if (!summary || collect(p->cfg, r, &res, &det, err, errlen) != 0 ||
        (same && merge_into(&res, &det) != 0)) {
        if (!err[0])
            snprintf(err, errlen, "out of memory");
        fs_free(&res), fs_free(&det), free(summary);
        return EVT_RETRY; /* disk or memory: may pass later */
    }
    char e[HUB_ERRLEN] = "";
    int out = resolve_org(p, e, sizeof e);
    if (out != EVT_HTTP_DONE)
        snprintf(err, errlen, "%s", e[0] ? e : "out of memory");
    if (out == EVT_HTTP_DONE && res.n)
        out = push_repo(p, p->cfg->results_repo, &res, summary, err, errlen);
    if (out == EVT_HTTP_DONE && det.n)
        out = push_repo(p, p->cfg->details_repo, &det, summary, err, errlen);
    if (out == EVT_HTTP_DONE && hub_stage_mark_pushed(r, err, errlen) != 0)
        out = EVT_HTTP_TRANSIENT;
    fs_free(&res);
    fs_free(&det);
    free(summary);
    return status_of(out);
}
