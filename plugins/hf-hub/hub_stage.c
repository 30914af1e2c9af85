/* hub_stage.c -- a run's events staged on disk until they are pushed
 * (hub.h, docs/sinks/hf-hub.md section 4).
 *
 * <base>/runs/<run_id>/
 *   meta.json          {"run_id": …, "stamp": …}, written once
 *   events.log         one record per staged event: u32 LE length, u32 LE
 *                      CRC-32C of the payload, payload = the event's
 *                      msgpack map (a sample's reduced to what the results
 *                      need, plus where its line is)
 *   samples/<task>.jsonl  the sample lines, as the jsonl sink writes them
 *   results.json       rendered at push time
 *   pushed             the number of log records at the last push
 *
 * The log is the truth: a sample line is appended to its task file first
 * and its record written at the end of the batch; lines no record covers
 * (a crash between the two, or a failed commit) are cut off at the next
 * open or at once. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "evtrack/sdk/crc32c.h"
#include "evtrack/sdk/event_view.h"
#include "evtrack/sdk/files.h"
#include "hub.h"
#include "jwrite.h"

#define TASK_MAX 200     /* bytes of a task name in a file name (as jsonl) */
#define OPEN_MAX 32      /* task files kept open */
#define REC_MAX (1u << 30)

static int sys_fail(char *err, size_t errlen, const char *path,
                    const char *step)
{
    snprintf(err, errlen, "%s: %s: %s", path, step, strerror(errno));
    return -1;
}

static int oom(char *err, size_t errlen)
{
    snprintf(err, errlen, "out of memory");
    return -1;
}

/* ---- seq intervals -------------------------------------------------- */

int hub_stage_has(const struct hub_run *r, uint64_t seq)
{
    size_t lo = 0, hi = r->niv;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (seq < r->iv[mid].lo)
            hi = mid;
        else if (seq > r->iv[mid].hi)
            lo = mid + 1;
        else
            return 1;
    }
    return 0;
}

static int iv_add(struct hub_run *r, uint64_t seq)
{
    if (hub_stage_has(r, seq))
        return 0;
    if (r->niv && r->iv[r->niv - 1].hi + 1 == seq) { /* the usual case */
        r->iv[r->niv - 1].hi = seq;
        return 0;
    }
    if (r->niv == r->civ) {
        size_t c = r->civ ? 2 * r->civ : 8;
        struct hub_iv *p = realloc(r->iv, c * sizeof *p);
        if (!p)
            return -1;
        r->iv = p;
        r->civ = c;
    }
    size_t i = r->niv;
    while (i > 0 && r->iv[i - 1].lo > seq)
        i--;
    memmove(r->iv + i + 1, r->iv + i, (r->niv - i) * sizeof *r->iv);
    r->iv[i].lo = r->iv[i].hi = seq;
    r->niv++;
    /* merge with the neighbours */
    if (i + 1 < r->niv && r->iv[i].hi + 1 == r->iv[i + 1].lo) {
        r->iv[i].hi = r->iv[i + 1].hi;
        memmove(r->iv + i + 1, r->iv + i + 2,
                (r->niv - i - 2) * sizeof *r->iv);
        r->niv--;
    }
    if (i > 0 && r->iv[i - 1].hi + 1 == r->iv[i].lo) {
        r->iv[i - 1].hi = r->iv[i].hi;
        memmove(r->iv + i, r->iv + i + 1, (r->niv - i - 1) * sizeof *r->iv);
        r->niv--;
    }
    return 0;
}

/* ---- task files ----------------------------------------------------- */

static struct hub_task *task_find(struct hub_run *r, const char *name)
{
    for (size_t i = 0; i < r->ntasks; i++)
        if (strcmp(r->tasks[i].name, name) == 0)
            return &r->tasks[i];
    return NULL;
}

/* The task named name (a safe component), added when new. */
static struct hub_task *task_get(struct hub_run *r, const char *name)
{
    struct hub_task *t = task_find(r, name);
    if (t)
        return t;
    if (r->ntasks == r->ctasks) {
        size_t c = r->ctasks ? 2 * r->ctasks : 8;
        struct hub_task *p = realloc(r->tasks, c * sizeof *p);
        if (!p)
            return NULL;
        r->tasks = p;
        r->ctasks = c;
    }
    t = &r->tasks[r->ntasks];
    memset(t, 0, sizeof *t);
    t->fd = -1;
    t->name = strdup(name);
    size_t n = strlen(r->dir) + strlen(name) + 32;
    if (!t->name || !(t->path = malloc(n))) {
        free(t->name);
        return NULL;
    }
    snprintf(t->path, n, "%s/samples/%s.jsonl", r->dir, name);
    r->ntasks++;
    return t;
}

static void task_close(struct hub_task *t)
{
    if (t->fd >= 0)
        close(t->fd);
    t->fd = -1;
}

static int task_sync(struct hub_task *t, char *err, size_t errlen)
{
    if (!t->dirty)
        return 0;
    int fd = t->fd >= 0 ? t->fd : open(t->path, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) != 0) {
        sys_fail(err, errlen, t->path, "fsync");
        if (fd >= 0 && fd != t->fd)
            close(fd);
        return -1;
    }
    if (fd != t->fd)
        close(fd);
    t->dirty = 0;
    return 0;
}

/* Keep at most OPEN_MAX descriptors: close the others than keep. */
static void task_limit_open(struct hub_run *r, const struct hub_task *keep)
{
    size_t open_n = 0;
    for (size_t i = 0; i < r->ntasks; i++)
        open_n += r->tasks[i].fd >= 0;
    for (size_t i = 0; i < r->ntasks && open_n >= OPEN_MAX; i++)
        if (&r->tasks[i] != keep && r->tasks[i].fd >= 0) {
            task_close(&r->tasks[i]);
            open_n--;
        }
}

static int task_open(struct hub_run *r, struct hub_task *t, char *err,
                     size_t errlen)
{
    if (t->fd >= 0)
        return 0;
    task_limit_open(r, t);
    t->fd = open(t->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (t->fd < 0)
        return sys_fail(err, errlen, t->path, "open");
    return 0;
}

/* Cut the file at path to len bytes when it is longer. */
static int cut_to(const char *path, uint64_t len, char *err, size_t errlen)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return errno == ENOENT ? 0 : sys_fail(err, errlen, path, "stat");
    if ((uint64_t)st.st_size > len && truncate(path, (off_t)len) != 0)
        return sys_fail(err, errlen, path, "truncate");
    return 0;
}

/* ---- the log -------------------------------------------------------- */

static void put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static int log_append(struct hub_run *r, const void *payload, size_t len,
                      uint64_t seq)
{
    unsigned char head[8];
    if (len > REC_MAX)
        return -1;
    if (r->npseq == r->cpseq) {
        size_t c = r->cpseq ? 2 * r->cpseq : 64;
        uint64_t *p = realloc(r->pseq, c * sizeof *p);
        if (!p)
            return -1;
        r->pseq = p;
        r->cpseq = c;
    }
    put_u32(head, (uint32_t)len);
    put_u32(head + 4, evt_crc32c(0, payload, len));
    evt_buf_put(&r->pend, head, 8);
    evt_buf_put(&r->pend, payload, len);
    if (r->pend.oom)
        return -1;
    r->pseq[r->npseq++] = seq;
    return 0;
}

/* Pack o with every secret of k in its strings (values and keys)
 * replaced; tmp is scratch. 0, or -1 on OOM. */
static int pack_scrubbed(msgpack_packer *pk, const msgpack_object *o,
                         const struct jl_secrets *k, struct evt_buf *tmp)
{
    uint32_t n;
    switch (o->type) {
    case MSGPACK_OBJECT_STR:
        if (!jl_secrets_in(k, o->via.str.ptr, o->via.str.size))
            break;
        tmp->len = 0;
        jl_secrets_scrub(k, o->via.str.ptr, o->via.str.size, tmp);
        return tmp->oom || msgpack_pack_str_with_body(pk, tmp->data,
                                                      tmp->len) != 0
                   ? -1 : 0;
    case MSGPACK_OBJECT_ARRAY:
        n = o->via.array.size;
        if (msgpack_pack_array(pk, n) != 0)
            return -1;
        for (uint32_t i = 0; i < n; i++)
            if (pack_scrubbed(pk, &o->via.array.ptr[i], k, tmp) != 0)
                return -1;
        return 0;
    case MSGPACK_OBJECT_MAP:
        n = o->via.map.size;
        if (msgpack_pack_map(pk, n) != 0)
            return -1;
        for (uint32_t i = 0; i < n; i++)
            if (pack_scrubbed(pk, &o->via.map.ptr[i].key, k, tmp) != 0 ||
                pack_scrubbed(pk, &o->via.map.ptr[i].val, k, tmp) != 0)
                return -1;
        return 0;
    default:
        break;
    }
    return msgpack_pack_object(pk, *o) != 0 ? -1 : 0;
}

/* Pack o, scrubbed when k is not NULL. */
static int pack_obj(msgpack_packer *pk, const msgpack_object *o,
                    const struct jl_secrets *k, struct evt_buf *tmp)
{
    return k ? pack_scrubbed(pk, o, k, tmp)
             : (msgpack_pack_object(pk, *o) != 0 ? -1 : 0);
}

/* The fields of a sample the results need (sdk results.c: doc hash,
 * filter count, lm-eval hashes), the doc only when it has no doc_hash. */
static const char *const keep_fields[] = {
    "kind", "run_id", "seq", "time_ns", "task", "doc_id", "filter",
    "doc_hash", "prompt_hash", "target_hash", NULL};

static int kept(const msgpack_object_kv *kv, int has_hash)
{
    const msgpack_object *k = &kv->key;
    if (k->type != MSGPACK_OBJECT_STR)
        return 0;
    for (int i = 0; keep_fields[i]; i++)
        if (evt_mp_str_eq(k, keep_fields[i]))
            return 1;
    return !has_hash && evt_mp_str_eq(k, "doc");
}

static void pack_str(msgpack_packer *pk, const char *s)
{
    size_t n = strlen(s);
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

/* The reduced sample map, plus "_hub_task", "_hub_off", "_hub_len" when
 * task is not NULL; strings scrubbed of the secrets of k (may be NULL). */
static int reduced_map(msgpack_sbuffer *sb, const msgpack_object *ev,
                       const struct hub_task *task, uint64_t off,
                       uint64_t len, const struct jl_secrets *k,
                       struct evt_buf *tmp)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    int has_hash = evt_mp_get(ev, "doc_hash") != NULL;
    uint32_t n = 0;
    for (uint32_t i = 0; i < ev->via.map.size; i++)
        n += (uint32_t)kept(&ev->via.map.ptr[i], has_hash);
    if (msgpack_pack_map(&pk, n + (task ? 3 : 0)) != 0)
        return -1;
    for (uint32_t i = 0; i < ev->via.map.size; i++) {
        const msgpack_object_kv *kv = &ev->via.map.ptr[i];
        if (kept(kv, has_hash) && (pack_obj(&pk, &kv->key, k, tmp) != 0 ||
                                   pack_obj(&pk, &kv->val, k, tmp) != 0))
            return -1;
    }
    if (!task)
        return 0;
    pack_str(&pk, "_hub_task");
    pack_str(&pk, task->name);
    pack_str(&pk, "_hub_off");
    msgpack_pack_uint64(&pk, off);
    pack_str(&pk, "_hub_len");
    msgpack_pack_uint64(&pk, len);
    return 0;
}

static int reduced_sample(msgpack_sbuffer *sb, const msgpack_object *ev,
                          const struct hub_task *task, uint64_t off,
                          uint64_t len, const struct jl_secrets *k)
{
    struct evt_buf tmp;
    evt_buf_init(&tmp);
    int rc = reduced_map(sb, ev, task, off, len, k, &tmp);
    evt_buf_free(&tmp);
    return rc;
}

/* ---- staging events ------------------------------------------------- */

/* Append the sample's line (made from its bytes raw, as the jsonl sink
 * makes it) to its task file; *t is set on success. */
static int sample_line(struct hub_run *r, struct jl_rec *rec,
                       const void *raw, size_t rawlen, struct hub_task **t,
                       struct evt_buf *line, char *err, size_t errlen,
                       char *warn, size_t warnlen)
{
    const char *tp;
    size_t tn;
    int no_mem = 0;
    *t = NULL;
    if (jl_rec_scan(rec, raw, rawlen, &no_mem) != 0) {
        if (no_mem)
            return oom(err, errlen);
        snprintf(err, errlen, "its bytes are not one msgpack map");
        return 1;
    }
    int has = jl_rec_task_name(rec, &tp, &tn); /* secrets replaced */
    if (has < 0)
        return oom(err, errlen);
    if (has == 0) {
        snprintf(err, errlen, "no \"task\" string");
        return 1;
    }
    int rc = jl_rec_line(rec, line, err, errlen, warn, warnlen);
    if (rc == JL_REC_SKIP)
        return 1;
    char *name = rc == JL_REC_OK ? evt_safe_component(tp, tn, TASK_MAX)
                                 : NULL;
    *t = name ? task_get(r, name) : NULL;
    free(name);
    if (!*t)
        return oom(err, errlen);
    if (task_open(r, *t, err, errlen) != 0)
        return -1;
    if (evt_write_all((*t)->fd, line->data, line->len) != 0) {
        sys_fail(err, errlen, (*t)->path, "write");
        if (ftruncate((*t)->fd, (off_t)(*t)->size) != 0)
            task_close(*t);
        return -1;
    }
    (*t)->dirty = 1;
    return 0;
}

static int stage_sample(struct hub_run *r, struct jl_rec *rec, uint64_t seq,
                        const msgpack_object *ev, const void *raw,
                        size_t rawlen, char *err, size_t errlen, char *warn,
                        size_t warnlen)
{
    struct evt_buf line;
    struct hub_task *t;
    evt_buf_init(&line);
    int rc = sample_line(r, rec, raw, rawlen, &t, &line, err, errlen, warn,
                         warnlen);
    if (rc < 0) {
        evt_buf_free(&line);
        return -1;
    }
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    uint64_t off = t ? t->size : 0;
    const struct jl_secrets *k =
        jl_secrets_in(r->sec, raw, rawlen) ? r->sec : NULL;
    int bad = reduced_sample(&sb, ev, t, off, line.len, k) != 0 ||
              log_append(r, sb.data, sb.size, seq) != 0;
    if (!bad && t)
        t->size += line.len;
    else if (bad && t && ftruncate(t->fd, (off_t)t->size) != 0)
        task_close(t);
    msgpack_sbuffer_destroy(&sb);
    evt_buf_free(&line);
    if (bad)
        return oom(err, errlen);
    return rc;
}

/* Stage ev (not a sample) with the secrets in its strings replaced. 0, or
 * -1 on OOM. */
static int stage_scrubbed(struct hub_run *r, uint64_t seq,
                          const msgpack_object *ev)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    struct evt_buf tmp;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    evt_buf_init(&tmp);
    int bad = pack_scrubbed(&pk, ev, r->sec, &tmp) != 0 ||
              log_append(r, sb.data, sb.size, seq) != 0;
    msgpack_sbuffer_destroy(&sb);
    evt_buf_free(&tmp);
    return bad ? -1 : 0;
}

int hub_stage_event(struct hub_run *r, struct jl_rec *rec, uint32_t kind,
                    uint64_t seq, const msgpack_object *ev, const void *raw,
                    size_t rawlen, char *err, size_t errlen, char *warn,
                    size_t warnlen)
{
    if (warn && warnlen)
        warn[0] = '\0';
    if (kind == EVT_EV_SAMPLE)
        return stage_sample(r, rec, seq, ev, raw, rawlen, err, errlen, warn,
                            warnlen);
    int bad = jl_secrets_in(r->sec, raw, rawlen)
                  ? stage_scrubbed(r, seq, ev)
                  : log_append(r, raw, rawlen, seq);
    if (bad)
        return oom(err, errlen);
    r->pend_end |= kind == EVT_EV_RUN_END;
    r->pend_start |= kind == EVT_EV_RUN_START;
    return 0;
}

/* Forget the buffered records and cut the lines they covered. */
static void rollback(struct hub_run *r)
{
    char e[256];
    for (size_t i = 0; i < r->ntasks; i++) {
        struct hub_task *t = &r->tasks[i];
        if (t->size != t->committed) {
            task_close(t);
            t->size = t->committed;
            cut_to(t->path, t->committed, e, sizeof e);
        }
    }
    r->pend.len = 0;
    r->npseq = 0;
    r->pend_end = r->pend_start = 0;
}

int hub_stage_commit(struct hub_run *r, char *err, size_t errlen)
{
    if (r->npseq == 0 && r->pend.len == 0)
        return 0;
    if (evt_write_all(r->log_fd, r->pend.data, r->pend.len) != 0) {
        sys_fail(err, errlen, r->dir, "write events.log");
        if (ftruncate(r->log_fd, (off_t)r->log_size) != 0)
            snprintf(err, errlen, "%s: events.log: cannot cut a partial "
                     "record: %s", r->dir, strerror(errno));
        rollback(r);
        return -1;
    }
    for (size_t i = 0; i < r->npseq; i++)
        if (iv_add(r, r->pseq[i]) != 0) {
            rollback(r); /* the records stay; the next open reads them */
            return oom(err, errlen);
        }
    r->log_size += r->pend.len;
    r->nrec += r->npseq;
    r->ended |= r->pend_end;
    r->started |= r->pend_start;
    r->log_dirty = 1;
    for (size_t i = 0; i < r->ntasks; i++)
        r->tasks[i].committed = r->tasks[i].size;
    r->pend.len = 0;
    r->npseq = 0;
    r->pend_end = r->pend_start = 0;
    return 0;
}

int hub_stage_sync(struct hub_run *r, char *err, size_t errlen)
{
    for (size_t i = 0; i < r->ntasks; i++)
        if (task_sync(&r->tasks[i], err, errlen) != 0)
            return -1;
    if (r->log_dirty && fdatasync(r->log_fd) != 0)
        return sys_fail(err, errlen, r->dir, "fsync events.log");
    r->log_dirty = 0;
    return 0;
}

/* ---- reading the log ------------------------------------------------ */

struct rec {
    uint64_t seq, off;
};

/* The records' (seq, offset) in [map, map+len): count, or -1 on OOM;
 * *ordered is 1 when the seqs increase. *good gets the bytes of whole,
 * valid records (a torn or corrupt tail ends the scan). */
static long scan(const unsigned char *map, uint64_t len, struct rec **out,
                 int want, int *ordered, uint64_t *good)
{
    size_t n = 0, cap = 0;
    uint64_t off = 0, last = 0;
    *ordered = 1;
    *out = NULL;
    while (len - off >= 8) {
        uint32_t rl = get_u32(map + off);
        if (rl > len - off - 8 ||
            evt_crc32c(0, map + off + 8, rl) != get_u32(map + off + 4))
            break;
        struct evt_view v;
        int64_t seq = 0;
        if (evt_view_open_bytes(&v, map + off + 8, rl) != 0)
            break;
        evt_mp_int64(evt_mp_get(&v.root, "seq"), &seq);
        evt_view_close(&v);
        if (want && n == cap) {
            cap = cap ? 2 * cap : 256;
            struct rec *p = realloc(*out, cap * sizeof *p);
            if (!p)
                return -1;
            *out = p;
        }
        if (want)
            (*out)[n] = (struct rec){(uint64_t)seq, off};
        *ordered &= n == 0 || (uint64_t)seq > last;
        last = (uint64_t)seq;
        n++;
        off += 8 + (uint64_t)rl;
    }
    *good = off;
    return (long)n;
}

static int rec_cmp(const void *a, const void *b)
{
    const struct rec *x = a, *y = b;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

struct map {
    void *p;
    size_t len;
};

static int map_log(const struct hub_run *r, uint64_t len, struct map *m,
                   char *err, size_t errlen)
{
    m->p = NULL;
    m->len = (size_t)len;
    if (len == 0)
        return 0;
    m->p = mmap(NULL, m->len, PROT_READ, MAP_PRIVATE, r->log_fd, 0);
    if (m->p == MAP_FAILED) {
        m->p = NULL;
        return sys_fail(err, errlen, r->dir, "mmap events.log");
    }
    return 0;
}

static void unmap(struct map *m)
{
    if (m->p)
        munmap(m->p, m->len);
}

static int feed(const unsigned char *base, uint64_t off,
                int (*fn)(void *, const msgpack_object *), void *ud)
{
    struct evt_view v;
    uint32_t rl = get_u32(base + off);
    if (evt_view_open_bytes(&v, base + off + 8, rl) != 0)
        return -1;
    int rc = fn(ud, &v.root);
    evt_view_close(&v);
    return rc;
}

int hub_stage_each(const struct hub_run *r,
                   int (*fn)(void *ud, const msgpack_object *ev), void *ud,
                   char *err, size_t errlen)
{
    struct map m;
    struct rec *recs = NULL;
    int ordered, rc = 0;
    uint64_t good;
    if (map_log(r, r->log_size, &m, err, errlen) != 0)
        return -1;
    long n = scan(m.p, r->log_size, &recs, 1, &ordered, &good);
    if (n < 0)
        rc = oom(err, errlen);
    if (n > 0 && !ordered)
        qsort(recs, (size_t)n, sizeof *recs, rec_cmp);
    for (long i = 0; rc == 0 && i < n; i++)
        if (feed(m.p, recs[i].off, fn, ud) != 0) {
            snprintf(err, errlen, "%s: events.log: a record was refused",
                     r->dir);
            rc = -1;
        }
    free(recs);
    unmap(&m);
    return rc;
}

/* ---- open: recovery ------------------------------------------------- */

/* Take one record of the log at open: its seq, its line's end, run_end. */
static int load_rec(struct hub_run *r, const unsigned char *p, uint32_t len)
{
    struct evt_view v;
    int64_t seq = 0, off = 0, ln = 0;
    if (evt_view_open_bytes(&v, p, len) != 0)
        return -1;
    evt_mp_int64(evt_mp_get(&v.root, "seq"), &seq);
    const msgpack_object *task = evt_mp_get(&v.root, "_hub_task");
    char *name = task ? evt_mp_strdup(task) : NULL;
    struct hub_task *t = name ? task_get(r, name) : NULL;
    int rc = (task && !t) || iv_add(r, (uint64_t)seq) != 0 ? -1 : 0;
    if (t && evt_mp_int64(evt_mp_get(&v.root, "_hub_off"), &off) == 0 &&
        evt_mp_int64(evt_mp_get(&v.root, "_hub_len"), &ln) == 0 &&
        (uint64_t)(off + ln) > t->committed)
        t->committed = t->size = (uint64_t)(off + ln);
    if (evt_mp_str_eq(evt_mp_get(&v.root, "kind"), "run_end"))
        r->ended = 1;
    if (evt_mp_str_eq(evt_mp_get(&v.root, "kind"), "run_start"))
        r->started = 1;
    free(name);
    evt_view_close(&v);
    r->nrec++;
    return rc;
}

static int load_log(struct hub_run *r, char *err, size_t errlen)
{
    struct stat st;
    struct map m;
    struct rec *none;
    int ordered;
    uint64_t good, off = 0;
    if (fstat(r->log_fd, &st) != 0)
        return sys_fail(err, errlen, r->dir, "stat events.log");
    if (map_log(r, (uint64_t)st.st_size, &m, err, errlen) != 0)
        return -1;
    scan(m.p, (uint64_t)st.st_size, &none, 0, &ordered, &good);
    while (off < good) {
        uint32_t rl = get_u32((unsigned char *)m.p + off);
        if (load_rec(r, (unsigned char *)m.p + off + 8, rl) != 0) {
            unmap(&m);
            return oom(err, errlen);
        }
        off += 8 + (uint64_t)rl;
    }
    unmap(&m);
    r->log_size = good;
    if (good < (uint64_t)st.st_size && ftruncate(r->log_fd, (off_t)good))
        return sys_fail(err, errlen, r->dir, "truncate events.log");
    return 0;
}

/* Cut every samples/ file to the lines the log covers (a file no record
 * names is emptied). */
static int cut_samples(struct hub_run *r, char *err, size_t errlen)
{
    size_t n = strlen(r->dir) + 16;
    char *sd = malloc(n);
    if (!sd)
        return oom(err, errlen);
    snprintf(sd, n, "%s/samples", r->dir);
    DIR *d = opendir(sd);
    struct dirent *de;
    int rc = 0;
    while (rc == 0 && d && (de = readdir(d))) {
        size_t l = strlen(de->d_name);
        if (l < 7 || strcmp(de->d_name + l - 6, ".jsonl") != 0)
            continue;
        char *name = strndup(de->d_name, l - 6);
        struct hub_task *t = name ? task_find(r, name) : NULL;
        char *path = name ? evt_path_join(sd, de->d_name) : NULL;
        rc = path ? cut_to(path, t ? t->committed : 0, err, errlen)
                  : oom(err, errlen);
        free(name);
        free(path);
    }
    if (d)
        closedir(d);
    free(sd);
    return rc;
}

/* ---- open: meta and marker ------------------------------------------ */

static char *read_small(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    char *buf = malloc(4096);
    ssize_t n = buf ? read(fd, buf, 4095) : -1;
    close(fd);
    if (n < 0) {
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    return buf;
}

/* meta.json: written when new (with stamp), else its stamp is read. */
static int load_meta(struct hub_run *r, const char *stamp, char *err,
                     size_t errlen)
{
    char *path = evt_path_join(r->dir, "meta.json");
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "run_id", r->run_id);
    cJSON_AddStringToObject(j, "stamp", stamp);
    char *text = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    int rc = path && text ? evt_create_file_new(path, text, strlen(text),
                                                err, errlen)
                          : oom(err, errlen);
    free(text);
    if (rc == 1) { /* an existing staging keeps its stamp */
        char *old = read_small(path);
        cJSON *m = old ? cJSON_Parse(old) : NULL;
        const cJSON *s = cJSON_GetObjectItemCaseSensitive(m, "stamp");
        if (cJSON_IsString(s))
            stamp = s->valuestring;
        r->stamp = strdup(stamp);
        cJSON_Delete(m);
        free(old);
    } else if (rc == 0) {
        r->stamp = strdup(stamp);
    }
    free(path);
    if (rc >= 0 && !r->stamp)
        rc = oom(err, errlen);
    return rc < 0 ? -1 : 0;
}

static void load_pushed(struct hub_run *r)
{
    char *path = evt_path_join(r->dir, "pushed");
    char *text = path ? read_small(path) : NULL;
    char *end = NULL;
    r->pushed = UINT64_MAX;
    if (text) {
        unsigned long long v = strtoull(text, &end, 10);
        if (end != text)
            r->pushed = v;
    }
    free(text);
    free(path);
}

int hub_stage_mark_pushed(struct hub_run *r, char *err, size_t errlen)
{
    char text[32];
    char *path = evt_path_join(r->dir, "pushed");
    int n = snprintf(text, sizeof text, "%llu\n",
                     (unsigned long long)r->nrec);
    if (!path)
        return oom(err, errlen);
    int rc = evt_write_file_atomic(path, text, (size_t)n, err, errlen);
    free(path);
    if (rc == 0)
        r->pushed = r->nrec;
    return rc;
}

int hub_stage_dirty(const struct hub_run *r)
{
    return r->nrec > 0 && r->pushed != r->nrec;
}

/* ---- open / close --------------------------------------------------- */

static int make_dirs(struct hub_run *r, const char *base, char *err,
                     size_t errlen)
{
    char *id = evt_safe_component(r->run_id, strlen(r->run_id), 128);
    size_t n = strlen(base) + (id ? strlen(id) : 0) + 32;
    char *sd = id ? malloc(n) : NULL;
    r->dir = id ? malloc(n) : NULL;
    if (!sd || !r->dir) {
        free(id);
        free(sd);
        return oom(err, errlen);
    }
    snprintf(r->dir, n, "%s/runs/%s", base, id);
    snprintf(sd, n, "%s/runs/%s/samples", base, id);
    int rc = evt_mkdirs(sd, err, errlen);
    free(id);
    free(sd);
    return rc;
}

static int open_log(struct hub_run *r, char *err, size_t errlen)
{
    char *path = evt_path_join(r->dir, "events.log");
    if (!path)
        return oom(err, errlen);
    r->log_fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    int rc = r->log_fd < 0 ? sys_fail(err, errlen, path, "open") : 0;
    free(path);
    return rc;
}

int hub_stage_open(struct hub_run **out, const char *base,
                   const char *run_id, const char *stamp, char *err,
                   size_t errlen)
{
    struct hub_run *r = calloc(1, sizeof *r);
    *out = NULL;
    if (!r || !(r->run_id = strdup(run_id))) {
        free(r);
        return oom(err, errlen);
    }
    r->log_fd = -1;
    evt_buf_init(&r->pend);
    if (make_dirs(r, base, err, errlen) != 0 ||
        load_meta(r, stamp, err, errlen) != 0 ||
        open_log(r, err, errlen) != 0 || load_log(r, err, errlen) != 0 ||
        cut_samples(r, err, errlen) != 0) {
        hub_stage_close(r);
        return -1;
    }
    load_pushed(r);
    *out = r;
    return 0;
}

void hub_stage_close(struct hub_run *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->ntasks; i++) {
        task_close(&r->tasks[i]);
        free(r->tasks[i].name);
        free(r->tasks[i].path);
    }
    if (r->log_fd >= 0)
        close(r->log_fd);
    free(r->tasks);
    free(r->iv);
    free(r->pseq);
    evt_buf_free(&r->pend);
    free(r->run_id);
    free(r->dir);
    free(r->stamp);
    free(r);
}
