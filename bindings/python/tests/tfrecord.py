"""A small TensorBoard event-file reader for the tests (stdlib only; it
shares no code with the sink): TFRecord framing with both masked CRC-32C
checked, and the few tensorboard.Event fields the tests look at."""

import struct

_POLY = 0x82F63B78
_TABLE = []
for _i in range(256):
    _c = _i
    for _ in range(8):
        _c = (_c >> 1) ^ (_POLY if _c & 1 else 0)
    _TABLE.append(_c)


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = _TABLE[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def masked_crc(data):
    c = crc32c(data)
    return ((((c >> 15) | (c << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


def records(buf):
    """The records of a TFRecord file; raises ValueError on a bad CRC or a
    torn record."""
    out, at = [], 0
    while at < len(buf):
        if len(buf) - at < 12:
            raise ValueError("torn header at offset %d" % at)
        (n,) = struct.unpack_from("<Q", buf, at)
        (lcrc,) = struct.unpack_from("<I", buf, at + 8)
        if lcrc != masked_crc(buf[at:at + 8]):
            raise ValueError("length CRC of record %d" % len(out))
        data = buf[at + 12:at + 12 + n]
        if len(data) != n or len(buf) < at + 16 + n:
            raise ValueError("torn record at offset %d" % at)
        (dcrc,) = struct.unpack_from("<I", buf, at + 12 + n)
        if dcrc != masked_crc(data):
            raise ValueError("data CRC of record %d" % len(out))
        out.append(bytes(data))
        at += 16 + n
    return out


def _varint(b, at):
    v = shift = 0
    while True:
        x = b[at]
        at += 1
        v |= (x & 0x7F) << shift
        shift += 7
        if not x & 0x80:
            return v, at


def fields(b):
    """(field number, wire type, value) of one protobuf message."""
    at = 0
    while at < len(b):
        key, at = _varint(b, at)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, at = _varint(b, at)
        elif wt == 1:
            v, at = b[at:at + 8], at + 8
        elif wt == 2:
            n, at = _varint(b, at)
            v, at = b[at:at + n], at + n
        elif wt == 5:
            v, at = b[at:at + 4], at + 4
        else:
            raise ValueError("wire type %d" % wt)
        yield num, wt, v


def scalars(path):
    """[(step, tag, value)] of every simple_value in an event file."""
    out = []
    with open(path, "rb") as f:
        recs = records(f.read())
    for rec in recs:
        step, values = 0, []
        for num, wt, v in fields(rec):
            if num == 2 and wt == 0:
                step = v
            elif num == 5 and wt == 2:  # summary
                for snum, swt, sv in fields(v):
                    if snum == 1 and swt == 2:  # Summary.Value
                        values.append(sv)
        for val in values:
            tag, simple = None, None
            for vnum, vwt, vv in fields(val):
                if vnum == 1 and vwt == 2:
                    tag = vv.decode("utf-8")
                elif vnum == 2 and vwt == 5:
                    (simple,) = struct.unpack("<f", vv)
            if simple is not None:
                out.append((step, tag, simple))
    return out
