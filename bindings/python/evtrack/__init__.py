"""evtrack: record evaluation results from Python (ctypes binding of
libevtrack; no compiled extension, no third-party package).

    import evtrack
    with evtrack.open("evtrack.json") as t:
        t.log_run_start(model_name="org/model")
        t.log_scalar("train/loss", 1.25, step=100)
        t.log_result("mme", "acc", 0.81, stderr=0.01, step=100)
        t.log_run_end()

See bindings/python/README.md and docs/EMBEDDING.md."""

from ._errors import (EABI, ECLOSED, ECONFIG, EDROPPED, EINVAL, EIO, ENOMEM,
                      ETIMEDOUT, OK, EncodeError, Error, Timeout, status_name)
from ._lib import find_library, load_library
from ._tracker import CLOSE_TIMEOUT, KINDS, SinkStats, Tracker, open

__version__ = "0.1.0"

__all__ = [
    "open", "Tracker", "SinkStats", "Error", "EncodeError", "Timeout",
    "load_library", "find_library", "status_name", "KINDS", "CLOSE_TIMEOUT",
    "OK", "EINVAL", "ENOMEM", "EIO", "EABI", "ECONFIG", "ETIMEDOUT",
    "ECLOSED", "EDROPPED",
]
