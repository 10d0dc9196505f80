"""The ``doc sign`` path, documents per second on one core, against raw Ed25519 sign.

What is measured: what ``tradeaccord doc sign`` does to each input file, without the file
I/O and key loading (once per process): the input bytes parsed strictly
(``parse_json``), ``node.services.documents.prepare`` (id, issuedAt, issuer), validation
against the type's schema, ``sign_document`` (the RFC 8785 bytes of the document, readable
numbers checked, the protected header, one Ed25519 signature) and the JWS serialised as
the command writes it (``to_json``). Every input is a distinct certificate of origin (its
own id); all signed by one document signer.

The limit, measured in the same run and on the same core: one raw Ed25519 signature
(``cryptography``) by the same key over a real signing input of the same length. The ratio
is the path's rate over the limit's (target >= 0.5).

CPU time, path and limit interleaved document by document, in rounds; the best round of
each counts (see ``bench/_common``). ``--profile`` prints where the path's time goes.
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import json
import pstats
import time

from bench._common import Rounds, interleaved, pin_one_core, raw_sign_with, report
from bench._world import ISSUER, SIGNED_AT, build_world
from node.services.documents import prepare
from protocol.limits import DEFAULT_LIMITS
from protocol.signed_document import sign_document
from protocol.strict_json import parse_json

TARGET = 0.5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=500, help="distinct documents (500)")
    parser.add_argument("--rounds", type=int, default=7, help="rounds (7)")
    parser.add_argument("--quick", action="store_true", help="200 documents, 3 rounds")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of one pass")
    args = parser.parse_args()
    if args.quick:
        args.documents, args.rounds = 200, 3
    started = time.perf_counter()
    pinned = pin_one_core()
    world = build_world()
    inputs = [json.dumps(world.document(n), indent=2).encode("utf-8")
              for n in range(args.documents)]

    def doc_sign(data: bytes) -> bytes:
        document = parse_json(data, max_bytes=DEFAULT_LIMITS.max_document_bytes,
                              max_depth=DEFAULT_LIMITS.max_depth)
        prepared = prepare(document, ISSUER, SIGNED_AT)
        world.schemas.validate(prepared)
        return sign_document(prepared, world.signer, signed_at=SIGNED_AT).to_json() + b"\n"

    sample = json.loads(doc_sign(inputs[0]))
    signature = sample["signatures"][0]
    signing_input = f"{signature['protected']}.{sample['payload']}".encode("ascii")
    limit = raw_sign_with(world.signer, signing_input)
    calls = [functools.partial(doc_sign, data) for data in inputs]
    rounds = Rounds()
    for _ in range(args.rounds):
        rate, limit_rate, _ = interleaved(calls, limit)
        rounds.add(rate, limit_rate)
    lines = [f"round {n + 1}: doc sign {f:,.0f} docs/s, raw sign {lim:,.0f} /s, ratio {f / lim:.3f}"
             for n, (f, lim) in enumerate(zip(rounds.figure, rounds.limit, strict=True))]
    lines.append(f"{len(inputs)} distinct certificates of origin, {len(inputs[0]):,} bytes of input "
                 f"each, signing input {len(signing_input):,} bytes; one core: {pinned}; "
                 f"median round ratio {rounds.median_round_ratio:.3f}")
    if args.profile:
        profile = cProfile.Profile(time.process_time)
        profile.enable()
        for call in calls:
            call()
        profile.disable()
        pstats.Stats(profile).sort_stats("tottime").print_stats(25)
    report(bench="sign", unit="docs/s", value=rounds.best_figure, limit=rounds.best_limit,
           limit_name="raw Ed25519 sign", target=TARGET, lines=lines, started=started,
           extra={"documents": len(inputs), "rounds": args.rounds,
                  "median_round_ratio": round(rounds.median_round_ratio, 4),
                  "us_per_doc": round(1e6 / rounds.best_figure, 1),
                  "us_per_raw_sign": round(1e6 / rounds.best_limit, 1)})


if __name__ == "__main__":
    main()
