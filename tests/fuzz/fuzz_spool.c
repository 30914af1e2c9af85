/* fuzz_spool.c -- spool recovery: a state folder whose spool file (and
 * cursor file) hold the fuzz input.
 *  1. evt__spool_open (core/spool.c) recovers the file; every pending
 *     record is then read back, some are acknowledged, one is appended,
 *     and a second open must find exactly the expected records, nothing
 *     torn, the appended one last.
 *  2. The same bytes as a sink's dead letters: evt_replay_scan
 *     (core/replay.c) visits them as `evtrack replay --dry-run` does.
 *  3. The same bytes as the spill spool of two real sinks (jsonl and
 *     local-json, overflow "spill"): evt_open_json recovers them and
 *     delivers their records as events (core/worker.c), then evt_close.
 * Input: byte 0 holds flags, then 12 bytes of cursor file when flag 1 is
 * set, then the spool file.
 *   flag 1: write the cursor file; flag 2: give it a valid CRC;
 *   flag 4..16: records to acknowledge in step 1 (0..7);
 *   flag 32: fix the CRC of every frame whose magic and length fit, so
 *            that records are valid and their payloads get decoded;
 *   flag 64: skip step 3 (the tracker), which is the slow one. */
#include "fuzz_util.h"

#include "evtrack/evtrack.h"
#include "evtrack/sdk/crc32c.h"
#include "replay.h"
#include "spool.h"

#define FRAME_MAGIC 0x31525645u

static char root[64], spool_path[160], cfg_path[160];
static char state_dir[128], out_dir[128];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    setenv("EVTRACK_LOG", "quiet", 0); /* EVTRACK_LOG=debug to see */
    /* tmpfs when there is one: the spool fsyncs its cursor. */
    snprintf(root, sizeof root, "/dev/shm/evt-fuzz-spool-%ld",
             (long)getpid());
    if (mkdir(root, 0700) == 0) {
        snprintf(fz_tmp, sizeof fz_tmp, "%s", root); /* removed at exit */
        atexit(fz_tmp_cleanup);
    } else {
        snprintf(root, sizeof root, "%s", fz_tmpdir());
    }
    snprintf(spool_path, sizeof spool_path, "%s/one/x.spool", root);
    snprintf(state_dir, sizeof state_dir, "%s/state", root);
    snprintf(out_dir, sizeof out_dir, "%s/out", root);
    snprintf(cfg_path, sizeof cfg_path, "%s/evtrack.json", root);
    char cfg[1024];
    snprintf(cfg, sizeof cfg,
             "{\"output_dir\": \"%s\", \"state_dir\": \"%s\", "
             "\"run_id\": \"fuzz\", \"sinks\": ["
             "{\"plugin\": \"jsonl\", \"name\": \"jl\", "
             "\"queue\": {\"overflow\": \"spill\"}, "
             "\"config\": {\"fsync\": \"none\"}},"
             "{\"plugin\": \"local-json\", \"name\": \"lj\", "
             "\"queue\": {\"overflow\": \"spill\"}},"
             "{\"plugin\": \"markdown-table\", \"name\": \"dl\", "
             "\"enabled\": false}]}",
             out_dir, state_dir);
    fz_write_file(cfg_path, cfg, strlen(cfg));
    return 0;
}

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static void put_le32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t masked(const void *p, size_t n)
{
    return evt_crc32c_mask(evt_crc32c(0, p, n));
}

/* Give each frame that fits a valid CRC (flag 32). */
static void fix_frames(unsigned char *f, size_t n)
{
    size_t off = 8;
    while (off + 12 <= n && le32(f + off) == FRAME_MAGIC) {
        uint32_t len = le32(f + off + 4);
        if (len > n - off - 12)
            break;
        put_le32(f + off + 8, masked(f + off + 12, len));
        off += 12 + (size_t)len;
    }
}

/* Write the spool file (and cursor file) at path. */
static void lay_out(const char *path, const unsigned char *file, size_t n,
                    const unsigned char *cur, int flags)
{
    char p[300];
    snprintf(p, sizeof p, "%s.cur", path);
    unlink(p);
    fz_write_file(path, file, n);
    if (flags & 1) {
        unsigned char c[12];
        memcpy(c, cur, 12);
        if (flags & 2)
            put_le32(c + 8, masked(c, 8));
        fz_write_file(p, c, 12);
    }
}

static void mkdir_p(const char *a, const char *b)
{
    char p[256];
    snprintf(p, sizeof p, "%s%s", a, b);
    mkdir(p, 0700);
}

/* Step 1: recovery, reads, ack, append, reopen. */
static void spool_direct(const unsigned char *file, size_t n,
                         const unsigned char *cur, int flags)
{
    mkdir_p(root, "/one");
    lay_out(spool_path, file, n, cur, flags);
    struct evt__spool *s;
    struct evt__spool_recovery rec;
    char err[512];
    if (evt__spool_open(spool_path, EVT_SPOOL_SYNC_NONE, &s, &rec, err,
                        sizeof err) != EVT_OK) {
        FZ_CHECK(strncmp(err, spool_path, strlen(spool_path)) == 0);
        return;
    }
    FZ_CHECK(rec.pending <= rec.records);
    FZ_CHECK(evt__spool_pending(s) == rec.pending);
    struct stat st;
    FZ_CHECK(stat(spool_path, &st) == 0);
    FZ_CHECK((uint64_t)st.st_size == evt__spool_size(s));
    uint64_t pending = rec.pending, k = (uint64_t)((flags >> 2) & 7), got = 0;
    const void *p;
    size_t len;
    int r;
    while ((r = evt__spool_next(s, &p, &len)) == 1) {
        got++;
        if (got == k)
            FZ_CHECK(evt__spool_ack(s) == EVT_OK);
    }
    FZ_CHECK(r == 0 && got == pending);
    uint64_t acked = k < pending ? k : pending;
    if (k >= pending) /* everything read: ack it all */
        FZ_CHECK(evt__spool_ack(s) == EVT_OK);
    evt__spool_rewind(s);
    FZ_CHECK(evt__spool_pending(s) == pending - acked);
    static const char mark[] = "appended record";
    FZ_CHECK(evt__spool_append(s, mark, sizeof mark, err, sizeof err) ==
             EVT_OK);
    evt__spool_close(s);

    FZ_CHECK(evt__spool_open(spool_path, EVT_SPOOL_SYNC_NONE, &s, &rec, err,
                             sizeof err) == EVT_OK);
    FZ_CHECK(rec.truncated_bytes == 0);
    FZ_CHECK(rec.pending == pending - acked + 1);
    uint64_t n2 = 0;
    while ((r = evt__spool_next(s, &p, &len)) == 1)
        n2++;
    FZ_CHECK(r == 0 && n2 == rec.pending);
    FZ_CHECK(len == sizeof mark && memcmp(p, mark, len) == 0);
    evt__spool_close(s);
}

static void on_visit(void *ud, const char *run_id, uint32_t kind,
                     uint64_t seq)
{
    (void)run_id;
    (void)kind;
    (void)seq;
    (*(uint64_t *)ud)++;
}

/* Step 2: the bytes as dead letters, visited. */
static void dead_letters(const unsigned char *file, size_t n,
                         const unsigned char *cur, int flags)
{
    char p[256], err[EVT_ERRMSG_SIZE];
    mkdir_p(state_dir, "");
    mkdir_p(state_dir, "/rejected");
    snprintf(p, sizeof p, "%s/rejected/dl.spool", state_dir);
    lay_out(p, file, n, cur, flags);
    uint64_t visited = 0;
    (void)evt_replay_scan(cfg_path, "dl", on_visit, &visited, err,
                          sizeof err);
}

/* Step 3: the bytes as two sinks' spill spools, recovered and delivered. */
static void tracker(const unsigned char *file, size_t n,
                    const unsigned char *cur, int flags)
{
    char p[256], err[EVT_ERRMSG_SIZE];
    mkdir_p(state_dir, "");
    mkdir_p(state_dir, "/spool");
    static const char *const names[] = {"jl", "lj"};
    for (int i = 0; i < 2; i++) {
        snprintf(p, sizeof p, "%s/spool/%s.spool", state_dir, names[i]);
        lay_out(p, file, n, cur, flags);
    }
    evt_tracker *t;
    if (evt_open_file(cfg_path, &t, err, sizeof err) != EVT_OK) {
        /* Only a file that is not a spool at all (bad header) is refused,
         * by design (docs/internals/SPOOL.md): it is left as it was. */
        FZ_CHECK(strstr(err, "not an evtrack spool") != NULL);
        return;
    }
    /* Records that are not events are dropped and logged, never handed
     * to the sinks, which would take them for a lack of memory and retry
     * them until the deadline. */
    FZ_CHECK(evt_close(t, 5000) == EVT_OK);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int flags = data[0];
    const unsigned char *cur = data + 1;
    size_t skip = 1 + ((flags & 1) ? 12 : 0);
    if (size < skip)
        return 0;
    size_t n = size - skip;
    unsigned char *file = malloc(n ? n : 1);
    FZ_CHECK(file != NULL);
    memcpy(file, data + skip, n);
    if (flags & 32)
        fix_frames(file, n);
    spool_direct(file, n, cur, flags);
    dead_letters(file, n, cur, flags);
    if (!(flags & 64))
        tracker(file, n, cur, flags);
    free(file);
    fz_rmtree(state_dir);
    fz_rmtree(out_dir);
    return 0;
}
