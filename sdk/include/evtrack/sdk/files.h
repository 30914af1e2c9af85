/* evtrack/sdk/files.h -- file helpers for sinks: atomic replace, folders,
 * and names that are safe as one path component. */
#ifndef EVTRACK_SDK_FILES_H
#define EVTRACK_SDK_FILES_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* "a/b" (just b when a is empty), heap; NULL on OOM. */
char *evt_path_join(const char *a, const char *b);

/* write(2) all of p[0..n) to fd, retrying on EINTR and short writes.
 * 0, or -1 with errno set. */
int evt_write_all(int fd, const void *p, size_t n);

/* pread(2) n bytes at off into p, retrying on EINTR and short reads. The
 * count read, short only at end of file, or -1 with errno set. */
ssize_t evt_pread_full(int fd, void *p, size_t n, uint64_t off);

/* Exactly n bytes at off: 0, or -1 with errno set (EIO when the file ends
 * first). */
int evt_pread_exact(int fd, void *p, size_t n, uint64_t off);

/* Create path holding data only if no file has that name yet: the data is
 * written and fsynced under a temp name, then hard-linked to path, so path
 * never exists half written and an existing file is never replaced.
 * Without hard links (some file systems): an existence check, then a
 * rename. 0 created, 1 the name is taken, -1 error with "path: step:
 * reason" in err. */
int evt_create_file_new(const char *path, const void *data, size_t len,
                        char *err, size_t errlen);

/* mkdir -p path (mode 0755). 0, or -1 with "path: reason" in err. */
int evt_mkdirs(const char *path, char *err, size_t errlen);

/* Replace path with data atomically: write "<path>.tmp.<pid>" in the same
 * folder, fsync it, rename it over path, fsync the folder. A crash at any
 * point leaves either the old or the new file whole. 0, or -1 with
 * "path: step: reason" in err (the temp file is removed). */
int evt_write_file_atomic(const char *path, const void *data, size_t len,
                          char *err, size_t errlen);

/* A heap copy of name usable as ONE file-name component: '/', '\\', NUL,
 * control characters and ':*?"<>|' become '_', a leading '.' becomes '_'
 * (so "." and ".." cannot appear), invalid UTF-8 bytes become '_', and the
 * result is cut to at most max_bytes bytes on a character boundary (at
 * least 1; an empty name becomes "_"). NULL on OOM. */
char *evt_safe_component(const char *name, size_t len, size_t max_bytes);

/* lmms-eval's model_name_sanitized: keep the last two '/'-parts, then
 * replace each run of the characters "<>:/|\?*[] (not spaces) with "__".
 * Heap; NULL on OOM. */
char *evt_lmms_model_name_sanitized(const char *model_name);

#endif
