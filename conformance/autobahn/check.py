#!/usr/bin/env python3
"""Check an Autobahn|Testsuite fuzzingclient report.

Reads REPORT_DIR/index.json (written by `wstest -m fuzzingclient`), prints
the number of cases per behavior and per closing behavior, lists every case
that is not acceptable with its description, expectation and result taken
from the per-case JSON, and exits 1 if there is any (or if fewer cases than
--expect were run).

Acceptable: behavior OK, NON-STRICT or INFORMATIONAL (the suite only gives
the last two where the case allows them), and closing behavior OK or
INFORMATIONAL. Everything else (FAILED, UNIMPLEMENTED, and closing
behaviors FAILED, UNCLEAN, WRONG CODE, FAILED BY CLIENT) is a failure.
"""

import argparse
import collections
import json
import os
import sys

OK_BEHAVIOR = {"OK", "NON-STRICT", "INFORMATIONAL"}
OK_CLOSE = {"OK", "INFORMATIONAL"}


def case_key(case_id):
    return tuple(int(p) if p.isdigit() else p for p in case_id.split("."))


def shorten(value, limit=600):
    text = value if isinstance(value, str) else json.dumps(value)
    if len(text) > limit:
        text = text[:limit] + "... (%d chars)" % len(text)
    return text


def load_case(report_dir, entry):
    path = os.path.join(report_dir, entry.get("reportfile", ""))
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("report_dir")
    ap.add_argument("--expect", type=int, default=0,
                    help="number of cases the run should have produced")
    args = ap.parse_args()

    index_path = os.path.join(args.report_dir, "index.json")
    try:
        with open(index_path) as f:
            index = json.load(f)
    except (OSError, ValueError) as e:
        print("check: cannot read %s: %s" % (index_path, e))
        return 1
    if not index:
        print("check: %s lists no agent" % index_path)
        return 1

    failures = 0
    for agent, cases in sorted(index.items()):
        behaviors = collections.Counter(c["behavior"] for c in cases.values())
        closes = collections.Counter(c["behaviorClose"] for c in cases.values())
        print("agent %s: %d cases" % (agent, len(cases)))
        print("  behavior:      " + ", ".join(
            "%s %d" % kv for kv in sorted(behaviors.items())))
        print("  behaviorClose: " + ", ".join(
            "%s %d" % kv for kv in sorted(closes.items())))

        if args.expect and len(cases) < args.expect:
            print("  MISSING: %d of %d cases have no result (run cut short?)"
                  % (args.expect - len(cases), args.expect))
            failures += args.expect - len(cases)

        soft = [cid for cid, c in cases.items()
                if c["behavior"] in OK_BEHAVIOR - {"OK"}
                or c["behaviorClose"] in OK_CLOSE - {"OK"}]
        for cid in sorted(soft, key=case_key):
            c = cases[cid]
            detail = load_case(args.report_dir, c) or {}
            print("  (acceptable) case %s: %s / %s, close code %s: %s"
                  % (cid, c["behavior"], c["behaviorClose"],
                     c.get("remoteCloseCode"), detail.get("result", "?")))

        bad = [cid for cid, c in cases.items()
               if c["behavior"] not in OK_BEHAVIOR
               or c["behaviorClose"] not in OK_CLOSE]
        for cid in sorted(bad, key=case_key):
            c = cases[cid]
            failures += 1
            print()
            print("  case %s: behavior %s, behaviorClose %s, remote close code %s"
                  % (cid, c["behavior"], c["behaviorClose"],
                     c.get("remoteCloseCode")))
            detail = load_case(args.report_dir, c)
            if detail is None:
                print("    (no readable case report %s)" % c.get("reportfile"))
                continue
            for field in ("description", "expectation", "result",
                          "resultClose"):
                print("    %-12s %s" % (field + ":", shorten(detail.get(field, ""))))
            print("    %-12s %s" % ("expected:", shorten(detail.get("expected"))))
            print("    %-12s %s" % ("received:", shorten(detail.get("received"))))
            print("    %-12s %s" % ("closeCode:", shorten(
                detail.get("expectedClose", {}).get("closeCode"))))

    print()
    if failures:
        print("check: %d case(s) not acceptable" % failures)
        return 1
    print("check: every case acceptable")
    return 0


if __name__ == "__main__":
    sys.exit(main())
