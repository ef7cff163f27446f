#!/usr/bin/env python3
# Developer-only check for tools/openapi/yaml.lua (run by
# `tools/openapi-import --verify`): loads each YAML file with PyYAML's
# safe_load and compares the result with the JSON our Lua reader made of it.
#   compare.py FILE.yml FILE.json [FILE.yml FILE.json ...]
# PyYAML follows YAML 1.1, our reader YAML 1.2's core schema; the one
# difference these files show is timestamps (safe_load makes datetimes of
# "2020-12-11T21:00:00Z", YAML 1.2 keeps strings). Those are accepted only
# when the string reads back as the same datetime; every other difference
# is reported and fails the run.
import datetime
import json
import math
import sys

import yaml


def same_instant(dt, s):
    try:
        parsed = yaml.safe_load("x: " + s)["x"]
    except Exception:
        return False
    return parsed == dt and type(parsed) is type(dt)


def compare(a, b, where, out, stats):
    if isinstance(a, (datetime.datetime, datetime.date)):
        if isinstance(b, str) and same_instant(a, b):
            stats["timestamps"] += 1
            return
        out.append("%s: %r vs %r" % (where, a, b))
        return
    if isinstance(a, bool) or isinstance(b, bool):
        if type(a) is not type(b) or a != b:
            out.append("%s: %r vs %r" % (where, a, b))
        return
    if isinstance(a, dict):
        if not isinstance(b, dict):
            out.append("%s: mapping vs %r" % (where, type(b).__name__))
            return
        ka = {str(k) for k in a}
        kb = set(b)
        for k in sorted(ka - kb):
            out.append("%s: key %r missing" % (where, k))
        for k in sorted(kb - ka):
            out.append("%s: key %r extra" % (where, k))
        for k, v in a.items():
            if str(k) in b:
                compare(v, b[str(k)], where + "/" + str(k), out, stats)
        return
    if isinstance(a, list):
        if not isinstance(b, list) or len(a) != len(b):
            out.append("%s: sequence of %d vs %r" % (where, len(a), b if not isinstance(b, list) else len(b)))
            return
        for i, (x, y) in enumerate(zip(a, b)):
            compare(x, y, "%s/%d" % (where, i), out, stats)
        return
    if isinstance(a, float) and isinstance(b, (int, float)):
        if a == b or (math.isnan(a) and math.isnan(b)):
            if isinstance(b, float):
                stats["floats"] += 1
                return
        out.append("%s: %r vs %r" % (where, a, b))
        return
    if type(a) is not type(b) or a != b:
        out.append("%s: %r vs %r" % (where, a, b))
        return
    stats["scalars"] += 1


def main(args):
    failed = 0
    for i in range(0, len(args), 2):
        with open(args[i], encoding="utf-8") as f:
            expected = yaml.safe_load(f)
        with open(args[i + 1], encoding="utf-8") as f:
            got = json.load(f)
        out = []
        stats = {"scalars": 0, "floats": 0, "timestamps": 0}
        compare(expected, got, "", out, stats)
        name = args[i].rsplit("/", 1)[-1]
        if out:
            failed += 1
            print("%s: %d differences" % (name, len(out)))
            for line in out[:20]:
                print("  " + line)
        else:
            print("%s: identical (%d scalars, %d floats, %d timestamps kept as strings)"
                  % (name, stats["scalars"], stats["floats"], stats["timestamps"]))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
