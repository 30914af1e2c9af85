/* evtrack-sink-csv.so -- an example third-party sink: one CSV row per
 * `result` and `scalar` event, appended to the file named by its config.
 *
 * Built out of tree against an installed evtrack (find_package(evtrack),
 * target evtrack::sdk); the tutorial is docs/WRITING_A_SINK.md and the
 * format and guarantees are in README.md next to this file. In short:
 *
 *   run_id,seq,kind,step,task,metric,filter,value,stderr
 *   r1,4,result,,mme,mme_cognition_score,none,312.5,
 *   r1,7,scalar,100,,train/loss,,1.25,
 *
 * Each write() appends the whole batch with write(2) on an O_APPEND file
 * descriptor; if that fails part way, the file is cut back to where the
 * batch started and the host is asked to retry, so a batch is in the file
 * whole or not at all. flush() and destroy() fsync; "fsync": "batch"
 * also fsyncs every batch. */
#define _DEFAULT_SOURCE /* flock(2) */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <evtrack/sink.h>
#include <evtrack/sdk/event_view.h>
#include <evtrack/sdk/files.h>
#include <evtrack/sdk/json_write.h>

#define CSV_HEADER "run_id,seq,kind,step,task,metric,filter,value,stderr\n"

struct csv {
    evt_host *h;
    const struct evt_host_api *api;
    char *path;       /* the CSV file */
    int fd;           /* O_APPEND, flock()ed for the instance's lifetime */
    off_t size;       /* bytes in the file: where the next batch starts */
    int sync_batch;   /* "fsync": "batch" */
    int dirty;        /* rows written since the last fsync */
    struct evt_buf rows; /* the batch being formatted, reused */
};

static const struct evt_config_key keys[] = {
    {"file", EVT_CFG_STR, 1, NULL,
     "the CSV file; a relative path is under output_dir"},
    {"header", EVT_CFG_BOOL, 0, "true",
     "write the header row into a new (empty) file, and check it in an "
     "existing one"},
    {"fsync", EVT_CFG_STR, 0, "\"flush\"",
     "\"flush\": fsync on evt_flush/evt_close; \"batch\": after every "
     "batch too"},
    {NULL, 0, 0, NULL, NULL}};

/* ---- one row ------------------------------------------------------------ */

/* A CSV field as Python's csv.writer (QUOTE_MINIMAL) writes it: quoted
 * when it holds a comma, a quote, CR or LF, with quotes doubled. */
static void put_text(struct evt_buf *b, const char *p, size_t n)
{
    if (!memchr(p, ',', n) && !memchr(p, '"', n) && !memchr(p, '\n', n) &&
        !memchr(p, '\r', n)) {
        evt_buf_put(b, p, n);
        return;
    }
    evt_buf_put(b, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        evt_buf_put(b, p + i, 1);
        if (p[i] == '"')
            evt_buf_put(b, "\"", 1);
    }
    evt_buf_put(b, "\"", 1);
}

/* Cut b back to its first len bytes. */
static void buf_cut(struct evt_buf *b, size_t len)
{
    b->len = len;
    if (b->data)
        b->data[len] = '\0';
}

/* A field's value as text: str as is, int in decimal, float as Python's
 * repr ("0.81", "1.0", "nan"), bool as "True"/"False", nil or absent as
 * an empty field. Maps, arrays, bin and ext have no CSV form: -1 and
 * *what names the type. */
static int put_value(struct evt_buf *b, const msgpack_object *o,
                     const char **what)
{
    if (!o)
        return 0;
    switch (o->type) {
    case MSGPACK_OBJECT_NIL:
        return 0;
    case MSGPACK_OBJECT_BOOLEAN:
        evt_buf_puts(b, o->via.boolean ? "True" : "False");
        return 0;
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        return evt_mp_py_number(b, o);
    case MSGPACK_OBJECT_STR:
        put_text(b, o->via.str.ptr, o->via.str.size);
        return 0;
    case MSGPACK_OBJECT_ARRAY: *what = "an array"; return -1;
    case MSGPACK_OBJECT_MAP: *what = "a map"; return -1;
    default: *what = "binary data"; return -1;
    }
}

/* The row of one result or scalar event, appended to s->rows. 1 written,
 * 0 skipped (logged: the event has no CSV form), -1 out of memory. */
static int put_row(struct csv *s, const evt_event *e, uint32_t kind)
{
    const struct evt_host_api *api = s->api;
    unsigned long long seq = (unsigned long long)api->ev_seq(e);
    const char *kind_name = kind == EVT_EV_RESULT ? "result" : "scalar";
    struct evt_view v;
    if (evt_view_open(&v, api, e) != 0) {
        api->log(s->h, EVT_LOG_WARN, "%s event seq %llu skipped: not a "
                 "msgpack map", kind_name, seq);
        return 0;
    }
    static const char *const result_cols[] = {"task", "metric", "filter",
                                              "value", "stderr"};
    static const char *const scalar_cols[] = {NULL, "tag", NULL, "value",
                                              NULL};
    const char *const *cols = kind == EVT_EV_RESULT ? result_cols
                                                    : scalar_cols;
    struct evt_buf *b = &s->rows;
    size_t start = b->len;
    char head[64];
    int64_t step;
    put_text(b, api->ev_run_id(e), strlen(api->ev_run_id(e)));
    snprintf(head, sizeof head, ",%llu,%s,", seq, kind_name);
    evt_buf_puts(b, head);
    if (api->ev_step(e, &step)) {
        snprintf(head, sizeof head, "%" PRId64, step);
        evt_buf_puts(b, head);
    }
    const char *what = NULL;
    int i = 0;
    for (; i < 5 && !what; i++) {
        evt_buf_put(b, ",", 1);
        if (cols[i])
            put_value(b, evt_mp_get(&v.root, cols[i]), &what);
    }
    evt_view_close(&v);
    evt_buf_put(b, "\n", 1);
    if (what) {
        buf_cut(b, start); /* drop the partial row */
        api->log(s->h, EVT_LOG_WARN, "%s event seq %llu skipped: field "
                 "\"%s\" is %s, not a string or a number", kind_name, seq,
                 cols[i - 1], what);
        return 0;
    }
    return b->oom ? -1 : 1;
}

/* ---- the file ----------------------------------------------------------- */

/* fsync the file; 0, or -1 logged. */
static int sync_file(struct csv *s)
{
    if (!s->dirty)
        return 0;
    if (fsync(s->fd) != 0) {
        s->api->log(s->h, EVT_LOG_ERROR, "%s: fsync: %s", s->path,
                    strerror(errno));
        return -1;
    }
    s->dirty = 0;
    return 0;
}

/* Append data to the file whole, or not at all: after a failed or short
 * write the file is cut back to s->size. EVT_OK, EVT_RETRY (nothing
 * appended; worth another try: disk full, I/O error) or EVT_ERROR (the
 * file could not be cut back: it may end in a partial row). */
static int append(struct csv *s, const char *data, size_t len)
{
    const char *step = "write";
    int ok = evt_write_all(s->fd, data, len) == 0;
    if (ok && s->sync_batch && fsync(s->fd) != 0) {
        step = "fsync";
        ok = 0;
    }
    if (ok) {
        s->size += (off_t)len;
        s->dirty = !s->sync_batch;
        return EVT_OK;
    }
    int e = errno;
    if (ftruncate(s->fd, s->size) != 0) {
        s->api->log(s->h, EVT_LOG_ERROR, "%s: %s: %s, and cannot cut the "
                    "file back to %lld bytes: %s", s->path, step, strerror(e),
                    (long long)s->size, strerror(errno));
        return EVT_ERROR;
    }
    s->api->log(s->h, EVT_LOG_WARN, "%s: %s: %s (batch not written; the "
                "host will retry it)", s->path, step, strerror(e));
    return EVT_RETRY;
}

/* An existing file: cut a partial last row left by a crash, and check
 * that it starts with our header. 0, or -1 logged. */
static int check_existing(struct csv *s, int want_header)
{
    char tail;
    if (pread(s->fd, &tail, 1, s->size - 1) != 1)
        goto io_error;
    if (tail != '\n') {
        off_t keep = s->size - 1;
        while (keep > 0 && pread(s->fd, &tail, 1, keep - 1) == 1 &&
               tail != '\n')
            keep--;
        if (ftruncate(s->fd, keep) != 0 || fsync(s->fd) != 0)
            goto io_error;
        s->api->log(s->h, EVT_LOG_WARN, "%s: removed a partial last row "
                    "(%lld bytes) left by an earlier crash", s->path,
                    (long long)(s->size - keep));
        s->size = keep;
    }
    if (!want_header || s->size == 0)
        return 0;
    char first[sizeof CSV_HEADER - 1];
    ssize_t n = pread(s->fd, first, sizeof first, 0);
    if (n < 0)
        goto io_error;
    if ((size_t)n != sizeof first ||
        memcmp(first, CSV_HEADER, sizeof first) != 0) {
        s->api->log(s->h, EVT_LOG_ERROR, "%s: the file exists and its first "
                    "line is not this sink's header (%.*s): refusing to "
                    "append to another CSV (set \"header\": false to append "
                    "anyway)", s->path, (int)sizeof first - 1, CSV_HEADER);
        return -1;
    }
    return 0;
io_error:
    s->api->log(s->h, EVT_LOG_ERROR, "%s: %s", s->path, strerror(errno));
    return -1;
}

/* The header row into the empty file, fsynced with the folder (slash: the
 * path's last '/', or NULL), so that the new file survives a crash. 0, or
 * -1 logged. */
static int write_header(struct csv *s, const char *slash)
{
    if (evt_write_all(s->fd, CSV_HEADER, sizeof CSV_HEADER - 1) != 0 ||
        fsync(s->fd) != 0) {
        s->api->log(s->h, EVT_LOG_ERROR, "%s: cannot write the header: %s",
                    s->path, strerror(errno));
        return -1;
    }
    s->size = (off_t)(sizeof CSV_HEADER - 1);
    char *dir = slash ? strndup(s->path, (size_t)(slash - s->path) + 1)
                      : strdup(".");
    int dfd = dir ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    free(dir);
    if (dfd >= 0) {
        (void)fsync(dfd); /* best effort: some file systems refuse it */
        close(dfd);
    }
    return 0;
}

/* Make the file's folder, open and lock the file, then check an existing
 * file (check_existing) or give a new one its header. 0, or -1 logged. */
static int open_file(struct csv *s, int want_header)
{
    char err[512];
    char *slash = strrchr(s->path, '/');
    if (slash && slash != s->path) {
        *slash = '\0';
        int rc = evt_mkdirs(s->path, err, sizeof err);
        *slash = '/';
        if (rc != 0) {
            s->api->log(s->h, EVT_LOG_ERROR, "%s", err);
            return -1;
        }
    }
    struct stat st;
    s->fd = open(s->path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (s->fd < 0 || fstat(s->fd, &st) != 0) {
        s->api->log(s->h, EVT_LOG_ERROR, "%s: cannot open: %s", s->path,
                    strerror(errno));
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        s->api->log(s->h, EVT_LOG_ERROR, "%s: not a regular file", s->path);
        return -1;
    }
    if (flock(s->fd, LOCK_EX | LOCK_NB) != 0) {
        s->api->log(s->h, EVT_LOG_ERROR, "%s: %s", s->path,
                    errno == EWOULDBLOCK
                        ? "in use by another writer (give each sink "
                          "instance and each process its own file)"
                        : strerror(errno));
        return -1;
    }
    s->size = st.st_size;
    if (s->size > 0 && check_existing(s, want_header) != 0)
        return -1;
    return s->size == 0 && want_header ? write_header(s, slash) : 0;
}

/* ---- the callbacks ------------------------------------------------------ */

static void free_csv(struct csv *s)
{
    if (s->fd >= 0)
        close(s->fd); /* releases the lock */
    evt_buf_free(&s->rows);
    free(s->path);
    free(s);
}

static int csv_create(evt_host *h, const struct evt_host_api *api,
                      const evt_config *cfg, void **out)
{
    struct csv *s = calloc(1, sizeof *s);
    if (!s) {
        api->log(h, EVT_LOG_ERROR, "out of memory");
        return EVT_ENOMEM;
    }
    s->h = h;
    s->api = api;
    s->fd = -1;
    evt_buf_init(&s->rows);
    /* Read the whole config here: cfg_* are not for the worker thread. */
    const char *file = api->cfg_str(cfg, "file", "");
    const char *sync = api->cfg_str(cfg, "fsync", "flush");
    int header = api->cfg_bool(cfg, "header", 1);
    s->sync_batch = strcmp(sync, "batch") == 0;
    if (!s->sync_batch && strcmp(sync, "flush") != 0) {
        api->log(h, EVT_LOG_ERROR, "config key \"fsync\": expected \"flush\" "
                 "or \"batch\"");
        free_csv(s);
        return EVT_ECONFIG;
    }
    if (!file[0]) {
        api->log(h, EVT_LOG_ERROR, "config key \"file\": must not be empty");
        free_csv(s);
        return EVT_ECONFIG;
    }
    s->path = file[0] == '/' ? strdup(file)
                             : evt_path_join(api->output_dir(h), file);
    if (!s->path) {
        api->log(h, EVT_LOG_ERROR, "out of memory");
        free_csv(s);
        return EVT_ENOMEM;
    }
    if (open_file(s, header) != 0) {
        free_csv(s);
        return EVT_ERROR;
    }
    *out = s;
    return EVT_OK;
}

static int csv_write(void *inst, const evt_event *const *events, size_t n)
{
    struct csv *s = inst;
    buf_cut(&s->rows, 0);
    for (size_t i = 0; i < n; i++) {
        uint32_t kind = s->api->ev_kind(events[i]);
        /* The host sends only the kinds of event_mask; others are
         * ignored rather than refused, should a future host send more. */
        if (kind != EVT_EV_RESULT && kind != EVT_EV_SCALAR)
            continue;
        if (put_row(s, events[i], kind) < 0) {
            s->api->log(s->h, EVT_LOG_WARN, "out of memory formatting a "
                        "batch of %zu events (will retry)", n);
            evt_buf_free(&s->rows);
            return EVT_RETRY;
        }
    }
    return s->rows.len ? append(s, s->rows.data, s->rows.len) : EVT_OK;
}

static int csv_flush(void *inst, int64_t deadline_ns)
{
    (void)deadline_ns; /* one fsync: nothing to cut short */
    return sync_file(inst) == 0 ? EVT_OK : EVT_ERROR;
}

static void csv_destroy(void *inst)
{
    struct csv *s = inst;
    sync_file(s); /* a failure is logged; nothing else to do at close */
    free_csv(s);
}

static const struct evt_sink_vtable vtable = {
    .struct_size = sizeof(struct evt_sink_vtable),
    .abi_version = EVT_SINK_ABI_VERSION,
    .name = "csv",
    .version = "1.0.0",
    .description = "results and scalars as rows of a CSV file",
    .event_mask = EVT_EV_RESULT | EVT_EV_SCALAR,
    .flags = 0,
    .config_keys = keys,
    .create = csv_create,
    .write = csv_write,
    .destroy = csv_destroy,
    .flush = csv_flush,
};

EVT_SINK_EXPORT const struct evt_sink_vtable *
evt_sink_entry_v1(const struct evt_host_api *api)
{
    (void)api; /* cheap, no side effects: called for every listing */
    return &vtable;
}
