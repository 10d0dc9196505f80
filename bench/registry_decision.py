"""Recognition decisions per second, with 10 and with 10,000 agreements in the registry.

What is measured: ``trust_registry.recognise`` alone, as the node calls it after the issuer
signature's integrity was checked. Signature verification is excluded: each document's
integrity evidence is computed once, and one warm-up decision per document fills the chain
cache, as a running node's cache would be after the first document of each signer.

How the registries are built (documented fast path):

- 1,000 authorities (the large registry) or 11 (the small one), each with its own root key
  and certificate (Ed25519 key generation is cheap). The document signers of the issuers
  reuse a handful of key pairs under distinct certificates: the lookup is by authority id
  and certificate fingerprint, so key reuse changes nothing that is measured.
- 10,000 agreements between distinct pairs of authorities (the receiver is party to 999 of
  them), each covering three document types in both directions (six scope items), each
  signed by both parties' real root keys and added through ``TrustRegistry.add_agreements``
  with full verification (one version step for the batch instead of 10,000 edits). Fast
  path: the second party signs with ``protocol.jws.add_signature`` directly instead of
  ``countersign_agreement``, which would parse and check the proposal once more first; the
  registry then verifies every signature as always.
- Decisions cycle over the same workload in both registries: documents from 10 issuers to
  the receiver, in the three covered types (30 documents; every decision is an acceptance).
  In the large registry the 10 issuers are spread over the whole registry (every 100th
  authority), so the lookups land in different parts of its tables. The workload is kept
  the same so that the comparison isolates the registry's size.
- Timing: the two registries are measured in alternating rounds (5 by default) and the best
  round counts, as ``timeit`` does. Throughput is CPU time of this process
  (``process_time``), so that other work on a shared machine does not count; the latency
  percentiles come from individually timed decisions (``perf_counter_ns``, wall clock) over
  every round, so they include that interference.
- The figure is the throughput with 10,000 agreements; the limit it is compared with, in the
  same run, is the throughput with 10 (target: ratio >= 0.8, the decision does not grow with
  the registry). ``p50_ms``/``p99_ms`` are the 10,000-agreement decision latencies.
- ``--quick``: 2,000 agreements among 200 authorities instead of 10,000 among 1,000, and
  30,000 decisions in 3 rounds: under 30 s (the full build alone signs and verifies 20,000
  root signatures).

Prints a table, the machine, the command line, and a last line of JSON. Bounded: a fixed
number of decisions (``--decisions``) and well under a minute on a laptop.

Run: ``python -m bench.registry_decision`` from the project root.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import report
from protocol.canonical import canonicalize
from protocol.certificates import (
    generate_private_key,
    issue_document_signer,
    issue_root,
)
from protocol.jws import JWSType, Signer, add_signature, check_integrity, sign
from trust_registry import (
    Agreement,
    AgreementId,
    Authority,
    AuthorityId,
    DocType,
    ReliabilityProfile,
    TrustAnchor,
    TrustRegistry,
    build_scope,
    propose_agreement,
    recognise,
)

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
DOC_TYPES = [DocType("certificate-of-origin"), DocType("phytosanitary-certificate"),
             DocType("customs-declaration")]
KEYS = 8  # distinct document-signer key pairs, reused across issuers
DECLARED = ReliabilityProfile.from_dict({"keyProtection": "hsm", "signerIdentityProofing": "high",
                                         "timeSource": "ntp"})
MINIMUM = ReliabilityProfile.from_dict({"keyProtection": "software-encrypted",
                                        "signerIdentityProofing": "substantial"})


def authority_id(index: int) -> AuthorityId:
    country = chr(65 + index // 26 % 26) + chr(65 + index % 26)
    return AuthorityId(f"{country}-AUTH{index:04d}")


def build(n_authorities: int, n_agreements: int, n_issuers: int) -> dict[str, Any]:
    """A registry owned by authority 0 (the receiver), and documents from ``n_issuers`` partners
    spread evenly over the other authorities."""
    keys = [generate_private_key() for _ in range(KEYS)]
    roots: list[Signer] = []
    authorities: list[Authority] = []
    for index in range(n_authorities):
        aid = authority_id(index)
        key = generate_private_key()
        root = issue_root(key=key, authority_id=aid, country=aid[:2], organisation=aid,
                          not_before=T0 - dt.timedelta(days=30))
        roots.append(Signer(key, (root,)))
        authorities.append(Authority(
            id=aid, country=aid[:2], name=f"Authority {index}",
            anchors=(TrustAnchor(certificate=root, valid_from=T0 - dt.timedelta(days=30)),),
            reliability=DECLARED))
    registry = TrustRegistry.create(authorities[0])
    for authority in authorities[1:]:
        registry = registry.add_authority(authority)
    # Distinct pairs: the receiver with everyone first, then others among themselves.
    pairs: list[tuple[int, int]] = [(0, partner) for partner in range(1, n_authorities)]
    step = 1
    while len(pairs) < n_agreements:
        for first in range(1, n_authorities):
            second = first + step
            if second < n_authorities:
                pairs.append((first, second))
            if len(pairs) >= n_agreements:
                break
        step += 1
    pairs = pairs[:n_agreements]
    signed = []
    for number, (first, second) in enumerate(pairs):
        proposer, partner = authority_id(first), authority_id(second)
        agreement = Agreement(
            agreement_id=AgreementId(f"AGR-{number:05d}"),
            parties=(proposer, partner),
            legal_reference="Benchmark arrangement",
            valid_from=T0,
            valid_until=None,
            scope=build_scope(proposer=proposer, partner=partner, document_types=DOC_TYPES,
                              minimum_reliability=MINIMUM),
        )
        proposal = propose_agreement(agreement, roots[first], signed_at=T0 - dt.timedelta(days=2))
        signed.append(add_signature(proposal, roots[second], typ=JWSType.AGREEMENT,
                                    signed_at=T0 - dt.timedelta(days=1)))
    registry = registry.add_agreements(signed, at=T0)
    documents = []
    spacing = max(1, (n_authorities - 1) // n_issuers)
    for issuer_index in range(1, n_authorities, spacing)[:n_issuers]:
        issuer = authority_id(issuer_index)
        signer_key = keys[issuer_index % KEYS]
        cert = issue_document_signer(root_key=roots[issuer_index].key,
                                     root_cert=roots[issuer_index].certificate,
                                     public_key=signer_key.public_key(), not_before=T0)
        for doc_type in DOC_TYPES:
            header = {"id": f"{issuer}-{doc_type}", "type": doc_type, "version": "1.0",
                      "issuer": issuer, "issuedAt": "2026-02-01T00:00:00Z"}
            jws = sign(canonicalize(header), Signer(signer_key, (cert,)), typ=JWSType.DOCUMENT,
                       signed_at=T0 + dt.timedelta(days=31))
            documents.append((header, check_integrity(jws, 0, typ=JWSType.DOCUMENT)))
    return {"registry": registry, "receiver": authority_id(0), "documents": documents}


def warm(world: dict[str, Any]) -> None:
    """One decision per document: builds the index and fills the chain cache."""
    at = T0 + dt.timedelta(days=32)
    for header, evidence in world["documents"]:
        recognise(world["registry"], receiver=world["receiver"], document=header,
                  evidence=evidence, at=at)


def run_round(world: dict[str, Any], decisions: int, samples: list[int]) -> float:
    """Time ``decisions`` decisions as one loop, then time a share of them one by one."""
    registry: TrustRegistry = world["registry"]
    receiver: str = world["receiver"]
    documents = world["documents"]
    at = T0 + dt.timedelta(days=32)
    work = [documents[i % len(documents)] for i in range(decisions)]
    gc.collect()
    started = time.process_time()
    for header, evidence in work:
        recognise(registry, receiver=receiver, document=header, evidence=evidence, at=at)
    elapsed = time.process_time() - started
    clock = time.perf_counter_ns
    for header, evidence in work[: decisions // 4]:
        begin = clock()
        recognise(registry, receiver=receiver, document=header, evidence=evidence, at=at)
        samples.append(clock() - begin)
    return decisions / elapsed


def summarise(rates: list[float], samples: list[int], decisions: int) -> dict[str, float]:
    samples.sort()
    return {
        "decisions": decisions,
        "decisions_per_second": max(rates),
        "decisions_per_second_worst_round": min(rates),
        "median_us": statistics.median(samples) / 1000,
        "p99_us": samples[int(len(samples) * 0.99)] / 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", type=int, default=300_000,
                        help="timed decisions per registry size, over all rounds (default 300000)")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds (default 5)")
    parser.add_argument("--quick", action="store_true",
                        help="2,000 agreements among 200 authorities, 30,000 decisions, 3 rounds")
    args = parser.parse_args()
    authorities, agreements = (200, 2_000) if args.quick else (1_000, 10_000)
    if args.quick:
        args.decisions, args.rounds = 30_000, 3
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    began = time.perf_counter()
    build_started = time.perf_counter()
    small = build(11, 10, 10)
    large = build(authorities, agreements, 10)
    build_seconds = time.perf_counter() - build_started
    for world in (small, large):
        warm(world)
    per_round = max(1, args.decisions // args.rounds)
    big = str(agreements)
    rates: dict[str, list[float]] = {"10": [], big: []}
    samples: dict[str, list[int]] = {"10": [], big: []}
    for _ in range(args.rounds):
        rates["10"].append(run_round(small, per_round, samples["10"]))
        rates[big].append(run_round(large, per_round, samples[big]))
    results = {label: summarise(rates[label], samples[label], per_round * args.rounds)
               for label in rates}
    lines = [f"{'agreements':>10}  {'authorities':>11}  {'decisions/s':>12}  {'median µs':>9}  "
             f"{'p99 µs':>7}"]
    for label, count in (("10", 11), (big, authorities)):
        r = results[label]
        lines.append(f"{int(label):>10,}  {count:>11,}  {r['decisions_per_second']:>12,.0f}  "
                     f"{r['median_us']:>9.2f}  {r['p99_us']:>7.2f}")
    lines.append(f"build {build_seconds:.1f} s; {per_round * args.rounds:,} decisions per "
                 f"registry in {args.rounds} rounds; pinned to one core: "
                 f"{hasattr(os, 'sched_setaffinity')}")
    value = results[big]["decisions_per_second"]
    limit = results["10"]["decisions_per_second"]
    report(bench="registry_decision", unit="decisions/s", value=value, limit=limit,
           limit_name="decisions/s with 10 agreements", target=0.8, lines=lines,
           started=began,
           extra={"p50_ms": round(results[big]["median_us"] / 1000, 5),
                  "p99_ms": round(results[big]["p99_us"] / 1000, 5),
                  "agreements": agreements, "authorities": authorities, "issuers": 10,
                  "build_seconds": round(build_seconds, 2),
                  "results": {k: {m: round(v, 3) for m, v in r.items()}
                              for k, r in results.items()}})


if __name__ == "__main__":
    main()
