/* jfiles.h -- the jsonl sink's open task files: append-only descriptors,
 * at most JL_MAX_OPEN at a time (least recently used closed first), a
 * torn last line cut off when a file is opened, and fsync on request.
 *
 * No stdio: every line goes out in write(2) calls on an O_APPEND
 * descriptor, so nothing sits in a user-space buffer that a forked child
 * could write a second time. Not thread-safe (one instance, one worker). */
#ifndef JSONL_JFILES_H
#define JSONL_JFILES_H

#include <stddef.h>
#include <stdint.h>

#define JL_MAX_OPEN 64

struct jl_file {
    char *path;
    int fd;
    uint64_t used;  /* LRU clock value of the last use */
    int dirty;      /* written since the last fsync */
    int created;    /* made by us and its folder not yet fsynced */
    long long size; /* bytes in the file after our last complete write */
};

struct jl_files {
    struct jl_file f[JL_MAX_OPEN];
    size_t n;
    uint64_t clock;
    int sync_on_close; /* fsync a dirty file before closing it */
};

void jl_files_init(struct jl_files *t, int sync_on_close);

/* The open file for path. Opens it when needed: creates its folder and
 * the file, and when the file already existed and does not end in '\n',
 * truncates it after its last '\n' and sets *repaired to the number of
 * bytes removed (else 0). Closes the least recently used file when
 * JL_MAX_OPEN are open. Returns 0, or -1 with "<path>: <what>: <reason>"
 * in err. */
int jl_files_get(struct jl_files *t, const char *path, struct jl_file **out,
                 long long *repaired, char *err, size_t errlen);

/* Append p[0..n) (whole lines) to f: one write(2) unless the kernel
 * takes less. Returns 0, or -1 with "<path>: write: <reason>" in err; then
 * call jl_files_forget(t, f). A call that fails after writing some bytes
 * cuts the file back to f->size first, so none of p's lines stays (a retry
 * writes them once). When that cut cannot be made (the truncate fails, or
 * the file did not grow by exactly what was written: another writer), err
 * says so; the file may then end in a partial line, which the next open
 * cuts off, and the whole lines before it stay. */
int jl_file_append(struct jl_file *f, const void *p, size_t n, char *err,
                   size_t errlen);

/* Close f without fsync and forget it. */
void jl_files_forget(struct jl_files *t, struct jl_file *f);

/* fsync every file written since its last fsync (and the folder of each
 * file created since). Returns 0, or -1 with the first error in err (the
 * others are still tried). */
int jl_files_sync(struct jl_files *t, char *err, size_t errlen);

/* Close everything (no fsync; call jl_files_sync first when needed). */
void jl_files_close_all(struct jl_files *t);

#endif
