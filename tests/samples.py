"""Valid send requests, one or more per channel and content type, for the tests to vary."""

from __future__ import annotations

import copy
from typing import Any

NUMBER = "447700900000"
OTHER_NUMBER = "447700900001"

VALID: dict[str, dict[str, Any]] = {
    "sms-text": {
        "to": {"type": "sms", "number": NUMBER},
        "from": {"type": "sms", "number": "Acme"},
        "message": {"content": {"type": "text", "text": "Your code is 1234"}},
        "client_ref": "order-42",
    },
    "sms-from-number": {
        "to": {"type": "sms", "number": NUMBER},
        "from": {"type": "sms", "number": OTHER_NUMBER},
        "message": {"content": {"type": "text", "text": "Hello"}},
    },
    "mms-image": {
        "to": {"type": "mms", "number": "14155550100"},
        "from": {"type": "mms", "number": "12345"},
        "message": {
            "content": {
                "type": "image",
                "image": {"url": "https://example.com/cat.gif", "caption": "A cat"},
            }
        },
    },
    "viber-text": {
        "to": {"type": "viber_service_msg", "number": NUMBER},
        "from": {"type": "viber_service_msg", "id": "16273"},
        "message": {
            "content": {"type": "text", "text": "Your order shipped"},
            "viber_service_msg": {"category": "transaction", "ttl": 600},
        },
    },
    "viber-image": {
        "to": {"type": "viber_service_msg", "number": NUMBER},
        "from": {"type": "viber_service_msg", "id": "16273"},
        "message": {"content": {"type": "image", "image": {"url": "https://example.com/a.png"}}},
    },
    "messenger-text": {
        "to": {"type": "messenger", "id": "0123456789012345"},
        "from": {"type": "messenger", "id": "107083064136738"},
        "message": {
            "content": {"type": "text", "text": "Hi from the page"},
            "messenger": {"category": "message_tag", "tag": "ACCOUNT_UPDATE"},
        },
    },
    "messenger-image": {
        "to": {"type": "messenger", "id": "0123456789012345"},
        "from": {"type": "messenger", "id": "107083064136738"},
        "message": {"content": {"type": "image", "image": {"url": "https://example.com/a.jpg"}}},
    },
    "messenger-audio": {
        "to": {"type": "messenger", "id": "0123456789012345"},
        "from": {"type": "messenger", "id": "107083064136738"},
        "message": {"content": {"type": "audio", "audio": {"url": "https://example.com/a.mp3"}}},
    },
    "messenger-video": {
        "to": {"type": "messenger", "id": "0123456789012345"},
        "from": {"type": "messenger", "id": "107083064136738"},
        "message": {"content": {"type": "video", "video": {"url": "https://example.com/v.mp4"}}},
    },
    "messenger-file": {
        "to": {"type": "messenger", "id": "0123456789012345"},
        "from": {"type": "messenger", "id": "107083064136738"},
        "message": {"content": {"type": "file", "file": {"url": "https://example.com/r.zip"}}},
    },
    "whatsapp-text": {
        "to": {"type": "whatsapp", "number": NUMBER},
        "from": {"type": "whatsapp", "number": "14157386170"},
        "message": {"content": {"type": "text", "text": "Olá! ✅ Your table is ready"}},
    },
    "whatsapp-template": {
        "to": {"type": "whatsapp", "number": NUMBER},
        "from": {"type": "whatsapp", "number": "14157386170"},
        "message": {
            "content": {
                "type": "template",
                "template": {
                    "name": "9b6b4fcb_da19_4a26_8fe8_78074a91b584:verify",
                    "parameters": [{"default": "Acme"}, {"default": "64873"}, {"default": "10"}],
                },
            },
            "whatsapp": {"policy": "deterministic", "locale": "en-GB"},
        },
    },
    "whatsapp-image": {
        "to": {"type": "whatsapp", "number": NUMBER},
        "from": {"type": "whatsapp", "number": "14157386170"},
        "message": {
            "content": {
                "type": "image",
                "image": {"url": "https://example.com/menu.jpeg", "caption": "Menu"},
            }
        },
    },
    "whatsapp-audio": {
        "to": {"type": "whatsapp", "number": NUMBER},
        "from": {"type": "whatsapp", "number": "14157386170"},
        "message": {"content": {"type": "audio", "audio": {"url": "https://example.com/n.opus"}}},
    },
    "whatsapp-video": {
        "to": {"type": "whatsapp", "number": NUMBER},
        "from": {"type": "whatsapp", "number": "14157386170"},
        "message": {"content": {"type": "video", "video": {"url": "https://example.com/v.mp4"}}},
    },
    "whatsapp-file": {
        "to": {"type": "whatsapp", "number": NUMBER},
        "from": {"type": "whatsapp", "number": "14157386170"},
        "message": {
            "content": {
                "type": "file",
                "file": {"url": "https://example.com/invoice.PDF", "caption": "Invoice"},
            }
        },
    },
}


def message(name: str, **changes: Any) -> dict[str, Any]:
    """A deep copy of sample ``name`` with dotted-path changes (value None deletes the key)."""
    body = copy.deepcopy(VALID[name])
    for dotted, value in changes.items():
        *parents, last = dotted.split("__")
        node = body
        for key in parents:
            node = node.setdefault(key, {})
        if value is None:
            node.pop(last, None)
        else:
            node[last] = value
    return body
