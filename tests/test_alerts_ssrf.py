"""The alert-webhook SSRF guard decides by address: IPv6 forms that carry an
IPv4 address (NAT64, 6to4, IPv4-compatible, IPv4-mapped) are unwrapped and
the IPv4 address checked; forms whose inner address cannot be trusted
(Teredo, local-use NAT64, SIIT) are refused. Checked at rule creation (IP
literals) and at delivery, on every resolved address (DNS rebinding)."""
from __future__ import annotations

import json

import pytest

from chalicelib.alerts import netguard
from chalicelib.alerts.webhook import WebhookClient, WebhookRefused, resolve_target

METADATA = "169.254.169.254"

REFUSED_V6 = [
    ("64:ff9b::a9fe:a9fe", "NAT64 well-known prefix, 169.254.169.254"),
    ("64:ff9b::7f00:1", "NAT64 of 127.0.0.1"),
    ("64:ff9b::a00:1", "NAT64 of 10.0.0.1"),
    ("64:ff9b:1::a9fe:a9fe", "local-use NAT64 prefix"),
    ("64:ff9b:1:ffff::1", "local-use NAT64 prefix, any address"),
    ("2002:a9fe:a9fe::1", "6to4 of 169.254.169.254"),
    ("2002:c0a8:0101::", "6to4 of 192.168.1.1"),
    ("2002:7f00:1::", "6to4 of 127.0.0.1"),
    ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo"),
    ("::a9fe:a9fe", "IPv4-compatible 169.254.169.254"),
    ("::10.0.0.1", "IPv4-compatible 10.0.0.1"),
    ("::ffff:169.254.169.254", "IPv4-mapped"),
    ("::ffff:0:a9fe:a9fe", "SIIT IPv4-translated"),
    ("::", "unspecified"), ("::1", "loopback"), ("fc00::1", "unique local"), ("fd00:ec2::254", "AWS IMDS IPv6"),
    ("fe80::1", "link-local"), ("fec0::1", "site-local"), ("ff02::1", "multicast"), ("2001:db8::1", "documentation"),
    ("100::1", "discard"),
]
REFUSED_V4 = ["0.0.0.0", "10.1.2.3", "100.64.0.1", "127.0.0.1", METADATA, "172.16.0.1", "192.0.0.170",
              "192.168.0.1", "198.18.0.1", "224.0.0.1", "240.0.0.1", "255.255.255.255"]
ALLOWED = ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946", "64:ff9b::5db8:d822",  # NAT64 of a public IPv4
           "2002:5db8:d822::1", "::ffff:93.184.216.34"]


@pytest.mark.parametrize("address, what", REFUSED_V6)
def test_ipv6_forms_embedding_or_reaching_private_addresses_are_refused(address, what):
    assert netguard.refusal(address) is not None, what
    assert netguard.refusal(address, allow_loopback=True) is not None or address == "::1", what


@pytest.mark.parametrize("address", REFUSED_V4)
def test_special_ipv4_ranges_are_refused(address):
    assert netguard.refusal(address) is not None


@pytest.mark.parametrize("address", ALLOWED)
def test_public_addresses_pass_even_inside_ipv6_forms(address):
    assert netguard.refusal(address) is None


def test_local_mode_admits_loopback_only():
    assert netguard.allowed("127.0.0.1", True) and netguard.allowed("::1", True)
    assert netguard.allowed("::ffff:127.0.0.1", True)
    assert not netguard.allowed("10.0.0.1", True) and not netguard.allowed("64:ff9b::a9fe:a9fe", True)


def test_embedded_address_is_named_in_the_refusal():
    assert "169.254.169.254" in netguard.refusal("64:ff9b::a9fe:a9fe")
    assert "169.254.169.254" in netguard.refusal("2002:a9fe:a9fe::")


@pytest.mark.parametrize("address, _", REFUSED_V6)
def test_literal_urls_refused_at_delivery(address, _):
    url = f"https://[{address}]/hook"
    with pytest.raises(WebhookRefused):
        resolve_target(url, lambda host, port: [host], False)


@pytest.mark.parametrize("address, _", REFUSED_V6 + [(a, a) for a in REFUSED_V4])
def test_names_resolving_to_refused_addresses_never_get_a_request(address, _):
    """DNS rebinding: the name is checked against every answer at delivery time."""
    sent = []
    c = WebhookClient(resolver=lambda host, port: ["93.184.216.34", address],
                      sender=lambda *a: sent.append(a) or 200)
    d = c.post("https://hooks.example.com/x", "s", {"text": "t"})
    assert not d.ok and d.attempts == 0 and "refused address" in d.error and not sent


def test_rebinding_between_creation_and_delivery_is_caught():
    answers = [["93.184.216.34"], ["64:ff9b::a9fe:a9fe"]]
    sent = []
    c = WebhookClient(resolver=lambda host, port: answers.pop(0), sender=lambda *a: sent.append(a) or 200)
    assert c.post("https://hooks.example.com/x", "s", {"text": "t"}).ok
    d = c.post("https://hooks.example.com/x", "s", {"text": "t"})
    assert not d.ok and len(sent) == 1


@pytest.mark.parametrize("address, _", [r for r in REFUSED_V6 if r[0] not in ("::",)])
def test_alert_rule_with_such_a_literal_is_refused_at_creation(api, address, _):
    body = {"name": "ssrf", "campaign_id": "c1", "channel": "email", "metric": "bounce_rate", "op": ">",
            "threshold": 0.1, "window_minutes": 15, "notify": {"webhook_url": f"https://[{address}]/hook"}}
    r = api.client.http.post("/v1/alerts", body=json.dumps(body), headers={
        "Authorization": f"Bearer {api.key('acme', ('read', 'manage'))}", "Content-Type": "application/json"})
    assert r.status_code == 422, (address, r.body)
    assert "refused" in json.loads(r.body)["error"]["message"]
