/* spool.h -- crash-safe append-only record file with a persisted read
 * cursor. Used for overflow spill, dead letters and replay.
 *
 * File format (docs/internals/SPOOL.md):
 *   file header  "EVTSPL1\n" (8 bytes)
 *   record       u32 magic 0x31525645 ("EVR1" little-endian)
 *                u32 payload length (little-endian)
 *                u32 masked CRC32C of the payload (little-endian)
 *                payload bytes
 * The cursor lives in "<path>.cur": u64 offset (little-endian) + u32
 * masked CRC32C of those 8 bytes, replaced atomically (write
 * "<path>.cur.tmp", fsync, rename). It is the offset of the first record
 * not yet delivered; there is no cursor file when that is offset 8.
 *
 * Recovery at open: records are scanned from the start; the first frame
 * with a bad magic, a length past the end of file or a CRC mismatch ends
 * the valid part, and the file is truncated there (a torn tail). A cursor
 * that is missing, corrupt, past the valid end or not on a record boundary
 * is dropped and reading starts at offset 8 (records may be delivered
 * twice, never lost). A cursor at the valid end means everything was
 * delivered: the file is reset to the 8-byte header.
 *
 * Not thread-safe: one owner at a time (the sink's worker); the file is
 * locked (flock) while open, so a second process is refused. */
#ifndef EVT_CORE_SPOOL_H
#define EVT_CORE_SPOOL_H

#include <stddef.h>
#include <stdint.h>

enum evt__spool_sync {
    EVT_SPOOL_SYNC_NONE = 0,  /* leave it to the kernel */
    EVT_SPOOL_SYNC_BATCH = 1, /* fdatasync on evt__spool_sync() */
    EVT_SPOOL_SYNC_ALWAYS = 2 /* fdatasync after every append */
};

struct evt__spool;

struct evt__spool_recovery {
    uint64_t records;         /* valid records in the file */
    uint64_t pending;         /* of them, after the cursor */
    uint64_t truncated_bytes; /* torn tail removed */
};

/* Open or create the spool at path (parent folders are created). Runs
 * recovery; fills *rec when rec is not NULL. Errors: negative evt_status
 * with a message naming the path in err. */
int evt__spool_open(const char *path, int sync_mode, struct evt__spool **out,
                    struct evt__spool_recovery *rec, char *err, size_t errlen);

/* Append one record. On error (e.g. ENOSPC) the file is left as it was
 * before the call (a partial frame is truncated away). */
int evt__spool_append(struct evt__spool *s, const void *payload, size_t len,
                      char *err, size_t errlen);

/* fdatasync the file (EVT_SPOOL_SYNC_BATCH); nothing when nothing was
 * written since the last one. */
int evt__spool_sync(struct evt__spool *s);

/* Read the record at the read position (initially the cursor) and move
 * past it. Returns 1 with *payload and *len set (the payload points into
 * an internal buffer valid until the next call), 0 when there is none,
 * negative evt_status on error (EVT_EIO also for a CRC mismatch). */
int evt__spool_next(struct evt__spool *s, const void **payload, size_t *len);

/* Persist the read position as the cursor: every record read so far is
 * delivered. When the cursor reaches the end, the file is reset to empty
 * (truncated to the 8-byte header, cursor file removed). */
int evt__spool_ack(struct evt__spool *s);

/* Move the read position back to the cursor (redeliver unacked records). */
void evt__spool_rewind(struct evt__spool *s);

/* Records after the read position: what evt__spool_next still returns
 * (equal to the records after the cursor right after open or rewind). */
uint64_t evt__spool_pending(const struct evt__spool *s);

/* Bytes in the file. */
uint64_t evt__spool_size(const struct evt__spool *s);

void evt__spool_close(struct evt__spool *s);

#endif
