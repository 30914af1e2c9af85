/* wb_config.h -- the wandb sink's settings, from the sink's config keys,
 * lmms-eval's --wandb_args string and the WANDB_* environment variables
 * (docs/sinks/wandb.md section 1).
 *
 * Precedence, for each setting: a config key, then the same key inside
 * "wandb_args", then the environment variable, then the default. */
#ifndef WB_CONFIG_H
#define WB_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "evtrack/sink.h"

enum wb_mode { WB_MODE_ONLINE = 0, WB_MODE_OFFLINE = 1, WB_MODE_DISABLED = 2 };

#define WB_DEFAULT_BASE_URL "https://api.wandb.ai"
#define WB_DEFAULT_PROJECT "uncategorized"
#define WB_MAX_TAGS 64

/* The settings a run uses; strings are heap (NULL when unset). */
struct wb_settings {
    char *project, *entity, *run_id, *name, *group, *job_type, *notes;
    char *mode, *dir;
    char *tags[WB_MAX_TAGS];
    size_t ntags;
    int has_tags; /* tags were given (possibly none) */
};

struct wb_cfg {
    enum wb_mode mode;
    char *api_key;  /* secret: never logged */
    char *base_url; /* without a trailing '/' */
    char *ca_bundle;
    char *offline_root; /* <dir>/wandb, or <dir>/.wandb when that exists */
    struct wb_settings s;
    int layout;      /* enum evt_results_layout of results.json */
    int log_samples; /* per-task samples tables and files */
    int64_t interval_ms, heartbeat_ms, init_timeout_ms, reconnect_ms;
    long request_timeout_ms, retry_base_ms, retry_cap_ms;
    int attempts; /* tries of one request before the batch is retried */
};

/* The WANDB_* variables (values as getenv returns them, or NULL). */
struct wb_env {
    const char *api_key, *base_url, *project, *entity, *mode, *run_id;
    const char *name, *group, *job_type, *notes, *tags, *dir;
};

/* Read the environment (call on the thread that creates the sink). */
void wb_env_read(struct wb_env *env);

/* Parse lmms-eval's --wandb_args form "project=x,name=y,tags=a;b" into
 * out (fields already set are replaced). Items are split on ',', then at
 * the first '='; empty items are skipped. Known keys: project, entity,
 * name, id, group, job_type, notes, tags (';'-separated), mode, dir.
 * Keys that only steer the Python client (resume, reinit, ...) are
 * ignored. 0, or -1 with err naming the item (never its value). */
int wb_args_parse(const char *s, struct wb_settings *out, char *err,
                  size_t errlen);

/* Fill c from the sink's config, the environment and defaults.
 * output_dir is the tracker's (the default offline folder). 0, or -1 with
 * err naming the key and what was expected (never a value). */
int wb_cfg_read(struct wb_cfg *c, const struct evt_host_api *api,
                const evt_config *cfg, const struct wb_env *env,
                const char *output_dir, char *err, size_t errlen);

void wb_settings_free(struct wb_settings *s);
void wb_cfg_free(struct wb_cfg *c);

/* The config keys the sink declares. */
extern const struct evt_config_key wb_config_keys[];

#endif /* WB_CONFIG_H */
