"""Offline verification pipeline, documents per second on one core, against raw Ed25519 verify.

What is measured: ``trust_registry.verification.verify_and_decide`` on signed certificates
of origin as received (JWS bytes): the JWS container parsed strictly, the issuer signature's
integrity (profile checks and the Ed25519 verification over the bytes as received), the
chain to the issuer's anchor in the registry, the payload parsed strictly and validated
against its schema, and the recognition decision for the receiving authority. Every
document is distinct (its own id, so its own payload and signature) and every one must come
out valid and recognised, or the benchmark stops. The signer is the same for all, as on a
node receiving from one partner: its chain validation and certificate decoding are
memoised after the first document, as in production.

The limit, measured in the same run and on the same core: one raw Ed25519 verification
(``cryptography``) of a document's real signature over its real signing input (the same
bytes, the same length). The ratio is the pipeline's rate over the limit's (target >= 0.5).

CPU time, pipeline and limit interleaved document by document, in rounds; the best round
of each counts (see ``bench/_common``).
``--profile`` prints where the pipeline's time goes (cProfile, one extra pass).
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import pstats
import time

from bench._common import Rounds, interleaved, pin_one_core, raw_verify_with, report
from bench._world import AT, RECEIVER, SIGNED_AT, build_world
from protocol.jws import GeneralJWS
from protocol.signed_document import sign_document
from trust_registry.verification import verify_and_decide

TARGET = 0.5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=500, help="distinct documents (500)")
    parser.add_argument("--rounds", type=int, default=7, help="alternating rounds (7)")
    parser.add_argument("--quick", action="store_true", help="200 documents, 3 rounds")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of one pass")
    args = parser.parse_args()
    if args.quick:
        args.documents, args.rounds = 200, 3
    started = time.perf_counter()
    pinned = pin_one_core()
    world = build_world()
    signed = [sign_document(world.document(n), world.signer, signed_at=SIGNED_AT).to_json()
              for n in range(args.documents)]

    def pipeline(data: bytes) -> None:
        result = verify_and_decide(data, registry=world.registry, receiver=RECEIVER, at=AT,
                                   schemas=world.schemas)
        if not result.valid:
            raise SystemExit(f"benchmark document refused: {result.report()['reasons']}")

    for data in signed[:3]:
        pipeline(data)  # warm-up, and a check that they verify
    first = GeneralJWS.parse(signed[0])
    signing_input = f"{first.signatures[0].protected_b64}.{first.payload_b64}".encode("ascii")
    limit = raw_verify_with(world.signer, first, signing_input)
    calls = [functools.partial(pipeline, data) for data in signed]
    rounds = Rounds()
    spent: list[int] = []
    for _ in range(args.rounds):
        rate, limit_rate, times = interleaved(calls, limit)
        rounds.add(rate, limit_rate)
        spent.extend(times)
    spent.sort()
    lines = [f"round {n + 1}: pipeline {f:,.0f} docs/s, raw verify {lim:,.0f} /s, ratio {f / lim:.3f}"
             for n, (f, lim) in enumerate(zip(rounds.figure, rounds.limit, strict=True))]
    lines.append(f"{len(signed)} distinct certificates of origin, {len(signed[0]):,} bytes of JWS "
                 f"each, signing input {len(signing_input):,} bytes; one core: {pinned}; "
                 f"median round ratio {rounds.median_round_ratio:.3f}")
    if args.profile:
        profile = cProfile.Profile(time.process_time)
        profile.enable()
        for call in calls:
            call()
        profile.disable()
        pstats.Stats(profile).sort_stats("tottime").print_stats(25)
    report(bench="verify", unit="docs/s", value=rounds.best_figure, limit=rounds.best_limit,
           limit_name="raw Ed25519 verify", target=TARGET, lines=lines, started=started,
           extra={"documents": len(signed), "rounds": args.rounds,
                  "median_round_ratio": round(rounds.median_round_ratio, 4),
                  "us_per_doc": round(1e6 / rounds.best_figure, 1),
                  "median_doc_cpu_us": round(spent[len(spent) // 2] / 1000, 1),
                  "us_per_raw_verify": round(1e6 / rounds.best_limit, 1)})


if __name__ == "__main__":
    main()
