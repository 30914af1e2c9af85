/* curl_lazy.h -- libcurl, loaded by the first HTTP request instead of
 * with the plugin.
 *
 * libcurl pulls in 32 shared libraries (TLS, HTTP/2, IDN, LDAP, Kerberos,
 * ...). Linked into hf-hub and wandb, loading and relocating them made
 * opening a tracker with those sinks take 31 ms on a 2-vCPU VM where the
 * other four plugins load in 5: a cost paid on the caller's thread, by
 * every run, even one that never sends a request. Loaded here, it is paid
 * by the sink's worker at its first request, once per process. */
#ifndef EVT_SDK_CURL_LAZY_H
#define EVT_SDK_CURL_LAZY_H

#include <stddef.h>
#include <time.h>

#include <curl/curl.h>

/* The libcurl functions evtrack calls. */
struct evt__curl {
    CURL *(*easy_init)(void);
    CURLcode (*easy_setopt)(CURL *c, CURLoption opt, ...);
    CURLcode (*easy_perform)(CURL *c);
    CURLcode (*easy_getinfo)(CURL *c, CURLINFO info, ...);
    void (*easy_cleanup)(CURL *c);
    const char *(*easy_strerror)(CURLcode rc);
    struct curl_slist *(*slist_append)(struct curl_slist *l, const char *s);
    void (*slist_free_all)(struct curl_slist *l);
    time_t (*getdate)(const char *s, const time_t *unused);
};

/* Load libcurl and run curl_global_init, once per process (thread-safe).
 * The table, or NULL with why copied into err ("cannot load libcurl.so.4:
 * ..."; the same text on every later call). */
const struct evt__curl *evt__curl_load(char *err, size_t errlen);

#endif
