/* wb_offline.h -- the .wandb transaction log of an offline run, the file
 * `wandb sync` replays (shared/reference/protocols.md section 2.8):
 *
 *   <root>/offline-run-<YYYYMMDD_HHMMSS>-<run id>/run-<run id>.wandb
 *   <root>/offline-run-<YYYYMMDD_HHMMSS>-<run id>/files/...   run files
 *
 * File: the 7-byte header ":W&B" 0xBEE1 (LE) version 0, then records in
 * the LevelDB log format: 32 KiB blocks counted from file offset 0; each
 * chunk is u32 LE checksum, u16 LE length, u8 type (FULL 1, FIRST 2,
 * MIDDLE 3, LAST 4) and the payload; fewer than 7 bytes left in a block
 * are zero-filled. The checksum is plain CRC-32 (IEEE/zlib), unmasked,
 * over the type byte then the payload. Payloads are serialized
 * wandb_internal.Record messages (wb_proto.h).
 *
 * Not thread-safe (one writer per run, under the sink's lock). */
#ifndef WB_OFFLINE_H
#define WB_OFFLINE_H

#include <stddef.h>
#include <stdint.h>

#include "evtrack/sdk/json_write.h"

#define WB_LOG_BLOCK 32768
#define WB_LOG_CHUNK_HEADER 7
#define WB_LOG_FILE_HEADER 7

enum wb_chunk_type {
    WB_CHUNK_FULL = 1,
    WB_CHUNK_FIRST = 2,
    WB_CHUNK_MIDDLE = 3,
    WB_CHUNK_LAST = 4
};

/* The 7 header bytes: 3a 57 26 42 e1 be 00. */
extern const unsigned char wb_log_file_header[WB_LOG_FILE_HEADER];

/* CRC-32 (IEEE 802.3, reflected 0xEDB88320, zlib's crc32): pass 0 to
 * start; calls chain as zlib's do. wb_crc32(0, "123456789", 9) ==
 * 0xCBF43926. */
uint32_t wb_crc32(uint32_t crc, const void *p, size_t n);

/* Append the chunks of one record of n bytes to out, for a file in which
 * out's first byte lands at offset off (off >= 7: after the file header).
 * Returns the offset after the appended bytes. */
uint64_t wb_log_frame(struct evt_buf *out, uint64_t off, const void *rec,
                      size_t n);

struct wb_offline {
    int fd;         /* -1: not open */
    char *dir;      /* the run directory */
    char *path;     /* its .wandb file */
    uint64_t size;  /* bytes of complete records */
    int64_t num;    /* number of the next record (the header is 0) */
    struct evt_buf rec, frame; /* reused */
};

void wb_offline_init(struct wb_offline *w);

/* Create the run directory under root (made if missing) and its .wandb
 * file holding the file header and the header record. start_ns names the
 * folder (UTC); a taken name moves the stamp one second on. 0, or -1 with
 * "path: step: reason" in err. */
int wb_offline_open(struct wb_offline *w, const char *root,
                    const char *run_id, int64_t start_ns, char *err,
                    size_t errlen);

/* Frame the Record in rec (built with number w->num, see wb_proto.h) and
 * write it at the end of the file; w->num moves on. A failed write is cut
 * back, so the file never holds a torn record. 0, or -1 with err. */
int wb_offline_put(struct wb_offline *w, const struct evt_buf *rec,
                   char *err, size_t errlen);

/* Write data as files/<rel> of the run directory (folders made, replaced
 * atomically). rel uses '/'. 0, or -1 with err. */
int wb_offline_file(struct wb_offline *w, const char *rel, const void *data,
                    size_t n, char *err, size_t errlen);

/* fdatasync the .wandb file. 0, or -1 with err. */
int wb_offline_sync(struct wb_offline *w, char *err, size_t errlen);

/* Sync (best effort) and close; w can be opened again. */
void wb_offline_close(struct wb_offline *w);

#endif /* WB_OFFLINE_H */
