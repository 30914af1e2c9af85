/* plugin_dirs.h -- where sink plugins are looked for. */
#ifndef EVT_CORE_PLUGIN_DIRS_H
#define EVT_CORE_PLUGIN_DIRS_H

#include <stddef.h>

#define EVT__PLUGIN_PREFIX "evtrack-sink-"
#define EVT__PLUGIN_SUFFIX ".so"

/* The folders to search, in order: extra (from the config), each entry of
 * $EVTRACK_PLUGIN_PATH (':'-separated), <dir of libevtrack>/evtrack/plugins
 * (installed library or build tree), <dir of libevtrack>/../lib/evtrack/
 * plugins and <dir of the program>/../lib/evtrack/plugins (core linked
 * into a program in bin/), then the install prefix's plugin folder.
 * Existing folders are canonicalised and listed once. NULL-terminated,
 * heap; free with evt__strv_free. NULL on OOM. */
char **evt__plugin_search_dirs(char *const *extra, size_t nextra);

void evt__strv_free(char **v);

/* 1 when name is a valid plugin name ([A-Za-z0-9_.-], no leading '.'). */
int evt__plugin_name_ok(const char *name);

/* Heap path of evtrack-sink-<name>.so in the first folder that has it,
 * or NULL. */
char *evt__plugin_find(char *const *dirs, const char *name);

#endif
