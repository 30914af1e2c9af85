/* conformance_abi.c -- abi.*: load the plugin with the host's own loader
 * (core/loader.c) and turn its verdict into one line per contract point.
 * The loader checks in a fixed order (docs/ABI.md §9) and stops at the
 * first refusal: the points before it passed, the one it names failed,
 * the ones after it were not reached. */
#include <stdio.h>
#include <string.h>

#include "conformance_int.h"
#include "strbuf.h"

enum { ST_LOAD, ST_ENTRY, ST_VERSION, ST_SIZE, ST_CALLBACKS, ST_IDENTITY,
       ST_COUNT };

static const char *const names[ST_COUNT] = {
    "abi.load", "abi.entry", "abi.version", "abi.struct_size",
    "abi.callbacks", "abi.identity"};

/* The loader checks version and size together (size too small, major,
 * minor, size too large): they are one stage. */
static int stage_rank(int st)
{
    return st == ST_SIZE ? ST_VERSION : st;
}

int conf_load(const struct conf_ctx *c, struct evt__plugin *p, char *err,
              size_t errlen)
{
    char msg[EVT_ERRMSG_SIZE];
    if (evt__plugin_load(c->so_path, p, msg, sizeof msg) == EVT_OK)
        return 0;
    /* "<path>: reason": the path is the same on every line, drop it */
    size_t plen = strlen(c->so_path);
    const char *reason = msg;
    if (strncmp(msg, c->so_path, plen) == 0 && msg[plen] == ':' &&
        msg[plen + 1] == ' ')
        reason = msg + plen + 2;
    evt__strlcpy(err, reason, errlen);
    return -1;
}

/* Which contract point a loader refusal is about. */
static int classify(const char *reason)
{
    static const struct {
        const char *needle;
        int stage;
    } map[] = {
        {"cannot load plugin", ST_LOAD},
        {"not an evtrack sink", ST_ENTRY},
        {"returned no vtable", ST_ENTRY},
        {"struct_size", ST_SIZE},
        {"built for ABI", ST_VERSION},
        {"required callback", ST_CALLBACKS},
        {"has no name", ST_IDENTITY},
        {"event_mask", ST_IDENTITY},
        {"config key", ST_IDENTITY},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strstr(reason, map[i].needle))
            return map[i].stage;
    return ST_LOAD; /* out of memory and the like */
}

static const char *pass_note(int st)
{
    switch (st) {
    case ST_LOAD: return "dlopen(RTLD_NOW | RTLD_LOCAL) loaded it";
    case ST_ENTRY: return "evt_sink_entry_v1 is exported and returned a "
                          "vtable";
    case ST_VERSION: return "major and minor accepted";
    case ST_SIZE: return "vtable struct_size accepted";
    case ST_CALLBACKS: return "create, write and destroy are set";
    default: return "name and event_mask accepted";
    }
}

static void refused(const char *reason)
{
    int failed = classify(reason);
    /* a vtable too large is refused after the versions were accepted */
    int versions_ok = failed == ST_SIZE && strstr(reason, "is larger than");
    for (int st = 0; st < ST_COUNT; st++) {
        if (st == failed)
            conf_verdict(EVT_CONF_FAIL, names[st], "%s", reason);
        else if (stage_rank(st) < stage_rank(failed) ||
                 (st == ST_VERSION && versions_ok))
            conf_verdict(EVT_CONF_PASS, names[st], "%s", pass_note(st));
        else
            conf_verdict(EVT_CONF_SKIP, names[st], "not checked: the loader "
                         "stopped at %s", names[failed]);
    }
}

static void accepted(const struct evt_sink_vtable *vt)
{
    size_t nkeys = 0;
    for (const struct evt_config_key *k = vt->config_keys; k && k->name; k++)
        nkeys++;
    conf_verdict(EVT_CONF_PASS, names[ST_LOAD], "%s", pass_note(ST_LOAD));
    conf_verdict(EVT_CONF_PASS, names[ST_ENTRY], "%s", pass_note(ST_ENTRY));
    conf_verdict(EVT_CONF_PASS, names[ST_VERSION], "ABI %u.%u (host %u.%u)",
                 EVT_ABI_MAJOR_OF(vt->abi_version),
                 EVT_ABI_MINOR_OF(vt->abi_version), EVT_SINK_ABI_MAJOR,
                 EVT_SINK_ABI_MINOR);
    conf_verdict(EVT_CONF_PASS, names[ST_SIZE],
                 "%u bytes (host accepts %zu to %zu)", vt->struct_size,
                 EVT__VTABLE_V1_0_SIZE, sizeof(struct evt_sink_vtable));
    conf_verdict(EVT_CONF_PASS, names[ST_CALLBACKS],
                 "create, write and destroy are set; flush is %s",
                 vt->flush ? "set" : "not set (optional)");
    conf_verdict(EVT_CONF_PASS, names[ST_IDENTITY],
                 "name \"%s\", version \"%s\", event_mask 0x%02x, flags "
                 "0x%x, %zu config key(s)",
                 vt->name, vt->version ? vt->version : "", vt->event_mask,
                 vt->flags, nkeys);
}

void conf_check_abi(struct conf_ctx *c)
{
    struct evt__plugin p;
    char reason[EVT_ERRMSG_SIZE];
    conf_step("loading the plugin");
    if (conf_load(c, &p, reason, sizeof reason) != 0) {
        refused(reason);
        return;
    }
    accepted(&p.vt);
    evt__plugin_unload(&p);
}
