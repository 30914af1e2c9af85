/* hub_api.c -- the Hugging Face Hub requests of one push (protocols.md
 * 1.2-1.7): whoami, create repo, tree listing, preupload, LFS batch +
 * upload (basic or multipart) + verify, NDJSON commit.
 *
 * Every function returns EVT_HTTP_DONE, EVT_HTTP_TRANSIENT or
 * EVT_HTTP_FINAL with "what: METHOD URL: reason" in err; the token is
 * sent only to the endpoint (never to presigned upload URLs) and is
 * scrubbed from every message. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub.h"

#define PREUPLOAD_CHUNK 256
#define LFS_BATCH_MAX 256
#define TREE_PAGES_MAX 1000

static const char LFS_TYPE[] = "application/vnd.git-lfs+json";

/* ---- plumbing ------------------------------------------------------- */

static char *fmt(const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    int n = vsnprintf(NULL, 0, f, ap);
    va_end(ap);
    char *s = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (s) {
        va_start(ap, f);
        vsnprintf(s, (size_t)n + 1, f, ap);
        va_end(ap);
    }
    return s;
}

static int nomem(char *err, size_t errlen, const char *what)
{
    snprintf(err, errlen, "%s: out of memory", what);
    return EVT_HTTP_TRANSIENT;
}

/* 1 when url is on the endpoint (the token may go there). */
static int on_endpoint(const struct hub_conn *c, const char *url)
{
    size_t n = strlen(c->endpoint);
    return strncmp(url, c->endpoint, n) == 0 &&
           (url[n] == '/' || url[n] == '\0' || url[n] == '?');
}

struct call {
    const char *method, *url, *ctype, *accept;
    const void *body;
    size_t len;
    const char *const *extra; /* more headers, NULL-terminated; or NULL */
    int retry;                /* evt_http_send (1) or one evt_http_do */
    int noauth;               /* presigned URL: never the token */
};

/* One request, "what: " prefixed to err. */
static int call(const struct hub_conn *c, const struct call *k,
                const char *what, struct evt_http_response *rs, char *err,
                size_t errlen)
{
    const char *h[16];
    char ct[96], ac[96];
    int n = 0;
    if (c->auth && !k->noauth && on_endpoint(c, k->url))
        h[n++] = c->auth;
    if (k->ctype) {
        snprintf(ct, sizeof ct, "Content-Type: %s", k->ctype);
        h[n++] = ct;
    }
    if (k->accept) {
        snprintf(ac, sizeof ac, "Accept: %s", k->accept);
        h[n++] = ac;
    }
    for (const char *const *x = k->extra; x && *x && n < 15; x++)
        h[n++] = *x;
    h[n] = NULL;
    struct evt_http_request rq = {
        .method = k->method, .url = k->url, .headers = h, .body = k->body,
        .body_len = k->len, .ca_bundle = c->ca_bundle,
        .timeout_ms = c->timeout_ms,
        .connect_timeout_ms = c->connect_timeout_ms, .secret = c->token};
    char e[HUB_ERRLEN];
    int out = k->retry ? evt_http_send(&rq, &c->retry, rs, NULL, e, sizeof e)
                       : evt_http_do(&rq, rs, e, sizeof e);
    if (out != EVT_HTTP_DONE)
        snprintf(err, errlen, "%s: %s", what, e);
    return out;
}

/* The answer's JSON, or NULL with err set (a malformed answer is taken
 * as transient: a proxy page, a cut connection). */
static cJSON *answer(const struct evt_http_response *rs, const char *what,
                     char *err, size_t errlen)
{
    cJSON *j = cJSON_ParseWithLength(rs->body, rs->body_len);
    if (!j)
        snprintf(err, errlen, "%s: the answer is not JSON", what);
    return j;
}

/* A JSON string literal of s. */
static void jstr(struct evt_buf *b, const char *s)
{
    evt_buf_puts(b, "\"");
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        char esc[8];
        if (ch == '"' || ch == '\\') {
            esc[0] = '\\', esc[1] = (char)ch, esc[2] = 0;
            evt_buf_puts(b, esc);
        } else if (ch < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", ch);
            evt_buf_puts(b, esc);
        } else {
            evt_buf_put(b, s, 1);
        }
    }
    evt_buf_puts(b, "\"");
}

static const char *jget_str(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* ---- whoami, create, settings --------------------------------------- */

int hub_whoami(const struct hub_conn *c, char **name, char *err,
               size_t errlen)
{
    struct evt_http_response rs;
    char *url = fmt("%s/api/whoami-v2", c->endpoint);
    *name = NULL;
    if (!url)
        return nomem(err, errlen, "whoami");
    struct call k = {.method = "GET", .url = url, .retry = 1};
    int out = call(c, &k, "whoami (the token's user)", &rs, err, errlen);
    cJSON *j = out == EVT_HTTP_DONE ? answer(&rs, "whoami", err, errlen)
                                    : NULL;
    const char *n = jget_str(j, "name");
    if (out == EVT_HTTP_DONE && !(n && (*name = strdup(n)))) {
        if (j)
            snprintf(err, errlen, "whoami: no user name in the answer");
        out = EVT_HTTP_TRANSIENT;
    }
    cJSON_Delete(j);
    evt_http_response_free(&rs);
    free(url);
    return out;
}

int hub_create_repo(const struct hub_conn *c, const char *repo_id,
                    int private_repo, int *created, char *err, size_t errlen)
{
    const char *slash = strchr(repo_id, '/');
    struct evt_buf b;
    struct evt_http_response rs;
    char *url = fmt("%s/api/repos/create", c->endpoint);
    char *org = slash ? strndup(repo_id, (size_t)(slash - repo_id)) : NULL;
    evt_buf_init(&b);
    evt_buf_puts(&b, "{\"name\": ");
    jstr(&b, slash ? slash + 1 : repo_id);
    evt_buf_puts(&b, ", \"organization\": ");
    if (org)
        jstr(&b, org);
    else
        evt_buf_puts(&b, "null");
    evt_buf_puts(&b, private_repo ? ", \"visibility\": \"private\""
                                  : ", \"visibility\": \"public\"");
    evt_buf_puts(&b, ", \"type\": \"dataset\"}");
    *created = 0;
    int out = EVT_HTTP_TRANSIENT;
    if (!url || b.oom || (slash && !org)) {
        nomem(err, errlen, "create repo");
    } else {
        struct call k = {.method = "POST", .url = url,
                         .ctype = "application/json", .body = b.data,
                         .len = b.len, .retry = 1};
        out = call(c, &k, "create dataset repo", &rs, err, errlen);
        *created = out == EVT_HTTP_DONE;
        if (rs.status == 409) /* exists; "conflicting operation": retry */
            out = strstr(rs.body, "conflicting operation")
                      ? EVT_HTTP_TRANSIENT
                      : EVT_HTTP_DONE;
        evt_http_response_free(&rs);
    }
    evt_buf_free(&b);
    free(org);
    free(url);
    return out;
}

int hub_set_gated(const struct hub_conn *c, const char *repo_id, char *err,
                  size_t errlen)
{
    struct evt_http_response rs;
    static const char body[] = "{\"gated\": \"auto\"}";
    char *url = fmt("%s/api/datasets/%s/settings", c->endpoint, repo_id);
    if (!url)
        return nomem(err, errlen, "repo settings");
    struct call k = {.method = "PUT", .url = url,
                     .ctype = "application/json", .body = body,
                     .len = sizeof body - 1, .retry = 1};
    int out = call(c, &k, "make the repo gated", &rs, err, errlen);
    evt_http_response_free(&rs);
    free(url);
    return out;
}

/* ---- tree ----------------------------------------------------------- */

/* The rel="next" URL of a Link header, heap; NULL when there is none. */
static char *next_link(const struct evt_http_response *rs)
{
    char *link = evt_http_header(rs, "Link"), *out = NULL;
    for (char *p = link; p && (p = strchr(p, '<'));) {
        char *e = strchr(p, '>');
        if (!e)
            break;
        char *semi = strchr(e, ',');
        char *rel = strstr(e, "rel=\"next\"");
        if (rel && (!semi || rel < semi)) {
            out = strndup(p + 1, (size_t)(e - p - 1));
            break;
        }
        p = e;
    }
    free(link);
    return out;
}

static int add_paths(const cJSON *arr, char ***paths, size_t *n)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, arr)
    {
        const char *p = jget_str(it, "path");
        const char *t = jget_str(it, "type");
        if (!p || (t && strcmp(t, "file") != 0))
            continue;
        char **q = realloc(*paths, (*n + 1) * sizeof *q);
        if (!q)
            return -1;
        *paths = q;
        if (!(q[*n] = strdup(p)))
            return -1;
        (*n)++;
    }
    return 0;
}

/* One page of the listing; *next gets the next page's URL or NULL. */
static int tree_page(const struct hub_conn *c, const char *url, char ***paths,
                     size_t *n, char **next, char *err, size_t errlen)
{
    struct evt_http_response rs;
    struct call k = {.method = "GET", .url = url, .retry = 1};
    int out = call(c, &k, "list the repo's files", &rs, err, errlen);
    *next = NULL;
    if (rs.status == 404) { /* no commit yet: no files */
        evt_http_response_free(&rs);
        return EVT_HTTP_DONE;
    }
    cJSON *j = out == EVT_HTTP_DONE ? answer(&rs, "tree", err, errlen)
                                    : NULL;
    if (out == EVT_HTTP_DONE && !cJSON_IsArray(j)) {
        if (j)
            snprintf(err, errlen, "list the repo's files: not a list");
        out = EVT_HTTP_TRANSIENT;
    } else if (out == EVT_HTTP_DONE && add_paths(j, paths, n) != 0) {
        out = nomem(err, errlen, "tree");
    } else if (out == EVT_HTTP_DONE) {
        *next = next_link(&rs);
    }
    cJSON_Delete(j);
    evt_http_response_free(&rs);
    return out;
}

int hub_list_files(const struct hub_conn *c, const char *repo_id,
                   char ***paths, size_t *n, char *err, size_t errlen)
{
    char *url = fmt("%s/api/datasets/%s/tree/main?recursive=true",
                    c->endpoint, repo_id);
    int out = url ? EVT_HTTP_DONE : nomem(err, errlen, "tree");
    *paths = NULL;
    *n = 0;
    for (int page = 0; url && out == EVT_HTTP_DONE; page++) {
        char *next = NULL;
        if (!on_endpoint(c, url) || page >= TREE_PAGES_MAX) {
            snprintf(err, errlen, "list the repo's files: bad next page");
            out = EVT_HTTP_TRANSIENT;
        } else {
            out = tree_page(c, url, paths, n, &next, err, errlen);
        }
        free(url);
        url = next;
    }
    free(url);
    return out;
}

/* ---- preupload ------------------------------------------------------ */

static void preupload_body(struct evt_buf *b, const struct hub_file *f,
                           size_t n)
{
    char num[32];
    evt_buf_puts(b, "{\"files\": [");
    for (size_t i = 0; i < n; i++) {
        evt_buf_puts(b, i ? ", {\"path\": " : "{\"path\": ");
        jstr(b, f[i].repo_path);
        evt_buf_puts(b, ", \"sample\": \"");
        hub_base64(b, f[i].data, f[i].len < 512 ? f[i].len : 512);
        snprintf(num, sizeof num, "\", \"size\": %zu}", f[i].len);
        evt_buf_puts(b, num);
    }
    evt_buf_puts(b, "]}");
}

/* The server's verdict for file f: LFS or not, and the no-op rule. */
static void take_mode(struct hub_file *f, const cJSON *it)
{
    const char *mode = jget_str(it, "uploadMode");
    const char *oid = jget_str(it, "oid");
    const cJSON *ign = cJSON_GetObjectItemCaseSensitive(it, "shouldIgnore");
    f->lfs = mode && strcmp(mode, "lfs") == 0 && f->len > 0;
    if (f->lfs && !f->sha256[0])
        evt_results_sha256_hex(f->data, f->len, f->sha256);
    f->skip = cJSON_IsTrue(ign) ||
              (oid && strcmp(oid, f->lfs ? f->sha256 : f->blob) == 0);
}

static int preupload_answer(const struct evt_http_response *rs,
                            struct hub_file *f, size_t n, char *err,
                            size_t errlen)
{
    cJSON *j = answer(rs, "preupload", err, errlen);
    const cJSON *files = cJSON_GetObjectItemCaseSensitive(j, "files"), *it;
    if (!cJSON_IsArray(files)) {
        if (j)
            snprintf(err, errlen, "preupload: no \"files\" list");
        cJSON_Delete(j);
        return EVT_HTTP_TRANSIENT;
    }
    cJSON_ArrayForEach(it, files)
    {
        const char *p = jget_str(it, "path");
        for (size_t i = 0; p && i < n; i++)
            if (strcmp(f[i].repo_path, p) == 0)
                take_mode(&f[i], it);
    }
    cJSON_Delete(j);
    return EVT_HTTP_DONE;
}

int hub_preupload(const struct hub_conn *c, const char *repo_id,
                  struct hub_file *f, size_t n, char *err, size_t errlen)
{
    char *url = fmt("%s/api/datasets/%s/preupload/main", c->endpoint,
                    repo_id);
    int out = url ? EVT_HTTP_DONE : nomem(err, errlen, "preupload");
    for (size_t i = 0; url && out == EVT_HTTP_DONE && i < n;
         i += PREUPLOAD_CHUNK) {
        size_t m = n - i < PREUPLOAD_CHUNK ? n - i : PREUPLOAD_CHUNK;
        struct evt_buf b;
        struct evt_http_response rs;
        evt_buf_init(&b);
        preupload_body(&b, f + i, m);
        struct call k = {.method = "POST", .url = url,
                         .ctype = "application/json", .body = b.data,
                         .len = b.len, .retry = 1};
        out = b.oom ? nomem(err, errlen, "preupload")
                    : call(c, &k, "preupload", &rs, err, errlen);
        if (out == EVT_HTTP_DONE)
            out = preupload_answer(&rs, f + i, m, err, errlen);
        if (!b.oom)
            evt_http_response_free(&rs);
        evt_buf_free(&b);
    }
    free(url);
    return out;
}

/* ---- LFS ------------------------------------------------------------ */

/* An href from the server, with https://huggingface.co moved to the
 * endpoint as huggingface_hub does. Heap. */
static char *fix_href(const struct hub_conn *c, const char *href)
{
    static const char hub[] = "https://huggingface.co";
    if (strncmp(href, hub, sizeof hub - 1) == 0 &&
        strcmp(c->endpoint, hub) != 0)
        return fmt("%s%s", c->endpoint, href + sizeof hub - 1);
    return strdup(href);
}

/* The "header" map of an action as "Name: value" lines (skip: a key to
 * leave out, e.g. "chunk_size"). NULL-terminated heap array. */
static char **action_headers(const cJSON *action)
{
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(action, "header"), *it;
    int n = cJSON_GetArraySize(h), k = 0;
    char **out = calloc((size_t)n + 1, sizeof *out);
    cJSON_ArrayForEach(it, h)
    {
        if (out && cJSON_IsString(it) && k < 12)
            out[k++] = fmt("%s: %s", it->string, it->valuestring);
    }
    return out;
}

static void free_strv(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

static int put_bytes(const struct hub_conn *c, const char *href,
                     const void *p, size_t n, char **etag, char *err,
                     size_t errlen)
{
    struct evt_http_response rs;
    char *url = fix_href(c, href);
    if (!url)
        return nomem(err, errlen, "LFS upload");
    struct call k = {.method = "PUT", .url = url, .body = p, .len = n,
                     .retry = 1, .noauth = 1};
    int out = call(c, &k, "LFS upload", &rs, err, errlen);
    if (out == EVT_HTTP_DONE && etag &&
        !(*etag = evt_http_header(&rs, "ETag"))) {
        snprintf(err, errlen, "LFS upload: a part's answer has no ETag");
        out = EVT_HTTP_TRANSIENT;
    }
    evt_http_response_free(&rs);
    free(url);
    return out;
}

static int post_json(const struct hub_conn *c, const char *href,
                     const char *ctype, const struct evt_buf *b,
                     const char *const *extra, int noauth, const char *what,
                     char *err, size_t errlen)
{
    struct evt_http_response rs;
    char *url = fix_href(c, href);
    if (!url || b->oom) {
        free(url);
        return nomem(err, errlen, what);
    }
    struct call k = {.method = "POST", .url = url, .ctype = ctype,
                     .accept = ctype, .body = b->data, .len = b->len,
                     .extra = extra, .retry = 1, .noauth = noauth};
    int out = call(c, &k, what, &rs, err, errlen);
    evt_http_response_free(&rs);
    free(url);
    return out;
}

/* The part URLs "1".."N" of a multipart upload, in order; N must be
 * ceil(size / chunk). */
static int parts_of(const cJSON *hdr, size_t size, size_t chunk,
                    const char ***urls, size_t *n)
{
    *n = chunk ? (size + chunk - 1) / chunk : 0;
    *urls = calloc(*n ? *n : 1, sizeof **urls);
    if (!*urls)
        return -1;
    for (size_t i = 0; i < *n; i++) {
        char key[24];
        snprintf(key, sizeof key, "%zu", i + 1);
        const char *u = jget_str(hdr, key);
        if (!u)
            return -1;
        (*urls)[i] = u;
    }
    return cJSON_GetArraySize(hdr) == (int)*n + 1 ? 0 : -1;
}

static int multipart(const struct hub_conn *c, const struct hub_file *f,
                     const cJSON *up, char *err, size_t errlen)
{
    const cJSON *hdr = cJSON_GetObjectItemCaseSensitive(up, "header");
    const char *cs = jget_str(hdr, "chunk_size");
    size_t chunk = cs ? (size_t)strtoull(cs, NULL, 10) : 0, n = 0;
    const char **urls = NULL;
    if (!chunk || parts_of(hdr, f->len, chunk, &urls, &n) != 0) {
        free(urls);
        snprintf(err, errlen, "LFS upload of %s: the server's multipart "
                 "answer does not match the file size", f->repo_path);
        return EVT_HTTP_FINAL;
    }
    struct evt_buf b;
    evt_buf_init(&b);
    evt_buf_puts(&b, "{\"oid\": \"");
    evt_buf_puts(&b, f->sha256);
    evt_buf_puts(&b, "\", \"parts\": [");
    int out = EVT_HTTP_DONE;
    for (size_t i = 0; i < n && out == EVT_HTTP_DONE; i++) {
        size_t off = i * chunk, len = f->len - off < chunk ? f->len - off
                                                           : chunk;
        char *etag = NULL, num[48];
        out = put_bytes(c, urls[i], f->data + off, len, &etag, err, errlen);
        if (out != EVT_HTTP_DONE)
            break;
        snprintf(num, sizeof num, "%s{\"partNumber\": %zu, \"etag\": ",
                 i ? ", " : "", i + 1);
        evt_buf_puts(&b, num);
        jstr(&b, etag);
        evt_buf_puts(&b, "}");
        free(etag);
    }
    evt_buf_puts(&b, "]}");
    const char *href = jget_str(up, "href");
    if (out == EVT_HTTP_DONE)
        out = href ? post_json(c, href, LFS_TYPE, &b, NULL, 1,
                               "LFS multipart completion", err, errlen)
                   : EVT_HTTP_FINAL;
    evt_buf_free(&b);
    free(urls);
    return out;
}

static int verify(const struct hub_conn *c, const struct hub_file *f,
                  const cJSON *act, char *err, size_t errlen)
{
    const char *href = jget_str(act, "href");
    char num[48];
    if (!href)
        return EVT_HTTP_DONE;
    char **extra = action_headers(act);
    struct evt_buf b;
    evt_buf_init(&b);
    evt_buf_puts(&b, "{\"oid\": \"");
    evt_buf_puts(&b, f->sha256);
    snprintf(num, sizeof num, "\", \"size\": %zu}", f->len);
    evt_buf_puts(&b, num);
    int out = post_json(c, href, "application/json", &b,
                        (const char *const *)extra, 0, "LFS verify", err,
                        errlen);
    evt_buf_free(&b);
    free_strv(extra);
    return out;
}

/* Upload one object as the batch answer says. */
static int lfs_object(const struct hub_conn *c, const struct hub_file *f,
                      const cJSON *obj, char *err, size_t errlen)
{
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(obj, "error");
    const cJSON *acts = cJSON_GetObjectItemCaseSensitive(obj, "actions");
    if (e) {
        const cJSON *code = cJSON_GetObjectItemCaseSensitive(e, "code");
        const char *m = jget_str(e, "message");
        snprintf(err, errlen, "LFS batch: %s: error %d: %s", f->repo_path,
                 cJSON_IsNumber(code) ? code->valueint : 0, m ? m : "?");
        return evt_http_classify(cJSON_IsNumber(code) ? code->valueint : 400);
    }
    if (!acts) /* already stored */
        return EVT_HTTP_DONE;
    const cJSON *up = cJSON_GetObjectItemCaseSensitive(acts, "upload");
    const cJSON *hdr = cJSON_GetObjectItemCaseSensitive(up, "header");
    const char *href = jget_str(up, "href");
    int out = EVT_HTTP_DONE;
    if (up && jget_str(hdr, "chunk_size"))
        out = multipart(c, f, up, err, errlen);
    else if (href)
        out = put_bytes(c, href, f->data, f->len, NULL, err, errlen);
    if (out == EVT_HTTP_DONE)
        out = verify(c, f, cJSON_GetObjectItemCaseSensitive(acts, "verify"),
                     err, errlen);
    return out;
}

static void batch_body(struct evt_buf *b, struct hub_file *const *f,
                       size_t n)
{
    char num[48];
    evt_buf_puts(b, "{\"operation\": \"upload\", \"transfers\": [\"basic\", "
                    "\"multipart\"], \"objects\": [");
    for (size_t i = 0; i < n; i++) {
        evt_buf_puts(b, i ? ", {\"oid\": \"" : "{\"oid\": \"");
        evt_buf_puts(b, f[i]->sha256);
        snprintf(num, sizeof num, "\", \"size\": %zu}", f[i]->len);
        evt_buf_puts(b, num);
    }
    evt_buf_puts(b, "], \"hash_algo\": \"sha256\", \"ref\": {\"name\": "
                    "\"main\"}}");
}

static int batch_answer(const struct hub_conn *c,
                        const struct evt_http_response *rs,
                        struct hub_file *const *f, size_t n, char *err,
                        size_t errlen)
{
    cJSON *j = answer(rs, "LFS batch", err, errlen);
    const cJSON *objs = cJSON_GetObjectItemCaseSensitive(j, "objects"), *o;
    int out = cJSON_IsArray(objs) ? EVT_HTTP_DONE : EVT_HTTP_TRANSIENT;
    if (j && out != EVT_HTTP_DONE)
        snprintf(err, errlen, "LFS batch: no \"objects\" list");
    for (size_t i = 0; i < n && out == EVT_HTTP_DONE; i++) {
        const cJSON *mine = NULL;
        cJSON_ArrayForEach(o, objs)
        {
            const char *oid = jget_str(o, "oid");
            if (oid && strcmp(oid, f[i]->sha256) == 0)
                mine = o;
        }
        if (!mine) {
            snprintf(err, errlen, "LFS batch: no answer for %s",
                     f[i]->repo_path);
            out = EVT_HTTP_TRANSIENT;
        } else {
            out = lfs_object(c, f[i], mine, err, errlen);
        }
    }
    cJSON_Delete(j);
    return out;
}

static int lfs_batch(const struct hub_conn *c, const char *url,
                     struct hub_file *const *f, size_t n, char *err,
                     size_t errlen)
{
    struct evt_buf b;
    struct evt_http_response rs;
    evt_buf_init(&b);
    batch_body(&b, f, n);
    struct call k = {.method = "POST", .url = url, .ctype = LFS_TYPE,
                     .accept = LFS_TYPE, .body = b.data, .len = b.len,
                     .retry = 1};
    int out = b.oom ? nomem(err, errlen, "LFS batch")
                    : call(c, &k, "LFS batch", &rs, err, errlen);
    if (out == EVT_HTTP_DONE)
        out = batch_answer(c, &rs, f, n, err, errlen);
    if (!b.oom)
        evt_http_response_free(&rs);
    evt_buf_free(&b);
    return out;
}

int hub_lfs_upload(const struct hub_conn *c, const char *repo_id,
                   struct hub_file *f, size_t n, char *err, size_t errlen)
{
    struct hub_file **todo = calloc(n ? n : 1, sizeof *todo);
    char *url = fmt("%s/datasets/%s.git/info/lfs/objects/batch", c->endpoint,
                    repo_id);
    size_t m = 0;
    int out = todo && url ? EVT_HTTP_DONE : nomem(err, errlen, "LFS");
    for (size_t i = 0; todo && i < n; i++)
        if (f[i].lfs && !f[i].skip)
            todo[m++] = &f[i];
    for (size_t i = 0; out == EVT_HTTP_DONE && i < m; i += LFS_BATCH_MAX)
        out = lfs_batch(c, url, todo + i,
                        m - i < LFS_BATCH_MAX ? m - i : LFS_BATCH_MAX, err,
                        errlen);
    free(todo);
    free(url);
    return out;
}

/* ---- commit --------------------------------------------------------- */

static void commit_line(struct evt_buf *b, const struct hub_file *f)
{
    char num[48];
    if (f->lfs) {
        evt_buf_puts(b, "{\"key\": \"lfsFile\", \"value\": {\"path\": ");
        jstr(b, f->repo_path);
        evt_buf_puts(b, ", \"algo\": \"sha256\", \"oid\": \"");
        evt_buf_puts(b, f->sha256);
        snprintf(num, sizeof num, "\", \"size\": %zu}}\n", f->len);
        evt_buf_puts(b, num);
        return;
    }
    evt_buf_puts(b, "{\"key\": \"file\", \"value\": {\"content\": \"");
    hub_base64(b, f->data, f->len);
    evt_buf_puts(b, "\", \"path\": ");
    jstr(b, f->repo_path);
    evt_buf_puts(b, ", \"encoding\": \"base64\"}}\n");
}

int hub_commit(const struct hub_conn *c, const char *repo_id,
               const struct hub_file *f, size_t n, const char *summary,
               char *err, size_t errlen)
{
    struct evt_buf b;
    struct evt_http_response rs;
    char *url = fmt("%s/api/datasets/%s/commit/main", c->endpoint, repo_id);
    evt_buf_init(&b);
    evt_buf_puts(&b, "{\"key\": \"header\", \"value\": {\"summary\": ");
    jstr(&b, summary);
    evt_buf_puts(&b, ", \"description\": \"\"}}\n");
    for (size_t i = 0; i < n; i++)
        if (!f[i].skip)
            commit_line(&b, &f[i]);
    if (!url || b.oom) {
        evt_buf_free(&b);
        free(url);
        return nomem(err, errlen, "commit");
    }
    /* Not retried here: a lost answer must not make a second commit. The
     * push starts again from preupload, where landed files drop out. */
    struct call k = {.method = "POST", .url = url,
                     .ctype = "application/x-ndjson", .body = b.data,
                     .len = b.len, .retry = 0};
    int out = call(c, &k, "commit", &rs, err, errlen);
    evt_http_response_free(&rs);
    evt_buf_free(&b);
    free(url);
    return out;
}
