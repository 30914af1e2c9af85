"""Exceptions and the C status codes (include/evtrack/sink.h)."""

OK = 0
EINVAL = -2
ENOMEM = -3
EIO = -4
EABI = -5
ECONFIG = -6
ETIMEDOUT = -7
ECLOSED = -8
EDROPPED = -9

_NAMES = {
    0: "EVT_OK", 1: "EVT_RETRY", -1: "EVT_ERROR", EINVAL: "EVT_EINVAL",
    ENOMEM: "EVT_ENOMEM", EIO: "EVT_EIO", EABI: "EVT_EABI",
    ECONFIG: "EVT_ECONFIG", ETIMEDOUT: "EVT_ETIMEDOUT",
    ECLOSED: "EVT_ECLOSED", EDROPPED: "EVT_EDROPPED",
}


def status_name(status):
    """The C name of a status code, e.g. "EVT_ECONFIG"."""
    return _NAMES.get(status, "EVT_UNKNOWN(%d)" % status)


class Error(Exception):
    """A failed evtrack call. str(e) is the C library's message (it names
    the file, the JSON path or the field); e.status is the C status code
    (evtrack.ECONFIG, evtrack.EINVAL, ...)."""

    def __init__(self, message, status=EINVAL):
        super().__init__(message)
        self.status = status

    @property
    def status_name(self):
        return status_name(self.status)


class EncodeError(Error, ValueError):
    """An event or config value that cannot become JSON (NaN, Infinity,
    bytes, a set, a non-string key, ...), found before any C call. The
    message names the field, e.g. 'sample event: field "metrics.acc": NaN
    is not valid JSON'."""


class Timeout(Error, TimeoutError):
    """flush() or close() passed its deadline (EVT_ETIMEDOUT)."""

    def __init__(self, message, status=ETIMEDOUT):
        super().__init__(message, status)


def make_error(message, status):
    """The exception class that fits a status."""
    if status == ETIMEDOUT:
        return Timeout(message)
    return Error(message, status)
