"""The client's compression setting: gzip is asked for except from this machine, and the setting
is read and checked (no server involved)."""
from __future__ import annotations


import pytest


@pytest.mark.parametrize("url, compression, expected", [
    ("http://127.0.0.1:8765", "auto", "identity"),
    ("http://127.9.9.9", "auto", "identity"),
    ("http://localhost:8765/x", "auto", "identity"),
    ("http://[::1]:8765", "auto", "identity"),
    ("https://dichvucong.example.gov.vn", "auto", "gzip, deflate"),
    ("http://10.0.0.5:8765", "auto", "gzip, deflate"),
    ("http://127.0.0.1:8765", "gzip", "gzip, deflate"),
    ("https://dichvucong.example.gov.vn", "identity", "identity"),
])
def test_gzip_is_asked_for_except_from_this_machine(url, compression, expected):
    from etl.source import accept_encoding

    assert accept_encoding(url, compression) == expected
    with pytest.raises(ValueError, match="compression"):
        accept_encoding(url, "brotli")


def test_the_compression_setting_is_read_and_checked():
    from etl.config import ConfigError, from_env

    assert from_env({}).source_compression == "auto"
    assert from_env({"TTHC_SOURCE_COMPRESSION": " GZIP "}).source_compression == "gzip"
    with pytest.raises(ConfigError, match="TTHC_SOURCE_COMPRESSION='zstd'"):
        from_env({"TTHC_SOURCE_COMPRESSION": "zstd"})
