/* plugin_dirs.c -- where sink plugins are looked for. The build tree
 * mirrors the install layout, so one rule relative to the library (or the
 * program) finds the plugins of the build tree and of an installed,
 * relocated prefix alike, with no environment variable. */
#define _GNU_SOURCE
#include "plugin_dirs.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "strbuf.h"

#ifndef EVT_INSTALL_PLUGIN_DIR
#define EVT_INSTALL_PLUGIN_DIR "/usr/local/lib/evtrack/plugins"
#endif

struct strv {
    char **v;
    size_t n, cap;
    int oom;
};

static void strv_add_owned(struct strv *s, char *str)
{
    if (!str) {
        s->oom = 1;
        return;
    }
    char *real = realpath(str, NULL); /* "lib/../lib" and "lib" are one */
    if (real) {
        free(str);
        str = real;
    }
    for (size_t i = 0; i < s->n; i++) {
        if (strcmp(s->v[i], str) == 0) {
            free(str);
            return;
        }
    }
    if (s->n + 2 > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;
        char **nv = realloc(s->v, cap * sizeof *nv);
        if (!nv) {
            free(str);
            s->oom = 1;
            return;
        }
        s->v = nv;
        s->cap = cap;
    }
    s->v[s->n++] = str;
    s->v[s->n] = NULL;
}

/* Folder holding this code's module (libevtrack.so, or the program when
 * the core is linked statically). */
static char *module_dir(void)
{
    Dl_info info;
    if (!dladdr((void *)(uintptr_t)&module_dir, &info) || !info.dli_fname)
        return NULL;
    char *real = realpath(info.dli_fname, NULL);
    if (!real)
        return NULL;
    char *slash = strrchr(real, '/');
    if (slash)
        *slash = '\0';
    return real;
}

static char *program_dir(void)
{
    char buf[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n <= 0)
        return NULL;
    buf[n] = '\0';
    char *slash = strrchr(buf, '/');
    if (slash)
        *slash = '\0';
    return evt__strdup(buf);
}

static void add_env_dirs(struct strv *s)
{
    const char *env = getenv("EVTRACK_PLUGIN_PATH");
    if (!env)
        return;
    char *copy = evt__strdup(env);
    if (!copy) {
        s->oom = 1;
        return;
    }
    char *p = copy;
    while (p) {
        char *colon = strchr(p, ':');
        if (colon)
            *colon = '\0';
        if (*p)
            strv_add_owned(s, evt__strdup(p));
        p = colon ? colon + 1 : NULL;
    }
    free(copy);
}

char **evt__plugin_search_dirs(char *const *extra, size_t nextra)
{
    struct strv s = {0};
    for (size_t i = 0; i < nextra; i++)
        strv_add_owned(&s, evt__strdup(extra[i]));
    add_env_dirs(&s);
    char *mod = module_dir();
    if (mod) {
        strv_add_owned(&s, evt__path_join(mod, "evtrack/plugins"));
        strv_add_owned(&s, evt__path_join(mod, "../lib/evtrack/plugins"));
        free(mod);
    }
    char *prog = program_dir();
    if (prog) {
        strv_add_owned(&s, evt__path_join(prog, "../lib/evtrack/plugins"));
        free(prog);
    }
    strv_add_owned(&s, evt__strdup(EVT_INSTALL_PLUGIN_DIR));
    if (s.oom || !s.v) {
        if (s.v)
            s.v[s.n] = NULL;
        evt__strv_free(s.v);
        return NULL;
    }
    return s.v;
}

void evt__strv_free(char **v)
{
    if (!v)
        return;
    for (char **p = v; *p; p++)
        free(*p);
    free(v);
}

int evt__plugin_name_ok(const char *name)
{
    if (!name || !name[0] || name[0] == '.' || strlen(name) > 64)
        return 0;
    for (const char *p = name; *p; p++) {
        char c = *p;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                 (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
        if (!ok)
            return 0;
    }
    return 1;
}

char *evt__plugin_find(char *const *dirs, const char *name)
{
    for (size_t i = 0; dirs && dirs[i]; i++) {
        char *p = evt__asprintf("%s/%s%s%s", dirs[i], EVT__PLUGIN_PREFIX,
                                name, EVT__PLUGIN_SUFFIX);
        struct stat st;
        if (p && stat(p, &st) == 0 && S_ISREG(st.st_mode))
            return p;
        free(p);
    }
    return NULL;
}
