"""Who an injected inbound message is from and to when the caller does not say.

One place for these defaults, used by the engine (so the admin API, the CLI and the pytest
plugin agree): the README's example customer and business, as ids on Messenger.
"""

from __future__ import annotations

from typing import Any

NUMBERS = ("447700900000", "14157386170")  # (customer, business)
IDS = {"messenger": ("0123456789012345", "107083064136738")}  # a PSID and a page id


def fill_parties(channel: Any, customer: Any, business: Any) -> tuple[Any, Any]:
    """(customer, business), each default taken where the caller left it out (None)."""
    default_customer, default_business = IDS.get(channel, NUMBERS)
    return (
        default_customer if customer is None else customer,
        default_business if business is None else business,
    )
