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
  round counts, as ``timeit`` does: it discards interference from other processes, which a
  2-core machine running other work shows as slow rounds. The median latency comes from
  individually timed decisions (``perf_counter_ns``) over every round.

Prints a table, the command line, and a last line of JSON. Bounded: a fixed number of
decisions (``--decisions``) and well under a minute on a laptop.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

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
    started = time.perf_counter()
    for header, evidence in work:
        recognise(registry, receiver=receiver, document=header, evidence=evidence, at=at)
    elapsed = time.perf_counter() - started
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
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    began = time.perf_counter()
    build_started = time.perf_counter()
    small = build(11, 10, 10)
    large = build(1_000, 10_000, 10)
    build_seconds = time.perf_counter() - build_started
    for world in (small, large):
        warm(world)
    per_round = max(1, args.decisions // args.rounds)
    rates: dict[str, list[float]] = {"10": [], "10000": []}
    samples: dict[str, list[int]] = {"10": [], "10000": []}
    for _ in range(args.rounds):
        rates["10"].append(run_round(small, per_round, samples["10"]))
        rates["10000"].append(run_round(large, per_round, samples["10000"]))
    results = {label: summarise(rates[label], samples[label], per_round * args.rounds)
               for label in rates}
    ratio = results["10000"]["decisions_per_second"] / results["10"]["decisions_per_second"]
    print(f"{'agreements':>10}  {'authorities':>11}  {'decisions/s':>12}  {'median µs':>9}  "
          f"{'p99 µs':>7}")
    for label, authorities in (("10", 11), ("10000", 1_000)):
        r = results[label]
        print(f"{int(label):>10,}  {authorities:>11,}  {r['decisions_per_second']:>12,.0f}  "
              f"{r['median_us']:>9.2f}  {r['p99_us']:>7.2f}")
    print(f"throughput with 10,000 agreements = {ratio:.1%} of that with 10 "
          f"(build {build_seconds:.1f} s, total {time.perf_counter() - began:.1f} s)")
    command = " ".join([".venv/bin/python", *sys.argv])
    print(f"command: {command}")
    print(json.dumps({
        "bench": "registry_decision",
        "command": command,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "pinned_to_one_core": hasattr(os, "sched_setaffinity"),
        "build_seconds": round(build_seconds, 2),
        "issuers": 10,
        "ratio_10000_to_10": round(ratio, 4),
        "results": {k: {m: round(v, 3) for m, v in r.items()} for k, r in results.items()},
    }, sort_keys=True))


if __name__ == "__main__":
    main()
