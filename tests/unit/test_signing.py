from __future__ import annotations

import asyncio
import time

import pytest
from scrapy.http import FormRequest, JsonRequest, TextResponse
from scrapy.utils.request import fingerprint
from scrapy.utils.test import get_crawler

from harvester.apis import all_providers, pandapon
from harvester.apis.base import MissingCredentials, Provider, require
from harvester.extensions.redact import SecretFilter
from harvester.fingerprint import AuthlessRequestFingerprinter
from harvester.handlers.signing import Signer, SigningDownloadHandler

CREDS = {
    "PANDAPON_ACCESS_KEY": "key-123",
    "PANDAPON_SECRET_KEY": "secret-456",
    "PANDAPON_USER_ID": "77",
    "PANDAPON_BASE_URL": "http://127.0.0.1:9",
}


def request(url="http://127.0.0.1:9/alibaba/product/query/selleroffer", **meta):
    return JsonRequest(url, data={"beginPage": 1}, meta={"harvester_api": "pandapon", **meta})


def test_signer_signs_at_send_time_and_resigns_retries():
    crawler = get_crawler(settings_dict=CREDS)
    signer = Signer(crawler)
    original = request()
    req = signer.sign(original)
    assert b"signature" not in original.headers  # the scheduled request stays unsigned
    first = {name: req.headers[name].decode() for name in pandapon.AUTH_HEADERS}
    assert first["access-key"] == "key-123"
    assert abs(int(first["timestamp"]) / 1000 - time.time()) < 5
    assert first["signature"] == pandapon.signature(
        "key-123", first["timestamp"], first["nonce-str"], "secret-456"
    )
    retry = signer.sign(original.replace())  # what get_retry_request does
    assert retry.headers["nonce-str"] != req.headers["nonce-str"]
    assert "secret-456" not in str(retry.headers)


def test_signer_ignores_other_hosts_and_untagged_requests():
    signer = Signer(get_crawler(settings_dict=CREDS))
    foreign = request("http://example.com/alibaba/product/query/selleroffer")
    assert signer.sign(foreign) is foreign
    assert b"signature" not in foreign.headers
    plain = JsonRequest("http://127.0.0.1:9/x", data={})
    assert signer.sign(plain) is plain
    assert signer.sign(request(harvester_dont_sign=True)).headers.get("signature") is None


def test_settings_override_environment(monkeypatch):
    monkeypatch.setenv("PANDAPON_ACCESS_KEY", "from-env")
    assert require(
        {"PANDAPON_ACCESS_KEY": "from-setting"}, ["PANDAPON_ACCESS_KEY"], "pandapon"
    ) == {"PANDAPON_ACCESS_KEY": "from-setting"}
    assert require({}, ["PANDAPON_ACCESS_KEY"], "pandapon") == {"PANDAPON_ACCESS_KEY": "from-env"}


def test_missing_credentials_message_names_them(monkeypatch):
    for name in ("PANDAPON_SECRET_KEY", "PANDAPON_USER_ID"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(MissingCredentials, match="PANDAPON_SECRET_KEY, PANDAPON_USER_ID"):
        require({"PANDAPON_ACCESS_KEY": "x"}, pandapon.CREDENTIAL_SETTINGS, "pandapon")


def test_fingerprint_ignores_auth_query_params():
    fingerprinter = AuthlessRequestFingerprinter()
    fingerprinter._auth_params = frozenset({"Signature", "Timestamp"})
    a = JsonRequest("http://h/?Action=X&Signature=abc&Timestamp=1", data={"a": 1})
    b = JsonRequest("http://h/?Action=X&Signature=def&Timestamp=2", data={"a": 1})
    c = JsonRequest("http://h/?Action=Y&Signature=def&Timestamp=2", data={"a": 1})
    assert fingerprinter.fingerprint(a) == fingerprinter.fingerprint(b)
    assert fingerprinter.fingerprint(a) != fingerprinter.fingerprint(c)


ALIYUN = {
    "ALIYUN_ACCESS_KEY_ID": "id-1",
    "ALIYUN_ACCESS_KEY_SECRET": "secret-2",
    "ALIYUN_PID": "mm_1_2_3",
    "ALIYUN_BASE_URL": "http://127.0.0.1:9",
}


def aliyun_request(item_ids: str) -> FormRequest:
    return FormRequest(
        "http://127.0.0.1:9/",
        formdata={"ItemIds": item_ids, "Pid": "mm_1_2_3"},
        meta={"harvester_api": "aliyun"},
    )


def test_fingerprint_of_signed_request_is_stable():
    """Each signing puts a new signature, nonce and timestamp in the query string (Scrapy's
    own fingerprint changes between two signings of one call); ours does not, and still
    tells two calls apart."""
    fingerprinter = AuthlessRequestFingerprinter()
    signer = Signer(get_crawler(settings_dict=ALIYUN))
    unsigned = aliyun_request("1,2")
    signed, resigned = signer.sign(unsigned), signer.sign(unsigned)
    assert "Signature=" not in unsigned.url
    assert "Signature=" in signed.url and signed.url != resigned.url
    assert fingerprint(unsigned) != fingerprint(signed) != fingerprint(resigned)
    assert fingerprinter.fingerprint(signed) == fingerprinter.fingerprint(resigned)
    other = signer.sign(aliyun_request("3"))
    assert fingerprinter.fingerprint(other) != fingerprinter.fingerprint(signed)


def test_secret_filter_redacts():
    log_filter = SecretFilter(["secret-456"])
    assert (
        log_filter.redact("settings {'PANDAPON_SECRET_KEY': 'secret-456'}")
        == "settings {'PANDAPON_SECRET_KEY': '***'}"
    )


def test_every_provider_module_meets_the_provider_contract():
    members = [*Provider.__annotations__, "sign", "check_response", "to_product"]
    providers = all_providers()
    assert sorted(p.NAME for p in providers) == ["aliexpress", "aliyun", "pandapon", "vvtool"]
    for provider in providers:
        assert [m for m in members if not hasattr(provider, m)] == [], provider.NAME
        assert isinstance(provider.AUTH_PARAMS, tuple)


class RecordingTransport:
    """Stands in for the HTTP transport: records what it was asked to send."""

    sent: list = []

    @classmethod
    def from_crawler(cls, crawler):
        return cls()

    async def download_request(self, request):
        RecordingTransport.sent.append(request)
        return TextResponse(request.url, body=b"{}", request=request)

    async def close(self):
        pass


def test_download_handler_sends_a_signed_copy_and_answers_for_the_original():
    settings = {
        **CREDS,
        "HARVESTER_SIGNING_TRANSPORT": f"{__name__}.RecordingTransport",
    }
    handler = SigningDownloadHandler.from_crawler(get_crawler(settings_dict=settings))
    original = request()
    RecordingTransport.sent.clear()
    response = asyncio.run(handler.download_request(original))
    (sent,) = RecordingTransport.sent
    assert sent is not original and sent.headers["access-key"] == b"key-123"
    assert b"signature" not in original.headers
    assert response.request is original  # callbacks, retries, the ledger see it unsigned
    plain = JsonRequest("http://127.0.0.1:9/x", data={})
    assert asyncio.run(handler.download_request(plain)).request is plain
    assert RecordingTransport.sent[-1] is plain
