#!/usr/bin/env python3
"""card_check.py README.md -- parse a dataset card's YAML front matter and
check its `configs` as the Hub's dataset viewer (huggingface/datasets
MetadataConfigs, protocols.md 1.8) would. python3 stdlib only.

The YAML parser takes the block subset cards use (mappings, sequences,
"- key: value" items, plain / single- / double-quoted scalars) with YAML
1.1 scalar resolution, as PyYAML does, so a split written as a bare
20250101_120000 comes back as an int and is reported. Anything outside
the subset (flow collections, anchors, tabs, block scalars) is an error.

Prints one JSON object: {"ok": true, "front": {...}} or
{"ok": false, "errors": [...], "front": ...}; exits 0 when ok."""
import json
import re
import sys

SPLIT_RE = re.compile(r"^\w+(\.\w+)*$")
BAD_CONFIG_CHARS = set('<>:/\\|?*.')
INT_RE = re.compile(r"^[-+]?(0|[1-9][0-9_]*)$")
FLOAT_RE = re.compile(r"^[-+]?([0-9][0-9_]*)?\.[0-9_]*([eE][-+][0-9]+)?$")


class YamlError(Exception):
    pass


def scalar(s):
    s = s.strip()
    if s.startswith("'"):
        if len(s) < 2 or not s.endswith("'"):
            raise YamlError("unterminated single-quoted scalar: " + s)
        inner = s[1:-1]
        if re.search(r"(?<!')'(?!')", inner.replace("''", "")):
            raise YamlError("stray quote in " + s)
        return inner.replace("''", "'")
    if s.startswith('"'):
        return json.loads(s)
    if s == "" or s[0] in "[{&*!|>%@`#":
        raise YamlError("unsupported scalar: %r" % s)
    if ": " in s or " #" in s:
        raise YamlError("ambiguous plain scalar: %r" % s)
    low = s.lower()
    if low in ("null", "~"):
        return None
    if low in ("true", "yes", "on"):
        return True
    if low in ("false", "no", "off"):
        return False
    if INT_RE.match(s):
        return int(s.replace("_", ""))
    if FLOAT_RE.match(s) and any(c.isdigit() for c in s):
        return float(s.replace("_", ""))
    return s


def lines_of(text):
    out = []
    for raw in text.split("\n"):
        if "\t" in raw:
            raise YamlError("tab in YAML")
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        out.append([len(raw) - len(raw.lstrip(" ")), raw.strip()])
    return out


def is_item(c):
    return c == "-" or c.startswith("- ")


def parse_block(ls, i, ind):
    if is_item(ls[i][1]):
        return parse_seq(ls, i, ind)
    return parse_map(ls, i, ind)


def parse_seq(ls, i, ind):
    items = []
    while i < len(ls) and ls[i][0] == ind and is_item(ls[i][1]):
        rest = ls[i][1][1:].strip()
        if not rest:
            if i + 1 >= len(ls) or ls[i + 1][0] <= ind:
                items.append(None)
                i += 1
                continue
            v, i = parse_block(ls, i + 1, ls[i + 1][0])
        elif re.match(r"^[^'\"][^:]*:( |$)", rest):
            ls[i] = [ind + 2, rest]
            v, i = parse_map(ls, i, ind + 2)
        else:
            v, i = scalar(rest), i + 1
        items.append(v)
    return items, i


def parse_map(ls, i, ind):
    d = {}
    while i < len(ls) and ls[i][0] == ind and not is_item(ls[i][1]):
        m = re.match(r"^([A-Za-z_][\w-]*):(?: (.*))?$", ls[i][1])
        if not m:
            raise YamlError("expected 'key: value', got %r" % ls[i][1])
        key, rest = m.group(1), m.group(2)
        if key in d:
            raise YamlError("duplicate key " + key)
        i += 1
        if rest is not None and rest.strip():
            d[key] = scalar(rest)
        elif i < len(ls) and (ls[i][0] > ind or
                              (ls[i][0] == ind and is_item(ls[i][1]))):
            d[key], i = parse_block(ls, i, ls[i][0])
        else:
            d[key] = None
    if i < len(ls) and ls[i][0] > ind:
        raise YamlError("bad indentation at %r" % ls[i][1])
    return d, i


def front_matter(text):
    if not text.startswith("---\n"):
        raise YamlError("no front matter: the file must start with ---")
    end = text.find("\n---\n", 3)
    if end < 0:
        raise YamlError("front matter not closed by ---")
    ls = lines_of(text[4:end + 1])
    if not ls:
        return {}
    v, i = parse_block(ls, 0, ls[0][0])
    if i != len(ls):
        raise YamlError("trailing YAML at %r" % ls[i][1])
    return v


def check_config(c, errors, seen):
    name = c.get("config_name") if isinstance(c, dict) else None
    if not isinstance(name, str) or not name:
        errors.append("config without a string config_name: %r" % (c,))
        return
    if set(name) & BAD_CONFIG_CHARS:
        errors.append("config name %r has one of < > : / \\ | ? * ." % name)
    if name in seen:
        errors.append("duplicate config name %r" % name)
    seen.add(name)
    files = c.get("data_files")
    if not isinstance(files, list) or not files:
        errors.append("%s: data_files must be a non-empty list" % name)
        return
    splits = set()
    for f in files:
        if not isinstance(f, dict) or set(f) != {"split", "path"}:
            errors.append("%s: each data_files item needs exactly split "
                          "and path: %r" % (name, f))
            continue
        s, p = f["split"], f["path"]
        if not isinstance(s, str) or not SPLIT_RE.match(s):
            errors.append("%s: bad split name %r" % (name, s))
        if s in splits:
            errors.append("%s: duplicate split %r" % (name, s))
        splits.add(s)
        if not (isinstance(p, str) or (isinstance(p, list) and p and
                                       all(isinstance(x, str) for x in p))):
            errors.append("%s: path must be a string or strings" % name)
    if "latest" not in splits:
        errors.append("%s: no latest split" % name)


def check(front):
    errors = []
    if not isinstance(front, dict):
        return ["front matter is not a mapping"]
    configs = front.get("configs")
    if not isinstance(configs, list):
        return ["configs must be a list"]
    seen = set()
    for c in configs:
        check_config(c, errors, seen)
    defaults = [c for c in configs if isinstance(c, dict) and
                (c.get("default") is True or c.get("config_name") == "default")]
    if len(defaults) > 1:
        errors.append("more than one default config")
    return errors


def main():
    text = open(sys.argv[1], encoding="utf-8").read()
    try:
        front = front_matter(text)
        errors = check(front)
    except YamlError as e:
        front, errors = None, ["YAML: %s" % e]
    print(json.dumps({"ok": not errors, "errors": errors, "front": front}))
    sys.exit(0 if not errors else 1)


if __name__ == "__main__":
    main()
