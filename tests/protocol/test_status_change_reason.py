"""The officer's reason in a status-change notice: optional, a bounded string, round-trips."""

from __future__ import annotations

import pytest

from protocol.envelope import MAX_NOTICE_REASON, Envelope, StatusChangeNotice
from protocol.errors import EnvelopeError
from protocol.reason_codes import ReasonCode

_NOTICE = {"documentId": "doc-1", "documentSha256": "a" * 64, "outcome": "rejected",
           "reasons": ["REJECTED_BY_OFFICER"], "decidedAt": "2026-11-22T10:00:00Z"}


def _envelope(body: object) -> dict[str, object]:
    return {"messageId": "m-1", "from": "CN-CUSTOMS", "to": "SG-CUSTOMS",
            "createdAt": "2026-11-22T10:00:00Z", "expiresAt": "2026-11-23T10:00:00Z",
            "kind": "status-change", "body": body}


def test_reason_round_trips() -> None:
    body = {**_NOTICE, "reason": "the seal number differs from the bill of lading"}
    notice = StatusChangeNotice.from_dict(Envelope.from_dict(_envelope(body)).body)
    assert notice.reason == body["reason"]
    assert notice.reasons == (ReasonCode.REJECTED_BY_OFFICER,)
    assert notice.to_dict() == body


def test_without_reason_the_member_is_absent() -> None:
    notice = StatusChangeNotice.from_dict(_NOTICE)
    assert notice.reason is None
    assert "reason" not in notice.to_dict()


@pytest.mark.parametrize("reason", ["", 7, ["x"], "x" * (MAX_NOTICE_REASON + 1)],
                         ids=["empty", "number", "array", "too-long"])
def test_bad_reason_refused(reason: object) -> None:
    with pytest.raises(EnvelopeError):
        Envelope.from_dict(_envelope({**_NOTICE, "reason": reason}))
