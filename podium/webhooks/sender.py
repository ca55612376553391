"""One webhook POST, with the SSRF guard applied where it matters: at connect time.

:func:`post` resolves the URL's host once, refuses the request if *any* address it resolves to is
not public (private, loopback, link-local, cloud metadata such as 169.254.169.254 and
``fd00:ec2::254``, CGNAT, multicast, reserved, unspecified; IPv4 wrapped in IPv6 is unwrapped
first) unless private addresses are allowed or the address is in an allowed network, then connects
to *that* address (cloud metadata addresses stay refused even when private addresses are allowed,
unless an allowed network names them), so a DNS answer that changes between the check and the connection (DNS
rebinding) cannot reach an internal address. TLS still verifies the certificate for the host name
(SNI). Redirects are never followed (a 3xx is an answer like any other), every socket operation
has a timeout, and at most :data:`MAX_RESPONSE_BYTES` of the answer are read.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

__all__ = ["MAX_RESPONSE_BYTES", "DeliveryRefused", "Response", "SendPolicy", "address_refused", "check_url", "post",
           "retry_after_seconds"]

#: how much of a receiver's answer is read (and kept, for ``test``)
MAX_RESPONSE_BYTES = 64 * 1024


class DeliveryRefused(Exception):
    """The URL may not be called (scheme, or an address the SSRF guard refuses); never retried into success."""


@dataclass(frozen=True)
class SendPolicy:
    """Where deliveries may go: ``allowed_schemes`` (MLflow's ``MLFLOW_WEBHOOK_ALLOWED_SCHEMES``),
    ``allow_private_ips`` (``MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS``), and networks allowed even so."""

    allowed_schemes: tuple[str, ...] = ("https",)
    allow_private_ips: bool = False
    allowed_networks: tuple[str, ...] = ()
    timeout: float = 10.0
    _networks: tuple = field(default=(), compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_networks", tuple(ipaddress.ip_network(n, strict=False)
                                                    for n in self.allowed_networks))

    def check_address(self, ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
        """Why ``ip`` is refused, or None."""
        if any(ip in n for n in self._networks):
            return None
        why = address_refused(ip)
        if why is not None and self.allow_private_ips and "metadata" not in why:
            return None  # private addresses allowed; cloud metadata services never (unless a network allows them)
        return why


_METADATA = (ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254"),
             ipaddress.ip_address("100.100.100.200"))


def address_refused(ip) -> str | None:
    """Why ``ip`` is not a public address a webhook may be sent to, or None."""
    if isinstance(ip, ipaddress.IPv6Address):
        wrapped = ip.ipv4_mapped or ip.sixtofour
        if wrapped is None and ip in ipaddress.ip_network("64:ff9b::/96"):
            wrapped = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        ip = wrapped or ip
    if ip in _METADATA:
        return f"{ip} is a cloud metadata address"
    for kind in ("loopback", "link_local", "private", "multicast", "reserved", "unspecified"):
        if getattr(ip, f"is_{kind}"):
            return f"{ip} is a {kind.replace('_', '-')} address"
    if not ip.is_global:
        return f"{ip} is not a public address"
    return None


@dataclass(frozen=True)
class Response:
    status: int
    body: str
    headers: dict[str, str]
    seconds: float


class _PinnedConnection(http.client.HTTPConnection):
    """An HTTP(S) connection to a host *name* (Host header, TLS SNI and certificate) that connects to
    one already-checked address."""

    def __init__(self, host: str, port: int, address: str, timeout: float, tls: bool) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address, self._tls = address, tls

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        if self._tls:
            sock = ssl.create_default_context().wrap_socket(sock, server_hostname=self.host)
        self.sock = sock


def _resolve(host: str, port: int, policy: SendPolicy) -> str:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise OSError(f"cannot resolve {host}: {exc.strerror or exc}") from None
    addresses = []
    for info in infos:
        ip = ipaddress.ip_address(info[4][0].split("%", 1)[0])
        why = policy.check_address(ip)
        if why is not None:
            raise DeliveryRefused(f"Refused to send to {host}: {why} (set MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS=true or "
                                  "--webhook-allowed-network to allow it).")
        addresses.append(str(ip))
    return addresses[0]


def check_url(url: str, allowed_schemes: tuple[str, ...]) -> tuple[str, str, int, str]:
    """``(scheme, host, port, path?query)``; :class:`DeliveryRefused` for a scheme not allowed or no host."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise DeliveryRefused(f"Invalid webhook URL {url!r}: {exc}") from None
    if parts.scheme not in allowed_schemes:
        raise DeliveryRefused(f"Invalid webhook URL scheme: {parts.scheme!r}. Allowed schemes are: "
                              f"{', '.join(allowed_schemes)}.")
    if not parts.hostname:
        raise DeliveryRefused(f"Webhook URL must include a hostname: {url!r}")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80), target


def post(url: str, body: str, headers: dict[str, str], policy: SendPolicy) -> Response:
    """POST ``body`` to ``url``. Raises :class:`DeliveryRefused` (not allowed) or :class:`OSError`
    (resolution, connection, TLS, timeout)."""
    scheme, host, port, target = check_url(url, policy.allowed_schemes)
    address = _resolve(host, port, policy)
    start = time.perf_counter()
    conn = _PinnedConnection(host, port, address, policy.timeout, scheme == "https")
    try:
        conn.request("POST", target, body=body.encode(), headers=headers)
        answer = conn.getresponse()
        data = answer.read(MAX_RESPONSE_BYTES)
        return Response(answer.status, data.decode("utf-8", "replace"),
                        {k.lower(): v for k, v in answer.getheaders()}, time.perf_counter() - start)
    except (http.client.HTTPException, ssl.SSLError) as exc:
        raise OSError(f"{type(exc).__name__}: {exc}") from None
    finally:
        conn.close()


def retry_after_seconds(value: str | None, now: float) -> float | None:
    """``Retry-After`` as seconds from ``now`` (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - now)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
