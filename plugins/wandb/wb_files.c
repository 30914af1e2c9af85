/* wb_files.c -- the run-file list, table files and the run-files upload
 * (wb_files.h). */
#include "wb_files.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <fcntl.h>
#include <unistd.h>

#include "evtrack/sdk/files.h"
#include "evtrack/sdk/results.h"
#include "wb_graphql.h"
#include "wb_http.h"

/* ---- the file list ----------------------------------------------------- */

static void drop_bytes(struct wb_file *f)
{
    evt_buf_free(&f->data);
    if (f->path)
        (void)unlink(f->path);
    free(f->path);
    f->path = NULL;
    f->size = 0;
}

/* Room for one more entry. 0 or -1. */
static int grow(struct wb_files *fs)
{
    if (fs->n < fs->cap)
        return 0;
    size_t cap = fs->cap ? 2 * fs->cap : 8;
    struct wb_file *v = realloc(fs->v, cap * sizeof *v);
    if (!v)
        return -1;
    fs->v = v;
    fs->cap = cap;
    return 0;
}

/* The entry named name, replaced or appended; NULL on OOM. Its bytes
 * are then dropped and it is not uploaded. */
static struct wb_file *entry(struct wb_files *fs, const char *name)
{
    for (size_t i = 0; i < fs->n; i++)
        if (strcmp(fs->v[i].name, name) == 0) {
            drop_bytes(&fs->v[i]);
            fs->v[i].uploaded = 0;
            fs->v[i].sha[0] = '\0';
            return &fs->v[i];
        }
    char *nm = strdup(name);
    if (!nm || grow(fs) != 0) {
        free(nm);
        return NULL;
    }
    struct wb_file *f = &fs->v[fs->n++];
    memset(f, 0, sizeof *f);
    evt_buf_init(&f->data);
    f->name = nm;
    return f;
}

/* wb_files_add and wb_files_add_path, giving the entry (NULL on OOM). */
static struct wb_file *add_bytes(struct wb_files *fs, const char *name,
                                 struct evt_buf *data)
{
    struct wb_file *f = data->oom ? NULL : entry(fs, name);
    if (!f) {
        evt_buf_free(data);
        return NULL;
    }
    f->data = *data;
    f->size = data->len;
    evt_buf_init(data);
    return f;
}

static struct wb_file *add_path(struct wb_files *fs, const char *name,
                                char **path, uint64_t size)
{
    struct wb_file *f = entry(fs, name);
    if (!f) {
        (void)unlink(*path);
        free(*path);
        *path = NULL;
        return NULL;
    }
    f->path = *path;
    f->size = size;
    *path = NULL;
    return f;
}

int wb_files_add(struct wb_files *fs, const char *name, struct evt_buf *data)
{
    return add_bytes(fs, name, data) ? 0 : -1;
}

int wb_files_add_path(struct wb_files *fs, const char *name, char **path,
                      uint64_t size)
{
    return add_path(fs, name, path, size) ? 0 : -1;
}

void wb_files_sweep(struct wb_files *fs)
{
    if (fs->swept || !fs->dir)
        return;
    fs->swept = 1;
    DIR *d = opendir(fs->dir);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        char *p = evt_path_join(fs->dir, de->d_name);
        if (p)
            (void)unlink(p);
        free(p);
    }
    if (d)
        closedir(d);
}

char *wb_files_tmp(struct wb_files *fs, char *err, size_t errlen)
{
    if (!fs->dir) {
        snprintf(err, errlen, "run files: no folder for temporary files");
        return NULL;
    }
    wb_files_sweep(fs);
    if (evt_mkdirs(fs->dir, err, errlen) != 0)
        return NULL;
    /* the pid: a process that lost the run (a failed open) still removes
     * only its own files */
    char name[64];
    snprintf(name, sizeof name, "%ld-%lu.part", (long)getpid(), fs->next++);
    char *p = evt_path_join(fs->dir, name);
    if (!p)
        snprintf(err, errlen, "%s: out of memory", fs->dir);
    return p;
}

void wb_files_free(struct wb_files *fs)
{
    for (size_t i = 0; i < fs->n; i++) {
        free(fs->v[i].name);
        drop_bytes(&fs->v[i]);
    }
    free(fs->v);
    if (fs->dir && fs->swept)
        (void)rmdir(fs->dir); /* when empty */
    free(fs->dir);
    memset(fs, 0, sizeof *fs);
}

/* ---- a file's bytes ---------------------------------------------------- */

int wb_bytes_map(struct wb_bytes *b, const char *path, uint64_t size,
                 char *err, size_t errlen)
{
    memset(b, 0, sizeof *b);
    b->p = "";
    if (size == 0)
        return 0;
    if (size > SIZE_MAX) {
        snprintf(err, errlen, "%s: too large to map", path);
        return -1;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    void *m = fd >= 0 ? mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE, fd,
                             0)
                      : MAP_FAILED;
    int e = errno;
    if (fd >= 0)
        close(fd);
    if (m == MAP_FAILED) {
        snprintf(err, errlen, "%s: %s: %s", path, fd < 0 ? "open" : "mmap",
                 strerror(e));
        return -1;
    }
    b->map = m;
    b->p = m;
    b->n = (size_t)size;
    return 0;
}

int wb_bytes_open(struct wb_bytes *b, const struct wb_file *f, char *err,
                  size_t errlen)
{
    if (f->path)
        return wb_bytes_map(b, f->path, f->size, err, errlen);
    memset(b, 0, sizeof *b);
    b->p = f->data.data ? f->data.data : "";
    b->n = f->data.len;
    return 0;
}

void wb_bytes_close(struct wb_bytes *b)
{
    if (b->map)
        munmap(b->map, b->n);
    memset(b, 0, sizeof *b);
}

char *wb_file_key(struct wb_file *f)
{
    if (!f->sha[0]) {
        struct wb_bytes b;
        char err[16]; /* the upload reports the same failure in full */
        if (wb_bytes_open(&b, f, err, sizeof err) != 0)
            return NULL;
        evt_results_sha256_hex(b.p, b.n, f->sha);
        wb_bytes_close(&b);
    }
    size_t n = strlen(f->name) + sizeof f->sha + 16;
    char *key = malloc(n);
    if (key)
        snprintf(key, n, "%s sha256:%s", f->name, f->sha);
    return key;
}

/* ---- table files ------------------------------------------------------- */

/* "media/table/{stem}_{step}_{sha[:20]}.table.json"; heap or NULL. */
static char *table_name(const char *stem, int64_t step, const char *sha)
{
    size_t n = strlen(stem) + 96;
    char *path = malloc(n);
    if (path)
        snprintf(path, n, "media/table/%s_%" PRId64 "_%.20s.table.json",
                 stem, step, sha);
    return path;
}

/* Set row[key] to the table-file value of the file path. 0 or -1. */
static int table_ref(struct wb_kvs *row, const char *key, const char *path,
                     const char *sha, uint64_t size, size_t ncols,
                     size_t nrows)
{
    struct evt_buf ref;
    evt_buf_init(&ref);
    evt_buf_puts(&ref, "{\"_type\": \"table-file\", \"path\": ");
    wb_json_cstr(&ref, path);
    evt_buf_puts(&ref, ", \"sha256\": ");
    wb_json_cstr(&ref, sha);
    evt_buf_puts(&ref, ", \"size\": ");
    wb_json_int(&ref, (int64_t)size);
    evt_buf_puts(&ref, ", \"ncols\": ");
    wb_json_int(&ref, (int64_t)ncols);
    evt_buf_puts(&ref, ", \"nrows\": ");
    wb_json_int(&ref, (int64_t)nrows);
    evt_buf_puts(&ref, ", \"log_mode\": \"IMMUTABLE\"}");
    int rc = ref.oom || wb_kvs_set(row, key, strlen(key), ref.data,
                                   ref.len) != 0
                 ? -1
                 : 0;
    evt_buf_free(&ref);
    return rc;
}

/* A table file just added (f, NULL on OOM): keep its SHA-256, known
 * already, so that wb_file_key need not hash the bytes again, and point
 * row[key] at it. 0 or -1. */
static int table_entry(struct wb_file *f, struct wb_kvs *row, const char *key,
                       const char *sha, size_t ncols, size_t nrows)
{
    if (!f)
        return -1;
    snprintf(f->sha, sizeof f->sha, "%s", sha);
    return table_ref(row, key, f->name, sha, f->size, ncols, nrows) != 0
               ? -1
               : 0;
}

int wb_table_file(struct wb_files *fs, struct wb_kvs *row, const char *key,
                  const char *stem, int64_t step, struct evt_buf *content,
                  size_t ncols, size_t nrows)
{
    char sha[65], *path;
    evt_results_sha256_hex(content->data ? content->data : "", content->len,
                           sha);
    if (content->oom || !(path = table_name(stem, step, sha))) {
        evt_buf_free(content);
        return -1;
    }
    int rc = table_entry(add_bytes(fs, path, content), row, key, sha,
                         ncols, nrows);
    free(path);
    return rc;
}

int wb_table_file_at(struct wb_files *fs, struct wb_kvs *row,
                     const char *key, const char *stem, int64_t step,
                     char **path, uint64_t size, const char *sha,
                     size_t ncols, size_t nrows)
{
    char *name = table_name(stem, step, sha);
    if (!name) {
        (void)unlink(*path);
        free(*path);
        *path = NULL;
        return -1;
    }
    int rc = table_entry(add_path(fs, name, path, size), row, key, sha,
                         ncols, nrows);
    free(name);
    return rc;
}

/* ---- upload ------------------------------------------------------------ */

/* PUT one file to its URL with the server's headers. */
static int put_file(struct wb_conn *c, const struct wb_upload *u,
                    struct wb_file *f, int64_t deadline_ns, char *err,
                    size_t errlen)
{
    struct evt_http_response resp;
    struct wb_bytes b;
    if (wb_bytes_open(&b, f, err, errlen) != 0)
        return EVT_HTTP_TRANSIENT; /* the batch is retried */
    int out = wb_conn_put(c, u->url, (const char *const *)u->headers, b.p,
                          b.n, deadline_ns, &resp, err, errlen);
    wb_bytes_close(&b);
    evt_http_response_free(&resp);
    if (out == EVT_HTTP_DONE)
        f->uploaded = 1;
    return out;
}

int wb_files_upload(struct wb_conn *c, const char *entity,
                    const char *project, const char *run, struct wb_files *fs,
                    int64_t deadline_ns, char *err, size_t errlen)
{
    const char *names[256];
    size_t n = 0, idx[256];
    for (size_t i = 0; i < fs->n && n < 256; i++)
        if (!fs->v[i].uploaded) {
            idx[n] = i;
            names[n++] = fs->v[i].name;
        }
    if (n == 0)
        return EVT_HTTP_DONE;
    struct wb_upload *ups = NULL;
    int out = wb_gql_create_run_files(c, entity, project, run, names, n,
                                      deadline_ns, &ups, err, errlen);
    for (size_t i = 0; i < n && out == EVT_HTTP_DONE; i++) {
        const struct wb_upload *u = wb_upload_find(ups, n, names[i]);
        if (!u) {
            snprintf(err, errlen, "CreateRunFiles: no upload URL for %s",
                     names[i]);
            out = EVT_HTTP_FINAL;
        } else {
            out = put_file(c, u, &fs->v[idx[i]], deadline_ns, err, errlen);
        }
    }
    wb_uploads_free(ups, n);
    if (out == EVT_HTTP_DONE && n < fs->n)
        for (size_t i = 0; i < fs->n; i++)
            if (!fs->v[i].uploaded)
                return wb_files_upload(c, entity, project, run, fs,
                                       deadline_ns, err, errlen);
    return out;
}
