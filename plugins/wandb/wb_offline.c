/* wb_offline.c -- the .wandb writer: CRC-32, LevelDB-log framing, the run
 * directory and its files (wb_offline.h). */
#define _GNU_SOURCE /* O_CLOEXEC, fdatasync */
#include "wb_offline.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "evtrack/sdk/files.h"
#include "wb_proto.h"

const unsigned char wb_log_file_header[WB_LOG_FILE_HEADER] = {
    0x3a, 0x57, 0x26, 0x42, 0xe1, 0xbe, 0x00};

#define PRODUCER "evtrack 0.1.0"
#define MIN_CONSUMER "0.40.0"

/* ---- CRC-32 ------------------------------------------------------------ */

static uint32_t crc_table[256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
        crc_table[i] = c;
    }
}

uint32_t wb_crc32(uint32_t crc, const void *p, size_t n)
{
    pthread_once(&crc_once, crc_init);
    const unsigned char *b = p;
    crc = ~crc;
    for (size_t i = 0; i < n; i++)
        crc = crc_table[(crc ^ b[i]) & 0xff] ^ (crc >> 8);
    return ~crc;
}

/* ---- framing ----------------------------------------------------------- */

static void put_le(unsigned char *p, uint64_t v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void put_chunk(struct evt_buf *out, unsigned type, const void *p,
                      size_t n)
{
    unsigned char h[WB_LOG_CHUNK_HEADER], t = (unsigned char)type;
    uint32_t crc = wb_crc32(wb_crc32(0, &t, 1), p, n);
    put_le(h, crc, 4);
    put_le(h + 4, n, 2);
    h[6] = t;
    evt_buf_put(out, h, sizeof h);
    evt_buf_put(out, p, n);
}

uint64_t wb_log_frame(struct evt_buf *out, uint64_t off, const void *rec,
                      size_t n)
{
    static const unsigned char zeros[WB_LOG_CHUNK_HEADER];
    const unsigned char *p = rec;
    int begin = 1;
    do {
        size_t left = WB_LOG_BLOCK - (size_t)(off % WB_LOG_BLOCK);
        if (left < WB_LOG_CHUNK_HEADER) {
            evt_buf_put(out, zeros, left); /* trailer of the block */
            off += left;
            left = WB_LOG_BLOCK;
        }
        size_t avail = left - WB_LOG_CHUNK_HEADER;
        size_t take = n < avail ? n : avail;
        int end = take == n;
        unsigned type = begin && end ? WB_CHUNK_FULL
                        : begin      ? WB_CHUNK_FIRST
                        : end        ? WB_CHUNK_LAST
                                     : WB_CHUNK_MIDDLE;
        put_chunk(out, type, p, take);
        off += WB_LOG_CHUNK_HEADER + take;
        p += take;
        n -= take;
        begin = 0;
        if (end)
            break;
    } while (1);
    return off;
}

/* ---- the file ---------------------------------------------------------- */

void wb_offline_init(struct wb_offline *w)
{
    memset(w, 0, sizeof *w);
    w->fd = -1;
    evt_buf_init(&w->rec);
    evt_buf_init(&w->frame);
}

static int pwrite_all(int fd, const void *p, size_t n, off_t off)
{
    const char *c = p;
    while (n > 0) {
        ssize_t k = pwrite(fd, c, n, off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            if (k == 0)
                errno = EIO;
            return -1;
        }
        c += k;
        n -= (size_t)k;
        off += k;
    }
    return 0;
}

/* offline-run-<stamp>-<id> under root, created with mkdir (a taken name
 * moves the stamp on). Heap path, or NULL with err. */
static char *make_run_dir(const char *root, const char *run_id,
                          int64_t start_ns, char *err, size_t errlen)
{
    if (evt_mkdirs(root, err, errlen) != 0)
        return NULL;
    time_t t = (time_t)(start_ns / 1000000000);
    for (int i = 0; i < 100; i++, t++) {
        struct tm tm;
        char stamp[32], name[400];
        gmtime_r(&t, &tm);
        strftime(stamp, sizeof stamp, "%Y%m%d_%H%M%S", &tm);
        snprintf(name, sizeof name, "offline-run-%s-%s", stamp, run_id);
        char *dir = evt_path_join(root, name);
        if (!dir) {
            snprintf(err, errlen, "%s: out of memory", root);
            return NULL;
        }
        if (mkdir(dir, 0755) == 0)
            return dir;
        if (errno != EEXIST) {
            snprintf(err, errlen, "%s: mkdir: %s", dir, strerror(errno));
            free(dir);
            return NULL;
        }
        free(dir);
    }
    snprintf(err, errlen, "%s: no free offline-run folder name", root);
    return NULL;
}

static int open_file(struct wb_offline *w, const char *run_id, char *err,
                     size_t errlen)
{
    size_t n = strlen(run_id) + 16;
    char *name = malloc(n);
    if (name)
        snprintf(name, n, "run-%s.wandb", run_id);
    w->path = name ? evt_path_join(w->dir, name) : NULL;
    free(name);
    if (!w->path) {
        snprintf(err, errlen, "%s: out of memory", w->dir);
        return -1;
    }
    w->fd = open(w->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (w->fd < 0) {
        snprintf(err, errlen, "%s: open: %s", w->path, strerror(errno));
        return -1;
    }
    if (pwrite_all(w->fd, wb_log_file_header, WB_LOG_FILE_HEADER, 0) != 0) {
        snprintf(err, errlen, "%s: write: %s", w->path, strerror(errno));
        return -1;
    }
    w->size = WB_LOG_FILE_HEADER;
    return 0;
}

int wb_offline_open(struct wb_offline *w, const char *root,
                    const char *run_id, int64_t start_ns, char *err,
                    size_t errlen)
{
    wb_offline_close(w);
    w->dir = make_run_dir(root, run_id, start_ns, err, errlen);
    if (!w->dir || open_file(w, run_id, err, errlen) != 0) {
        wb_offline_close(w);
        return -1;
    }
    w->num = 0;
    w->rec.len = 0;
    wb_rec_header(&w->rec, w->num, PRODUCER, MIN_CONSUMER);
    if (wb_offline_put(w, &w->rec, err, errlen) != 0) {
        wb_offline_close(w);
        return -1;
    }
    return 0;
}

int wb_offline_put(struct wb_offline *w, const struct evt_buf *rec,
                   char *err, size_t errlen)
{
    if (w->fd < 0) {
        snprintf(err, errlen, "offline run file is not open");
        return -1;
    }
    w->frame.len = 0;
    uint64_t end = wb_log_frame(&w->frame, w->size, rec->data, rec->len);
    if (rec->oom || w->frame.oom) {
        w->frame.oom = 0;
        snprintf(err, errlen, "%s: out of memory", w->path);
        return -1;
    }
    if (pwrite_all(w->fd, w->frame.data, w->frame.len, (off_t)w->size) != 0) {
        snprintf(err, errlen, "%s: write: %s", w->path, strerror(errno));
        if (ftruncate(w->fd, (off_t)w->size) != 0) {
            close(w->fd); /* never append after a torn record */
            w->fd = -1;
        }
        return -1;
    }
    w->size = end;
    w->num++;
    return 0;
}

int wb_offline_file(struct wb_offline *w, const char *rel, const void *data,
                    size_t n, char *err, size_t errlen)
{
    char *files = evt_path_join(w->dir, "files");
    char *path = files ? evt_path_join(files, rel) : NULL;
    int rc = -1;
    if (!path) {
        snprintf(err, errlen, "%s: out of memory", w->dir);
    } else {
        char *slash = strrchr(path, '/');
        *slash = '\0';
        int ok = evt_mkdirs(path, err, errlen) == 0;
        *slash = '/';
        rc = ok ? evt_write_file_atomic(path, data, n, err, errlen) : -1;
    }
    free(files);
    free(path);
    return rc;
}

int wb_offline_sync(struct wb_offline *w, char *err, size_t errlen)
{
    if (w->fd >= 0 && fdatasync(w->fd) != 0) {
        snprintf(err, errlen, "%s: fdatasync: %s", w->path, strerror(errno));
        return -1;
    }
    return 0;
}

void wb_offline_close(struct wb_offline *w)
{
    if (w->fd >= 0) {
        (void)fdatasync(w->fd); /* best effort: closing anyway */
        close(w->fd);
    }
    w->fd = -1;
    free(w->dir);
    free(w->path);
    w->dir = w->path = NULL;
    w->size = 0;
    evt_buf_free(&w->rec);
    evt_buf_free(&w->frame);
}
