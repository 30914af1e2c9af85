"""Finding and loading libevtrack.so, and the C prototypes (ctypes).

Search order (the first that exists wins):
  1. the path given to evtrack.open(..., lib=PATH) or load_library(PATH);
  2. $EVTRACK_LIB;
  3. next to the package: the package folder and up to four folders above
     it, each as itself, lib/, lib/<multiarch>/ and build/lib/ (an install
     prefix, or this source tree with its build/ folder);
  4. ctypes.util.find_library("evtrack") (the system's library paths).
The library then finds its plugins relative to its own location
(docs/CONFIG.md section 5), or through $EVTRACK_PLUGIN_PATH."""

import ctypes
import ctypes.util
import os
import sysconfig
import threading

from ._errors import Error, EINVAL

_NAMES = ("libevtrack.so", "libevtrack.so.0")
_lock = threading.Lock()
_loaded = {}  # realpath -> CDLL


class SinkStatsC(ctypes.Structure):
    """struct evt_sink_stats"""
    _fields_ = [
        ("name", ctypes.c_char * 64),
        ("plugin", ctypes.c_char * 64),
        ("enabled", ctypes.c_int),
        ("queued", ctypes.c_uint64),
        ("written", ctypes.c_uint64),
        ("retried", ctypes.c_uint64),
        ("spilled", ctypes.c_uint64),
        ("dropped", ctypes.c_uint64),
        ("dead_lettered", ctypes.c_uint64),
        ("depth", ctypes.c_uint64),
    ]


def _candidates_near_package():
    here = os.path.dirname(os.path.abspath(__file__))
    multiarch = sysconfig.get_config_var("MULTIARCH") or ""
    subs = ["", "lib", "build/lib"]
    if multiarch:
        subs.insert(2, os.path.join("lib", multiarch))
    d = here
    for _ in range(5):
        for sub in subs:
            for name in _NAMES:
                yield os.path.join(d, sub, name)
        d = os.path.dirname(d)


def find_library(path=None):
    """The path of the library that load_library(path) would load."""
    if path is not None:
        path = os.fspath(path)
        if not os.path.exists(path):
            raise Error("%s: libevtrack not found (the path given)" % path,
                        EINVAL)
        return path
    env = os.environ.get("EVTRACK_LIB")
    if env:
        if not os.path.exists(env):
            raise Error("%s: libevtrack not found ($EVTRACK_LIB)" % env,
                        EINVAL)
        return env
    for cand in _candidates_near_package():
        if os.path.isfile(cand):
            return cand
    found = ctypes.util.find_library("evtrack")
    if found:
        return found
    raise Error("libevtrack.so not found: pass lib=PATH, set EVTRACK_LIB, "
                "install it next to the package, or in a system library "
                "folder", EINVAL)


def _prototypes(lib):
    vp, cp, i64, sz = (ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int64,
                       ctypes.c_size_t)
    c = ctypes.c_int
    protos = {
        "evt_open_file": (c, [cp, ctypes.POINTER(vp), cp, sz]),
        "evt_open_json": (c, [cp, cp, ctypes.POINTER(vp), cp, sz]),
        "evt_run_id": (cp, [vp]),
        "evt_run_stamp": (cp, [vp]),
        "evt_log_json": (c, [vp, ctypes.c_uint, cp]),
        "evt_log_scalar": (c, [vp, cp, ctypes.c_double, i64]),
        "evt_log_run_end": (c, [vp]),
        "evt_flush": (c, [vp, i64]),
        "evt_close": (c, [vp, i64]),
        "evt_stats": (sz, [vp, ctypes.POINTER(SinkStatsC), sz]),
        "evt_last_error": (sz, [vp, cp, sz]),
        "evt_status_name": (cp, [c]),
    }
    for name, (restype, argtypes) in protos.items():
        fn = getattr(lib, name)
        fn.restype = restype
        fn.argtypes = argtypes


def load_library(path=None):
    """Load (once per file) and return the ctypes handle of libevtrack.
    ctypes.CDLL releases the GIL around every call, so threads log in
    parallel, as the C API allows."""
    where = find_library(path)
    key = os.path.realpath(where) if os.path.sep in where else where
    with _lock:
        lib = _loaded.get(key)
        if lib is None:
            try:
                lib = ctypes.CDLL(where)
                _prototypes(lib)
            except (OSError, AttributeError) as e:
                raise Error("%s: cannot load libevtrack: %s" % (where, e),
                            EINVAL) from None
            _loaded[key] = lib
        return lib
