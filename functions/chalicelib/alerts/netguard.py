"""Which IP addresses an outgoing alert webhook may connect to (the SSRF guard).

Decided by address, not by ``ipaddress``'s ``is_global``: that flag is true
for IPv6 forms that carry an IPv4 address inside them — NAT64
(64:ff9b::/96), 6to4 (2002::/16), IPv4-compatible (::a.b.c.d) — so
``[64:ff9b::a9fe:a9fe]`` reaches 169.254.169.254 through a NAT64 gateway.
Those forms are unwrapped and the embedded IPv4 address is checked; forms
whose embedded address cannot be checked reliably (Teredo, local-use
NAT64, SIIT) are refused outright.
"""
from __future__ import annotations

import ipaddress
from typing import Optional, Union

IP = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]

#: IPv4 ranges no webhook may reach (RFC 6890 special-purpose registry and friends).
BLOCKED_V4 = tuple(ipaddress.IPv4Network(n) for n in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
    "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15",
    "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4", "255.255.255.255/32"))

#: IPv6 ranges refused outright (embedded IPv4 forms are handled before these).
BLOCKED_V6 = tuple(ipaddress.IPv6Network(n) for n in (
    "::/128", "::1/128", "::ffff:0:0:0/96",  # unspecified, loopback, SIIT IPv4-translated
    "64:ff9b:1::/48",                       # local-use NAT64 (RFC 8215): a private translator
    "100::/64",                             # discard-only
    "2001::/32",                            # Teredo: the client address is obfuscated, refuse
    "2001::/23",                            # IETF protocol assignments
    "2001:db8::/32", "3fff::/20",           # documentation
    "fc00::/7", "fe80::/10", "fec0::/10",   # unique-local, link-local, site-local (deprecated)
    "ff00::/8"))                            # multicast

NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
SIX_TO_FOUR = ipaddress.IPv6Network("2002::/16")
IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")


def embedded_ipv4(ip: ipaddress.IPv6Address) -> Optional[ipaddress.IPv4Address]:
    """The IPv4 address an IPv6 address stands for (mapped, compatible, NAT64, 6to4), if any."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in NAT64 or (ip in IPV4_COMPATIBLE and int(ip) > 1):  # :: and ::1 are themselves
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip in SIX_TO_FOUR:
        return ip.sixtofour
    return None


def refusal(address: Union[str, IP], allow_loopback: bool = False) -> Optional[str]:
    """Why the product must not connect to this address, or None when it may.
    ``allow_loopback`` (local mode only) admits 127.0.0.0/8 and ::1, nothing else."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0] if isinstance(address, str) else address)
    except ValueError:
        return "not an IP address"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.scope_id:
            return "scoped IPv6 address"
        inner = embedded_ipv4(ip)
        if inner is not None:
            # loopback through a translator is no local-mode receiver: only ::ffff:127.x keeps it
            why = refusal(inner, allow_loopback and ip.ipv4_mapped is not None)
            return f"embeds {inner}: {why}" if why else None
        if allow_loopback and ip.is_loopback:
            return None
        for net in BLOCKED_V6:
            if ip in net:
                return f"in {net}"
        return None if ip.is_global else "not a global address"
    if allow_loopback and ip.is_loopback:
        return None
    for net in BLOCKED_V4:
        if ip in net:
            return f"in {net}"
    return None if ip.is_global else "not a global address"


def allowed(address: Union[str, IP], allow_loopback: bool = False) -> bool:
    return refusal(address, allow_loopback) is None
