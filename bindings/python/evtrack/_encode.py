"""Python values -> compact JSON text, strictly.

evt_log_json accepts NaN and Infinity (json.dumps writes them), but they
are not JSON and most readers of the files refuse them, so the binding
refuses them here, before any C call, with the path of the bad value.
The same for values json has no form for (bytes, sets, objects) and for
non-string keys, which json.dumps would silently turn into strings (and so
could repeat a key). One pass: the text is built while it is checked."""

import math
import numbers
from collections.abc import Mapping
from json.encoder import encode_basestring

from ._errors import EncodeError

MAX_DEPTH = 15  # the core's limit for one JSON value (docs/EVENTS.md)


class _Bad(Exception):
    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason
        self.path = []


def _string(s):
    # encode_basestring keeps non-ASCII as is; lone surrogates would fail
    # only at .encode("utf-8"), with no path, so check them here.
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        raise _Bad("string is not valid Unicode (lone surrogate)") from None
    return encode_basestring(s)


def _float(v):
    if math.isnan(v):
        raise _Bad("NaN is not valid JSON (evtrack refuses NaN and Infinity)")
    if math.isinf(v):
        raise _Bad("%s is not valid JSON (evtrack refuses NaN and Infinity)"
                   % ("Infinity" if v > 0 else "-Infinity"))
    return float.__repr__(v)


def _scalar(v):
    """JSON text of a non-container value (subclasses and numbers ABC
    types such as numpy scalars included)."""
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return _string(str.__str__(v))
    if isinstance(v, numbers.Integral):
        return int.__repr__(int(v))
    if isinstance(v, numbers.Real):
        return _float(float(v))
    raise _Bad("a %s value cannot be encoded as JSON" % type(v).__name__)


def _encode(v, out, depth):
    t = type(v)
    if t is str:
        out.append(_string(v))
    elif t is float:
        out.append(_float(v))
    elif t is int:
        out.append(int.__repr__(v))
    elif t is dict or isinstance(v, Mapping):
        _encode_map(v, out, depth + 1)
    elif t is list or t is tuple:
        _encode_list(v, out, depth + 1)
    else:
        out.append(_scalar(v))


def _encode_map(m, out, depth):
    if depth > MAX_DEPTH:
        raise _Bad("nesting deeper than %d levels (or a circular reference)"
                   % MAX_DEPTH)
    out.append("{")
    first = True
    for k, x in m.items():
        if not isinstance(k, str):
            raise _Bad("key %r is not a string" % (k,))
        if not first:
            out.append(",")
        first = False
        out.append(_string(k) if type(k) is str else _scalar(k))
        out.append(":")
        try:
            _encode(x, out, depth)
        except _Bad as e:
            e.path.insert(0, "." + k)
            raise
    out.append("}")


def _encode_list(a, out, depth):
    if depth > MAX_DEPTH:
        raise _Bad("nesting deeper than %d levels (or a circular reference)"
                   % MAX_DEPTH)
    out.append("[")
    for i, x in enumerate(a):
        if i:
            out.append(",")
        try:
            _encode(x, out, depth)
        except _Bad as e:
            e.path.insert(0, "[%d]" % i)
            raise
    out.append("]")


def encode_object(obj, what):
    """UTF-8 JSON text of a mapping. what prefixes errors ("sample event",
    "config"). Raises EncodeError naming the field."""
    if not isinstance(obj, Mapping):
        raise EncodeError("%s: expected a dict, got %s"
                          % (what, type(obj).__name__))
    out = []
    try:
        _encode_map(obj, out, 1)
    except _Bad as e:
        path = "".join(e.path).lstrip(".")
        where = ' field "%s":' % path if path else ""
        raise EncodeError("%s:%s %s" % (what, where, e.reason)) from None
    return "".join(out).encode("utf-8")
