/* loader.h -- load one sink plugin and validate its ABI. */
#ifndef EVT_CORE_LOADER_H
#define EVT_CORE_LOADER_H

#include <stddef.h>

#include "evtrack/sink.h"

/* The size of a v1.0 vtable: every field up to and including flush. */
#define EVT__VTABLE_V1_0_SIZE \
    (offsetof(struct evt_sink_vtable, flush) + sizeof(void (*)(void)))

struct evt__plugin {
    void *dl;
    char *path;
    struct evt_sink_vtable vt; /* zero-filled past the sink's size */
};

/* dlopen path (RTLD_NOW | RTLD_LOCAL), find evt_sink_entry_v1, call it and
 * validate the vtable. On refusal: negative status and one line in err
 * that names the file and the reason; nothing stays loaded. */
int evt__plugin_load(const char *path, struct evt__plugin *out, char *err,
                     size_t errlen);

/* dlclose (skipped under sanitizers or when EVT_NO_DLCLOSE is set, so that
 * leak reports keep their symbols) and free. */
void evt__plugin_unload(struct evt__plugin *p);

#endif
