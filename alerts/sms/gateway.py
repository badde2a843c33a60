"""The SMS gateway client: Kannel's HTTP `sendsms` interface (smsbox), with a delivery-report URL back to the hub.

Chinese text goes as UCS-2 (`coding=2`, `charset=UTF-8`: Kannel converts); Kannel calls the `dlr-url` with the
report's type (`%d`: 1 delivered, 2 undelivered, 4 buffered, 8 accepted by the SMSC, 16 rejected) and text (`%A`).
The answer is one of three: accepted, try again later (unreachable, 5xx, throttled), refused (4xx: never retried).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol
from urllib.parse import urlencode

import httpx

from alerts.sms.outbox import SmsMessage

DLR_MASK = 1 + 2 + 8 + 16  # delivered, undelivered, accepted by the SMSC, rejected by the SMSC
Outcome = Literal["accepted", "retry", "refused"]


@dataclass(frozen=True, slots=True)
class SendResult:
    """What the gateway said about one message."""

    outcome: Outcome
    detail: str


class Gateway(Protocol):
    """Anything that can hand one message to an SMS network."""

    async def send(self, message: SmsMessage) -> SendResult: ...


@dataclass(frozen=True, slots=True)
class KannelConfig:
    """Where Kannel's smsbox takes messages, and where it reports deliveries."""

    sendsms_url: str  # e.g. http://127.0.0.1:13013/cgi-bin/sendsms
    username: str
    password: str
    sender: str = "12349"
    dlr_base: str = ""  # the hub's base URL as Kannel reaches it, e.g. http://127.0.0.1:8080; empty = no reports


def dlr_url(base: str, message: SmsMessage) -> str:
    """The delivery-report callback of one message (Kannel fills %d and %A)."""
    query = urlencode({"id": message.id, "token": message.token})
    return f"{base.rstrip('/')}/api/sms/dlr?{query}&type=%d&text=%A"


def sendsms_params(config: KannelConfig, message: SmsMessage) -> dict[str, str]:
    """The query of one sendsms request."""
    params = {"username": config.username, "password": config.password, "from": config.sender,
              "to": message.recipient, "text": message.text, "charset": "UTF-8"}
    if not message.text.isascii():
        params["coding"] = "2"  # UCS-2: Chinese text intact
    if config.dlr_base:
        params |= {"dlr-mask": str(DLR_MASK), "dlr-url": dlr_url(config.dlr_base, message)}
    return params


class KannelGateway:
    """Sends through Kannel's smsbox over HTTP."""

    def __init__(self, config: KannelConfig, timeout_s: float = 5.0) -> None:
        self.config = config
        self.client = httpx.AsyncClient(timeout=timeout_s)

    async def send(self, message: SmsMessage) -> SendResult:
        """One sendsms request; Kannel answers 202 "0: Accepted for delivery" (or "3: Queued for later")."""
        try:
            response = await self.client.get(self.config.sendsms_url, params=sendsms_params(self.config, message))
        except httpx.HTTPError as exc:
            return SendResult("retry", f"gateway unreachable: {type(exc).__name__}")
        body = response.text.strip()[:200]
        if response.is_success:
            return SendResult("accepted", body)
        if response.status_code >= 500 or response.status_code == 429:
            return SendResult("retry", f"{response.status_code} {body}")
        return SendResult("refused", f"{response.status_code} {body}")

    async def close(self) -> None:
        """Close the HTTP client."""
        await self.client.aclose()
