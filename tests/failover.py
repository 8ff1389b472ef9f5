"""What both SDKs' failover tests expect: WhatsApp rejected with 1340, then SMS delivered."""

from __future__ import annotations

from typing import Any


def assert_whatsapp_then_sms(
    ended: dict[str, Any], primary_uuid: str, payloads: list[dict[str, Any]]
) -> None:
    """The workflow ended by the SMS, and its status webhooks in order, each in the workflow."""
    whatsapp, sms = ended["messages"]
    assert (whatsapp["message_uuid"], whatsapp["status"]) == (primary_uuid, "rejected")
    assert (ended["ended_by"], ended["status"]) == (sms["message_uuid"], "delivered")
    assert [(p["channel"], p["status"], p["workflow"]["items_number"]) for p in payloads] == [
        ("whatsapp", "submitted", "1"),
        ("whatsapp", "rejected", "1"),
        ("sms", "submitted", "2"),
        ("sms", "delivered", "2"),
    ]
    assert {p["workflow"]["workflow_id"] for p in payloads} == {ended["workflow_id"]}
    assert payloads[1]["error"]["title"] == "1340"
