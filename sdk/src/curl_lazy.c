/* curl_lazy.c -- libcurl, loaded by the first HTTP request (curl_lazy.h). */
#include "curl_lazy.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

/* The soname of libcurl 7.16 and later (ABI 4), on every distribution. */
#define CURL_SONAME "libcurl.so.4"

static pthread_once_t once = PTHREAD_ONCE_INIT;
static struct evt__curl api;
static const struct evt__curl *loaded;
static char why[256];

/* Point *slot at symbol name of h; 0, or -1 with why set. */
static int bind_sym(void *h, const char *name, void *slot)
{
    void *f = dlsym(h, name);
    if (!f) {
        snprintf(why, sizeof why, "%s has no %s", CURL_SONAME, name);
        return -1;
    }
    *(void **)slot = f;
    return 0;
}

static void load_once(void)
{
    /* RTLD_LOCAL: libcurl's symbols stay out of the global scope, as the
     * plugins' own do (ABI.md). Never closed: curl_global_cleanup is not
     * safe while another sink of the process may still use it. */
    void *h = dlopen(CURL_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        snprintf(why, sizeof why, "cannot load %s: %s", CURL_SONAME,
                 dlerror());
        return;
    }
    CURLcode (*global_init)(long) = NULL;
    if (bind_sym(h, "curl_global_init", &global_init) ||
        bind_sym(h, "curl_easy_init", &api.easy_init) ||
        bind_sym(h, "curl_easy_setopt", &api.easy_setopt) ||
        bind_sym(h, "curl_easy_perform", &api.easy_perform) ||
        bind_sym(h, "curl_easy_getinfo", &api.easy_getinfo) ||
        bind_sym(h, "curl_easy_cleanup", &api.easy_cleanup) ||
        bind_sym(h, "curl_easy_strerror", &api.easy_strerror) ||
        bind_sym(h, "curl_slist_append", &api.slist_append) ||
        bind_sym(h, "curl_slist_free_all", &api.slist_free_all) ||
        bind_sym(h, "curl_getdate", &api.getdate))
        return;
    if (global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(why, sizeof why, "curl_global_init failed");
        return;
    }
    loaded = &api;
}

const struct evt__curl *evt__curl_load(char *err, size_t errlen)
{
    pthread_once(&once, load_once);
    if (!loaded && err && errlen)
        snprintf(err, errlen, "%s", why);
    return loaded;
}
