"""The Tracker: one evt_tracker* and the calls on it."""

import ctypes
import math
import os
import threading
import weakref
from collections.abc import Mapping
from dataclasses import dataclass

from . import _errors as st
from ._encode import encode_object
from ._errors import EncodeError, Error, Timeout, make_error
from ._lib import SinkStatsC, load_library

KINDS = {
    "run_start": 1 << 0,
    "task_config": 1 << 1,
    "sample": 1 << 2,
    "result": 1 << 3,
    "scalar": 1 << 4,
    "run_end": 1 << 5,
}

CLOSE_TIMEOUT = 10.0  # seconds: close() default, context manager, finalizer
_ERRLEN = 512         # EVT_ERRMSG_SIZE


class _Fork:
    """Fork generation: a tracker belongs to the process that opened it.
    In a child every call raises Error(ECLOSED), as the C API returns."""
    generation = 0


def _after_fork_in_child():
    _Fork.generation += 1


os.register_at_fork(after_in_child=_after_fork_in_child)


@dataclass(frozen=True)
class SinkStats:
    """One sink's counters (struct evt_sink_stats)."""
    name: str
    plugin: str
    enabled: bool
    queued: int
    written: int
    retried: int
    spilled: int
    dropped: int
    dead_lettered: int
    depth: int


class _Gate:
    """Counts calls in progress so that close() frees the C tracker only
    after every other thread has left the library: evt_close must be the
    last call on a tracker, and a late call must raise, not crash."""

    def __init__(self):
        self._cv = threading.Condition(threading.Lock())
        self._busy = 0
        self.closed = False

    def enter(self):
        with self._cv:
            if self.closed:
                raise Error("the tracker is closed", st.ECLOSED)
            self._busy += 1

    def leave(self):
        with self._cv:
            self._busy -= 1
            if self._busy == 0:
                self._cv.notify_all()

    def shut(self):
        """Refuse new calls, wait for the running ones. False if it was
        already shut."""
        with self._cv:
            if self.closed:
                return False
            self.closed = True
            while self._busy:
                self._cv.wait()
            return True


def _ms(timeout):
    """Seconds (None: forever) -> the C API's milliseconds (< 0: forever)."""
    if timeout is None:
        return -1
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) \
            or math.isnan(timeout) or timeout < 0:
        raise EncodeError("timeout: expected seconds >= 0 or None, got %r"
                          % (timeout,))
    if math.isinf(timeout):
        return -1
    return min(int(math.ceil(timeout * 1000)), 2**62)


def _merge(kind, head, fields):
    """head's members, then those of fields (a dict or None)."""
    if fields is None:
        return head
    if not isinstance(fields, Mapping):
        raise EncodeError("%s event: expected a dict, got %s"
                          % (kind, type(fields).__name__))
    head.update(fields)
    return head


def _finalize(lib, handle, gate, generation, timeout_ms):
    """Close a tracker that was never closed (garbage collection or
    interpreter exit). Nothing in a forked child: the parent owns it."""
    if generation == _Fork.generation and gate.shut():
        lib.evt_close(handle, timeout_ms)


class Tracker:
    """An open tracker. Use evtrack.open() to get one.

    Every method may be called from any thread at the same time, except
    that close() must be the last call (later calls raise Error). A tracker
    is closed at the end of a with block, by close(), or, as a last resort,
    when it is garbage-collected or the interpreter exits."""

    def __init__(self, lib, handle, close_timeout=CLOSE_TIMEOUT):
        self._lib = lib
        self._h = handle
        self._gen = _Fork.generation
        self._gate = _Gate()
        self.close_timeout = close_timeout
        self._finalizer = weakref.finalize(
            self, _finalize, lib, handle, self._gate, self._gen,
            _ms(close_timeout))

    # ---- plumbing -------------------------------------------------------

    def _enter(self):
        if self._gen != _Fork.generation:
            raise Error("the tracker was opened by the parent process; a "
                        "forked child must open its own", st.ECLOSED)
        self._gate.enter()

    def _raise(self, status, what):
        msg = self._last_error_unlocked() or "%s: %s" % (
            what, st.status_name(status))
        raise make_error(msg, status)

    def _last_error_unlocked(self):
        buf = ctypes.create_string_buffer(_ERRLEN)
        self._lib.evt_last_error(self._h, buf, _ERRLEN)
        return buf.value.decode("utf-8", "replace")

    def _log_json(self, kind_name, text):
        self._enter()
        try:
            rc = self._lib.evt_log_json(self._h, KINDS[kind_name], text)
            if rc == st.EDROPPED:
                return False
            if rc != st.OK:
                self._raise(rc, "%s event" % kind_name)
            return True
        finally:
            self._gate.leave()

    # ---- facts ----------------------------------------------------------

    @property
    def closed(self):
        return self._gate.closed

    @property
    def run_id(self):
        """The run id every event carries."""
        self._enter()
        try:
            return self._lib.evt_run_id(self._h).decode("utf-8")
        finally:
            self._gate.leave()

    @property
    def run_stamp(self):
        """The run's file-name stamp, YYYYMMDD_HHMMSS (UTC)."""
        self._enter()
        try:
            return self._lib.evt_run_stamp(self._h).decode("utf-8")
        finally:
            self._gate.leave()

    @property
    def last_error(self):
        """The tracker's last error message ("" when none). Shared by all
        threads: another thread's error may replace it at any time."""
        self._enter()
        try:
            return self._last_error_unlocked()
        finally:
            self._gate.leave()

    # ---- events ---------------------------------------------------------

    def log(self, kind, fields=None, /, **more):
        """Log one event of kind ("run_start", "task_config", "sample",
        "result", "scalar" or "run_end") whose fields are the members of
        fields and then more. Returns True, or False when a sink with the
        drop_newest overflow policy dropped it (counted in stats()).
        Raises EncodeError for a value that is not JSON (NaN, bytes, ...),
        Error with the C message for a refused event (missing required
        field, reserved field, bad step), Error(ECLOSED) once closed."""
        if kind not in KINDS:
            raise Error("unknown event kind %r (known: %s)"
                        % (kind, ", ".join(KINDS)), st.EINVAL)
        if fields is None:
            obj = more
        elif more:
            if not isinstance(fields, Mapping):
                raise EncodeError("%s event: expected a dict, got %s"
                                  % (kind, type(fields).__name__))
            obj = dict(fields)
            obj.update(more)
        else:
            obj = fields
        return self._log_json(kind, encode_object(obj, "%s event" % kind))

    def log_run_start(self, fields=None, /, **more):
        """run_start: model_source, model_name, model_args, config, ..."""
        return self.log("run_start", fields, **more)

    def log_task_config(self, task, fields=None, /, **more):
        """task_config of task: version, n-shot, higher_is_better, ..."""
        return self.log("task_config", _merge("task_config", {"task": task},
                                              fields), **more)

    def log_sample(self, task, doc_id, fields=None, /, **more):
        """One sample: filter, target, resps, filtered_resps, metrics, ..."""
        return self.log("sample", _merge("sample", {"task": task,
                                                    "doc_id": doc_id},
                                         fields), **more)

    def log_result(self, task, metric, value, /, *, filter="none",
                   stderr=None, step=None, **more):
        """An aggregated metric; stderr None: none; step None: no step."""
        obj = {"task": task, "metric": metric,
               "filter": "none" if filter is None else filter,
               "value": value}
        if stderr is not None:
            obj["stderr"] = stderr
        if step is not None:
            obj["step"] = step
        obj.update(more)
        return self.log("result", obj)

    def log_scalar(self, tag, value, step=None):
        """A training-loop value at step (None: no step)."""
        if not isinstance(tag, str) or "\0" in tag:
            raise EncodeError("scalar event: field \"tag\": expected a str "
                              "without NUL, got %r" % (tag,))
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            # numbers ABC types (numpy scalars) and the rest: the JSON path
            return self.log("scalar", tag=tag, value=value,
                            **({} if step is None else {"step": step}))
        try:
            value = float(value)
        except OverflowError:
            raise EncodeError("scalar event: field \"value\": %d does not "
                              "fit a double" % value) from None
        if not math.isfinite(value):
            raise EncodeError("scalar event: field \"value\": %r is not "
                              "valid JSON (evtrack refuses NaN and Infinity)"
                              % (value,))
        if step is None:
            step = -1
        elif isinstance(step, bool) or not isinstance(step, int) \
                or not 0 <= step < 2**63:
            raise EncodeError("scalar event: field \"step\": expected a "
                              "non-negative integer, got %r" % (step,))
        try:
            ctag = tag.encode("utf-8")
        except UnicodeEncodeError:
            raise EncodeError("scalar event: field \"tag\": string is not "
                              "valid Unicode (lone surrogate)") from None
        self._enter()
        try:
            rc = self._lib.evt_log_scalar(self._h, ctag, value, step)
            if rc == st.EDROPPED:
                return False
            if rc != st.OK:
                self._raise(rc, "scalar event")
            return True
        finally:
            self._gate.leave()

    def log_run_end(self):
        """run_end with end_time_ns and total_seconds since open."""
        self._enter()
        try:
            rc = self._lib.evt_log_run_end(self._h)
            if rc not in (st.OK, st.EDROPPED):
                self._raise(rc, "run_end event")
            return rc == st.OK
        finally:
            self._gate.leave()

    # ---- flush, close, stats ---------------------------------------------

    def flush(self, timeout=None):
        """Wait until every queued event is written and every sink flushed.
        timeout in seconds (None: no limit). Raises Timeout (an Error and
        a TimeoutError) when the deadline passes, Error(EIO) when a sink's
        flush failed."""
        ms = _ms(timeout)
        self._enter()
        try:
            rc = self._lib.evt_flush(self._h, ms)
            if rc != st.OK:
                self._raise(rc, "flush")
        finally:
            self._gate.leave()

    def close(self, timeout=None):
        """Drain, flush and close every sink, and free the tracker; the
        last call on it. timeout in seconds (None: the close_timeout given
        to open(); math.inf: no limit). Events still queued at the deadline
        are spilled or dead-lettered on disk, never dropped silently, and
        Timeout is raised. A second close() does nothing."""
        ms = _ms(self.close_timeout if timeout is None else timeout)
        if self._gen != _Fork.generation:
            raise Error("the tracker was opened by the parent process; a "
                        "forked child must open its own", st.ECLOSED)
        if not self._gate.shut():
            return
        self._finalizer.detach()
        rc = self._lib.evt_close(self._h, ms)
        self._h = None
        if rc == st.ETIMEDOUT:
            raise Timeout("close: the deadline passed; the events still "
                          "queued were put in the spool or dead-letter "
                          "files (see state_dir)")
        if rc != st.OK:
            raise make_error("close: %s" % st.status_name(rc), rc)

    def stats(self):
        """A list of SinkStats, one per sink instance, in config order."""
        self._enter()
        try:
            cap = 16
            while True:
                arr = (SinkStatsC * cap)()
                n = self._lib.evt_stats(self._h, arr, cap)
                if n <= cap:
                    break
                cap = n
        finally:
            self._gate.leave()
        return [SinkStats(
            name=s.name.decode("utf-8", "replace"),
            plugin=s.plugin.decode("utf-8", "replace"),
            enabled=bool(s.enabled), queued=s.queued, written=s.written,
            retried=s.retried, spilled=s.spilled, dropped=s.dropped,
            dead_lettered=s.dead_lettered, depth=s.depth) for s in arr[:n]]

    # ---- context manager ---------------------------------------------------

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.close()
            return
        try:
            self.close()
        except Error:
            pass  # keep the body's exception; the events are on disk

    def __repr__(self):
        if self.closed:
            return "<evtrack.Tracker closed>"
        return "<evtrack.Tracker run_id=%r>" % (self.run_id,)


def open(config, *, base_dir=None, lib=None, close_timeout=CLOSE_TIMEOUT):
    """Open a tracker.

    config: a path to a JSON config file (str or os.PathLike), or a dict
      (the same object as the file). Relative paths in a file resolve
      against its folder; in a dict against base_dir (None: the current
      directory at the time they are used).
    lib: the path of libevtrack.so (default: $EVTRACK_LIB, next to this
      package, then the system's library paths).
    close_timeout: seconds that close() (and a with block) allow by default.
    Raises Error with the C message (naming the file and JSON path) and
    status ECONFIG, EABI or ENOMEM."""
    _ms(close_timeout)  # check it before anything is opened
    clib = load_library(lib)
    handle = ctypes.c_void_p()
    err = ctypes.create_string_buffer(_ERRLEN)
    if isinstance(config, Mapping):
        text = encode_object(config, "config")
        bd = None if base_dir is None else os.fsencode(base_dir)
        rc = clib.evt_open_json(text, bd, ctypes.byref(handle), err, _ERRLEN)
    elif isinstance(config, (str, bytes, os.PathLike)):
        if base_dir is not None:
            raise Error("base_dir is only for a config dict; a file's "
                        "relative paths resolve against its folder",
                        st.EINVAL)
        rc = clib.evt_open_file(os.fsencode(config), ctypes.byref(handle),
                                err, _ERRLEN)
    else:
        raise EncodeError("config: expected a path or a dict, got %s"
                          % type(config).__name__)
    if rc != st.OK:
        raise make_error(err.value.decode("utf-8", "replace")
                         or st.status_name(rc), rc)
    return Tracker(clib, handle.value, close_timeout)
