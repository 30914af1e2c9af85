/* evtrack/sdk/files.h -- file helpers for sinks: atomic replace, folders,
 * and names that are safe as one path component. */
#ifndef EVTRACK_SDK_FILES_H
#define EVTRACK_SDK_FILES_H

#include <stddef.h>

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
