/* wb_journal.h -- a W&B run's local journal: every event the sink has
 * taken for the run, in the order taken, and the points where an open
 * history row was sealed by a flush or a close (not by its events). It is the
 * source from which the run's history rows, summary, tables and files are
 * derived, in this process or in a later one (a replay), so that they
 * come out the same and are sent exactly once (docs/sinks/wandb.md
 * section 4).
 *
 * File: "EVTWBJ1\n", then records: u32 LE payload length, u32 LE masked
 * CRC-32C (evtrack/sdk/crc32c.h) of the type byte and the payload, u8
 * type, payload. A torn or corrupt tail is cut off at open. The file is
 * locked (flock) while open: one process per run journal. */
#ifndef WB_JOURNAL_H
#define WB_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include "evtrack/sdk/json_write.h"

enum wb_jrec {
    WB_J_EVENT = 1, /* an event's msgpack map (secrets scrubbed) */
    WB_J_SEAL = 2   /* the open history row was sealed (flush, close) */
};

struct wb_journal {
    int fd;
    char *path;
    uint64_t size;        /* bytes of whole records (while opening: those
                             before the record being read) */
    struct evt_buf pend;  /* records of the current batch */
};

/* Called for each valid record; a nonzero return stops the scan with that
 * value. */
typedef int (*wb_journal_cb)(void *ctx, int type, const void *p, size_t n);

/* Open (create) path, lock it, cut a torn tail, and call cb (may be NULL)
 * for every record. 0; 1 when another process holds the lock; -1 with err
 * ("path: step: reason"); or cb's nonzero value. */
int wb_journal_open(struct wb_journal *j, const char *path, wb_journal_cb cb,
                    void *ctx, char *err, size_t errlen);

/* Queue a record for the next commit. */
void wb_journal_add(struct wb_journal *j, int type, const void *p, size_t n);

/* Append the queued records with one write. On failure the file is cut
 * back to its size before the call and -1 is returned with err; the queue
 * is emptied either way. */
int wb_journal_commit(struct wb_journal *j, char *err, size_t errlen);

/* Call cb for every record journaled so far, in order: those in the
 * file, then those queued for the next commit. From within the cb of
 * wb_journal_open, the records before the one being delivered. It reads
 * into a buffer of its own (a payload the caller holds stays valid). 0;
 * -1 with err ("path: reason"), when a record cannot be read back; or
 * cb's nonzero value. */
int wb_journal_each(struct wb_journal *j, wb_journal_cb cb, void *ctx,
                    char *err, size_t errlen);

/* fdatasync. 0 or -1 with err. */
int wb_journal_sync(struct wb_journal *j, char *err, size_t errlen);

/* Unlock and close; j can be opened again. */
void wb_journal_close(struct wb_journal *j);

#endif /* WB_JOURNAL_H */
