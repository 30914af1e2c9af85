/* loader.c -- load one sink plugin and validate its ABI (docs/ABI.md).
 * The checks run in the order a broken plugin would crash us otherwise:
 * file, dlopen, entry symbol, vtable size, versions, then callbacks. */
#include "loader.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "strbuf.h"
#include "tracker.h"

_Static_assert(offsetof(struct evt_sink_vtable, struct_size) == 0,
               "struct_size must stay first");
_Static_assert(offsetof(struct evt_sink_vtable, abi_version) == 4,
               "abi_version must stay second");
_Static_assert(offsetof(struct evt_host_api, abi_version) == 4,
               "abi_version must stay second");

static int check_file(const char *path, char *err, size_t errlen)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return evt__err(err, errlen, EVT_EABI, "%s: cannot load plugin: %s",
                        path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return evt__err(err, errlen, EVT_EABI,
                        "%s: cannot load plugin: not a regular file", path);
    return EVT_OK;
}

static int check_versions(const char *path, const struct evt_sink_vtable *vt,
                          char *err, size_t errlen)
{
    if (vt->struct_size < EVT__VTABLE_V1_0_SIZE)
        return evt__err(err, errlen, EVT_EABI,
                        "%s: refused: vtable struct_size %u is smaller than "
                        "the %zu bytes of ABI 1.0",
                        path, vt->struct_size, EVT__VTABLE_V1_0_SIZE);
    uint32_t major = EVT_ABI_MAJOR_OF(vt->abi_version);
    uint32_t minor = EVT_ABI_MINOR_OF(vt->abi_version);
    if (major != EVT_SINK_ABI_MAJOR)
        return evt__err(err, errlen, EVT_EABI,
                        "%s: refused: built for ABI major %u, this host "
                        "speaks major %u",
                        path, major, EVT_SINK_ABI_MAJOR);
    if (minor > EVT_SINK_ABI_MINOR)
        return evt__err(err, errlen, EVT_EABI,
                        "%s: refused: built for ABI %u.%u, newer than this "
                        "host's %u.%u",
                        path, major, minor, EVT_SINK_ABI_MAJOR,
                        EVT_SINK_ABI_MINOR);
    if (vt->struct_size > sizeof(struct evt_sink_vtable))
        return evt__err(err, errlen, EVT_EABI,
                        "%s: refused: vtable struct_size %u is larger than "
                        "this host's %zu bytes for ABI %u.%u",
                        path, vt->struct_size, sizeof(struct evt_sink_vtable),
                        major, minor);
    return EVT_OK;
}

static int check_callbacks(const char *path, const struct evt_sink_vtable *vt,
                           char *err, size_t errlen)
{
    const char *missing = !vt->create    ? "create"
                          : !vt->write   ? "write"
                          : !vt->destroy ? "destroy"
                                         : NULL;
    if (missing)
        return evt__err(err, errlen, EVT_EABI,
                        "%s: refused: required callback '%s' is NULL", path,
                        missing);
    if (!vt->name || !vt->name[0])
        return evt__err(err, errlen, EVT_EABI,
                        "%s: refused: the sink has no name", path);
    for (const struct evt_config_key *k = vt->config_keys; k && k->name; k++)
        if (k->type < EVT_CFG_STR || k->type > EVT_CFG_JSON)
            return evt__err(err, errlen, EVT_EABI,
                            "%s: refused: config key '%s' has unknown type %d",
                            path, k->name, k->type);
    if (vt->event_mask == 0 || (vt->event_mask & ~EVT_EV_ALL))
        return evt__err(err, errlen, EVT_EABI,
                        "%s: refused: event_mask 0x%x names no known event "
                        "kinds", path, vt->event_mask);
    return EVT_OK;
}

static int no_dlclose(void)
{
#if defined(EVT_NO_DLCLOSE_DEFAULT)
    return 1;
#else
    const char *v = getenv("EVT_NO_DLCLOSE");
    return v && v[0] && strcmp(v, "0") != 0;
#endif
}

int evt__plugin_load(const char *path, struct evt__plugin *out, char *err,
                     size_t errlen)
{
    memset(out, 0, sizeof *out);
    int rc = check_file(path, err, errlen);
    if (rc)
        return rc;
    void *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!dl)
        return evt__err(err, errlen, EVT_EABI,
                        "%s: cannot load plugin: %s (check its dependencies "
                        "with ldd)", path, dlerror());
    dlerror();
    evt_sink_entry_fn entry;
    void *sym = dlsym(dl, EVT_SINK_ENTRY_NAME);
    memcpy(&entry, &sym, sizeof entry);
    const struct evt_sink_vtable *vt = NULL;
    if (!sym) {
        rc = evt__err(err, errlen, EVT_EABI,
                      "%s: refused: not an evtrack sink (no %s symbol)", path,
                      EVT_SINK_ENTRY_NAME);
        goto fail;
    }
    vt = entry(&evt__host_api);
    if (!vt) {
        rc = evt__err(err, errlen, EVT_EABI,
                      "%s: refused: %s returned no vtable", path,
                      EVT_SINK_ENTRY_NAME);
        goto fail;
    }
    if ((rc = check_versions(path, vt, err, errlen)))
        goto fail;
    memcpy(&out->vt, vt, vt->struct_size); /* the rest stays zero */
    if ((rc = check_callbacks(path, &out->vt, err, errlen)))
        goto fail;
    out->path = evt__strdup(path);
    if (!out->path) {
        rc = evt__err(err, errlen, EVT_ENOMEM, "%s: out of memory", path);
        goto fail;
    }
    out->dl = dl;
    return EVT_OK;
fail:
    if (!no_dlclose())
        dlclose(dl);
    memset(out, 0, sizeof *out);
    return rc;
}

void evt__plugin_unload(struct evt__plugin *p)
{
    if (p->dl && !no_dlclose())
        dlclose(p->dl);
    free(p->path);
    memset(p, 0, sizeof *p);
}
