/* conformance_config.c -- config.*: the sink's declared config keys
 * (struct evt_config_key, docs/ABI.md §7). The schema must be well
 * formed and its defaults valid; the host must refuse unknown keys,
 * values of the wrong type and missing required keys (evt_check_config,
 * which binds the config exactly as an open does, without create); and
 * create() must survive values of the right type but hostile content:
 * it either takes them or fails having logged why. */
#define _GNU_SOURCE /* unshare */

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conformance_int.h"
#include "strbuf.h"

#define CONFIG_FILE "conformance.json"
#define UNKNOWN_KEY "evtconf_unknown_key"

/* Load the plugin for its keys; on failure the verdict is given. */
static int load_keys(struct conf_ctx *c, const char *name,
                     struct evt__plugin *p)
{
    char err[EVT_ERRMSG_SIZE];
    if (conf_load(c, p, err, sizeof err) == 0)
        return 0;
    conf_verdict(EVT_CONF_FAIL, name, "%s", err);
    return -1;
}

/* evt_check_config on the tracker config with the sink config cfg; the
 * status, and the message without its "conformance.json: " prefix. */
static int check_config(const struct conf_ctx *c, const cJSON *cfg,
                        char *msg, size_t len)
{
    char *json = conf_tracker_json(c, cfg);
    FILE *f = json ? fopen(CONFIG_FILE, "w") : NULL;
    int ok = f && fputs(json, f) >= 0;
    if (f && fclose(f) != 0)
        ok = 0;
    free(json);
    if (!ok) {
        snprintf(msg, len, "cannot write " CONFIG_FILE " in the sandbox");
        return EVT_EIO;
    }
    char err[EVT_ERRMSG_SIZE];
    int rc = evt_check_config(CONFIG_FILE, err, sizeof err);
    const char *m = rc == EVT_OK ? "" : err;
    if (strncmp(m, CONFIG_FILE ": ", sizeof CONFIG_FILE + 1) == 0)
        m += sizeof CONFIG_FILE + 1;
    evt__strlcpy(msg, m, len);
    return rc;
}

/* ---- config.given, config.schema, config.defaults ---------------------------*/

static const char *schema_problem(const struct evt_config_key *keys,
                                  char *buf, size_t len)
{
    for (const struct evt_config_key *k = keys; k && k->name; k++) {
        if (!k->name[0])
            return "a declared key has an empty name";
        for (const struct evt_config_key *o = keys; o != k; o++)
            if (strcmp(o->name, k->name) == 0) {
                snprintf(buf, len, "key \"%s\" is declared twice", k->name);
                return buf;
            }
        if (k->required && k->dflt) {
            snprintf(buf, len, "key \"%s\" is required and has a default, "
                     "which is never used", k->name);
            return buf;
        }
    }
    return NULL;
}

void conf_check_schema(struct conf_ctx *c)
{
    struct evt__plugin p;
    char msg[EVT_ERRMSG_SIZE];
    conf_step("evt_check_config with the given config");
    int rc = check_config(c, NULL, msg, sizeof msg);
    if (rc != EVT_OK)
        conf_verdict(EVT_CONF_FAIL, "config.given", "the host refuses the "
                     "given config: %s", msg);
    else
        conf_verdict(EVT_CONF_PASS, "config.given",
                     "evt_check_config accepts it");
    conf_step("reading the declared keys");
    if (load_keys(c, "config.schema", &p) != 0)
        return;
    size_t n = 0, req = 0, dflt = 0;
    for (const struct evt_config_key *k = p.vt.config_keys; k && k->name;
         k++, n++) {
        req += k->required != 0;
        dflt += k->dflt != NULL;
    }
    const char *bad = schema_problem(p.vt.config_keys, msg, sizeof msg);
    if (bad)
        conf_verdict(EVT_CONF_FAIL, "config.schema", "%s", bad);
    else if (!p.vt.config_keys)
        conf_verdict(EVT_CONF_PASS, "config.schema", "no keys declared: the "
                     "host refuses every key");
    else
        conf_verdict(EVT_CONF_PASS, "config.schema", "%zu key(s), %zu "
                     "required, %zu with a default", n, req, dflt);
    evt__plugin_unload(&p);
}

void conf_check_defaults(struct conf_ctx *c)
{
    struct evt__plugin p;
    if (load_keys(c, "config.defaults", &p) != 0)
        return;
    /* only the required keys given: every default gets used */
    cJSON *cfg = cJSON_CreateObject();
    size_t n = 0;
    for (const struct evt_config_key *k = p.vt.config_keys; k && k->name;
         k++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(c->user_config,
                                                          k->name);
        if (k->required && v)
            cJSON_AddItemToObject(cfg, k->name, cJSON_Duplicate(v, 1));
        n += !k->required && k->dflt;
    }
    char msg[EVT_ERRMSG_SIZE];
    conf_step("evt_check_config with every default in use");
    int rc = check_config(c, cfg, msg, sizeof msg);
    cJSON_Delete(cfg);
    if (rc != EVT_OK)
        conf_verdict(EVT_CONF_FAIL, "config.defaults", "%s", msg);
    else
        conf_verdict(EVT_CONF_PASS, "config.defaults", "%zu default(s) "
                     "parse and have their key's type", n);
    evt__plugin_unload(&p);
}

/* ---- what the host must refuse -----------------------------------------------*/

/* A config that evt_check_config must refuse with a message holding
 * want; 0 when it did. */
static int must_refuse(const struct conf_ctx *c, const cJSON *cfg,
                       const char *want, char *why, size_t len)
{
    char msg[EVT_ERRMSG_SIZE];
    int rc = check_config(c, cfg, msg, sizeof msg);
    if (rc == EVT_ECONFIG && strstr(msg, want))
        return 0;
    if (rc == EVT_OK)
        snprintf(why, len, "accepted (expected \"%s\")", want);
    else
        snprintf(why, len, "%s: %s", evt_status_name(rc), msg);
    return -1;
}

void conf_check_unknown_key(struct conf_ctx *c)
{
    cJSON *cfg = cJSON_Duplicate(c->user_config, 1);
    cJSON_AddNumberToObject(cfg, UNKNOWN_KEY, 1);
    char why[768];
    conf_step("evt_check_config with an unknown key");
    int rc = must_refuse(c, cfg, "sinks[0].config." UNKNOWN_KEY
                         ": unknown key", why, sizeof why);
    cJSON_Delete(cfg);
    if (rc)
        conf_verdict(EVT_CONF_FAIL, "config.unknown_key", "key \""
                     UNKNOWN_KEY "\": %s", why);
    else
        conf_verdict(EVT_CONF_PASS, "config.unknown_key", "refused with "
                     "\"unknown key for plugin ...\"");
}

/* A JSON value of another type than t. */
static cJSON *wrong_value(int type)
{
    return type == EVT_CFG_STR ? cJSON_CreateNumber(123)
                               : cJSON_CreateString("not-a-number-or-bool");
}

void conf_check_wrong_type(struct conf_ctx *c)
{
    struct evt__plugin p;
    if (load_keys(c, "config.wrong_type", &p) != 0)
        return;
    size_t n = 0;
    char why[768];
    const char *failed = NULL;
    for (const struct evt_config_key *k = p.vt.config_keys;
         k && k->name && !failed; k++) {
        if (k->type == EVT_CFG_JSON)
            continue; /* takes any value */
        cJSON *cfg = cJSON_Duplicate(c->user_config, 1);
        cJSON_DeleteItemFromObjectCaseSensitive(cfg, k->name);
        cJSON_AddItemToObject(cfg, k->name, wrong_value(k->type));
        conf_step("evt_check_config with key \"%s\" of the wrong type",
                  k->name);
        if (must_refuse(c, cfg, "expected", why, sizeof why))
            failed = k->name;
        cJSON_Delete(cfg);
        n++;
    }
    if (failed)
        conf_verdict(EVT_CONF_FAIL, "config.wrong_type", "key \"%s\": %s",
                     failed, why);
    else if (!p.vt.config_keys || !p.vt.config_keys[0].name)
        conf_verdict(EVT_CONF_SKIP, "config.wrong_type", "the sink declares "
                     "no keys");
    else if (!n)
        conf_verdict(EVT_CONF_SKIP, "config.wrong_type", "every key takes "
                     "any JSON value");
    else
        conf_verdict(EVT_CONF_PASS, "config.wrong_type", "%zu key(s) refused "
                     "a value of the wrong type", n);
    evt__plugin_unload(&p);
}

void conf_check_missing_required(struct conf_ctx *c)
{
    struct evt__plugin p;
    if (load_keys(c, "config.missing_required", &p) != 0)
        return;
    size_t n = 0;
    char why[768];
    const char *failed = NULL;
    for (const struct evt_config_key *k = p.vt.config_keys;
         k && k->name && !failed; k++) {
        if (!k->required)
            continue;
        cJSON *cfg = cJSON_Duplicate(c->user_config, 1);
        cJSON_DeleteItemFromObjectCaseSensitive(cfg, k->name);
        conf_step("evt_check_config without required key \"%s\"", k->name);
        if (must_refuse(c, cfg, "missing (required", why, sizeof why))
            failed = k->name;
        cJSON_Delete(cfg);
        n++;
    }
    if (failed)
        conf_verdict(EVT_CONF_FAIL, "config.missing_required",
                     "key \"%s\": %s", failed, why);
    else if (!n)
        conf_verdict(EVT_CONF_SKIP, "config.missing_required",
                     "the sink declares no required key");
    else
        conf_verdict(EVT_CONF_PASS, "config.missing_required",
                     "%zu required key(s): each refused when missing", n);
    evt__plugin_unload(&p);
}

/* ---- hostile values ------------------------------------------------------------*/

struct hostile_value {
    int type;
    const char *json;
    const char *what;
};

static const struct hostile_value hostile[] = {
    {EVT_CFG_STR, "\"\"", "an empty string"},
    {EVT_CFG_STR, NULL, "a 4096-byte string"},
    {EVT_CFG_STR, "\"a\\u0001\\u001b[2J\\n\\r\\tb\"", "control characters"},
    {EVT_CFG_STR, "\"%s%s%n%x\"", "printf directives"},
    {EVT_CFG_STR, "\"\\u00e9\\ud83d\\ude00\"", "non-ASCII text"},
    {EVT_CFG_INT, "-1", "-1"},
    {EVT_CFG_INT, "0", "0"},
    {EVT_CFG_INT, "9007199254740991", "2^53-1"},
    {EVT_CFG_INT, "-9007199254740991", "-(2^53-1)"},
    {EVT_CFG_DOUBLE, "-1", "-1"},
    {EVT_CFG_DOUBLE, "0", "0"},
    {EVT_CFG_DOUBLE, "1e308", "1e308"},
    {EVT_CFG_DOUBLE, "-1e308", "-1e308"},
    {EVT_CFG_DOUBLE, "5e-324", "5e-324"},
    {EVT_CFG_BOOL, "true", "true"},
    {EVT_CFG_BOOL, "false", "false"},
    {EVT_CFG_JSON, "null", "null"},
    {EVT_CFG_JSON, "{}", "{}"},
    {EVT_CFG_JSON, "[]", "[]"},
    {EVT_CFG_JSON, "\"\"", "an empty string"},
    {EVT_CFG_JSON, "[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]",
     "20 nested arrays"},
    {EVT_CFG_JSON, "{\"a\": {\"b\": 1.5}, \"c\": [true, null]}",
     "an object of mixed values"},
};

static cJSON *hostile_json(const struct hostile_value *v)
{
    if (v->json)
        return cJSON_Parse(v->json);
    char *s = malloc(4097);
    if (!s)
        return NULL;
    memset(s, 'x', 4096);
    s[4096] = '\0';
    cJSON *j = cJSON_CreateString(s);
    free(s);
    return j;
}

/* Cut the sink off the network for this child: a fresh network
 * namespace has only a loopback that is down. 1 when that worked. */
static int isolate_network(void)
{
    if (unshare(CLONE_NEWNET) == 0)
        return 1;
    return unshare(CLONE_NEWUSER | CLONE_NEWNET) == 0;
}

/* Open and close a tracker with key = v; 0, or -1 with why filled. */
static int try_value(struct conf_ctx *c, const char *key, cJSON *v,
                     int *created, char *why, size_t len)
{
    cJSON *cfg = cJSON_Duplicate(c->user_config, 1);
    cJSON_DeleteItemFromObjectCaseSensitive(cfg, key);
    cJSON_AddItemToObject(cfg, key, v);
    struct conf_run r;
    int rc = conf_open(&r, c, cfg, NULL);
    cJSON_Delete(cfg);
    *created = rc == 0;
    if (rc != 0 && strncmp(r.problem, "create() failed: ", 17) == 0 &&
        !strstr(r.problem, "(the sink logged no reason)"))
        return 0; /* refused with a message: fine */
    if (rc != 0) {
        evt__strlcpy(why, r.problem, len);
        return -1;
    }
    conf_close(&r, 20000);
    if (conf_judge(&r, why, len))
        return -1;
    return 0;
}

void conf_check_hostile_values(struct conf_ctx *c)
{
    struct evt__plugin p;
    if (load_keys(c, "config.hostile_values", &p) != 0)
        return;
    int isolated = isolate_network();
    if (!isolated) { /* at least nothing can authenticate */
        unsetenv("HF_TOKEN");
        unsetenv("HUGGING_FACE_HUB_TOKEN");
        unsetenv("WANDB_API_KEY");
    }
    size_t tried = 0, created = 0;
    char why[768];
    for (const struct evt_config_key *k = p.vt.config_keys; k && k->name;
         k++)
        for (size_t i = 0; i < sizeof hostile / sizeof hostile[0]; i++) {
            if (hostile[i].type != k->type)
                continue;
            conf_step("create() with key \"%s\" = %s", k->name,
                      hostile[i].what);
            int made = 0;
            if (try_value(c, k->name, hostile_json(&hostile[i]), &made, why,
                          sizeof why) != 0) {
                conf_verdict(EVT_CONF_FAIL, "config.hostile_values",
                             "key \"%s\" = %s: %s", k->name, hostile[i].what,
                             why);
                evt__plugin_unload(&p);
                return;
            }
            tried++;
            created += made != 0;
        }
    if (!tried)
        conf_verdict(EVT_CONF_SKIP, "config.hostile_values",
                     "the sink declares no keys");
    else
        conf_verdict(EVT_CONF_PASS, "config.hostile_values",
                     "%zu value(s): %zu taken, %zu refused with a message "
                     "(%s)", tried, created, tried - created,
                     isolated ? "no network" : "network not isolated");
    evt__plugin_unload(&p);
}
