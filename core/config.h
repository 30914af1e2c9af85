/* config.h -- the JSON config file (docs/CONFIG.md). */
#ifndef EVT_CORE_CONFIG_H
#define EVT_CORE_CONFIG_H

#include <stddef.h>

#include "tracker.h"

struct evt__config_file {
    char *source;   /* the file name, or "<config>", for messages */
    char *base_dir; /* relative paths are resolved against it */
    char *output_dir;
    char *state_dir;
    char *run_id; /* NULL: generate one */
    char **plugin_dirs; /* NULL-terminated search list */
    struct evt__sink_spec *sinks;
    size_t nsinks;
};

/* Parse and validate config text. Errors name source, the JSON path and
 * what was expected: "cfg.json: sinks[2].queue.overflow: expected ...".
 * Plugins are resolved to files but not loaded. */
int evt__config_parse(const char *text, size_t len, const char *source,
                      const char *base_dir, struct evt__config_file *out,
                      char *err, size_t errlen);

void evt__config_free(struct evt__config_file *c);

/* Read a whole file into a NUL-terminated heap buffer. */
int evt__read_file(const char *path, char **text, size_t *len, char *err,
                   size_t errlen);

/* Check a sink's "config" object against the plugin's declared keys:
 * unknown keys, wrong types and missing required keys are errors naming
 * source and "<where>.config.<key>"; defaults are filled in. */
int evt__config_bind(struct evt_config *c, const struct evt_config_key *keys,
                     const char *plugin, const char *source,
                     const char *where, char *err, size_t errlen);

void evt__sink_config_free(struct evt_config *c);

/* Accessors behind the host API. */
const char *evt__cfg_str(const struct evt_config *c, const char *key,
                         const char *dflt);
int64_t evt__cfg_int(const struct evt_config *c, const char *key,
                     int64_t dflt);
double evt__cfg_double(const struct evt_config *c, const char *key,
                       double dflt);
int evt__cfg_bool(const struct evt_config *c, const char *key, int dflt);
const char *evt__cfg_json(const struct evt_config *c, const char *key);

#endif
