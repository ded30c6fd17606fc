"""``bench.bench_load``: reading wrk's report (no server, no wrk needed)."""

import math

import pytest

from bench.bench_load import _one_line, multipart, parse_wrk, server_exceptions

OK = """Running 2s test @ http://127.0.0.1:18777/
  2 threads and 8 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     4.50ms    2.85ms  20.98ms   84.54%
    Req/Sec   683.25    271.04     1.34k    72.50%
  Latency Distribution
     50%    3.57ms
     75%    4.75ms
     90%    8.41ms
     99%   16.02ms
  2722 requests in 2.01s, 4.15MB read
Requests/sec:   1354.46
Transfer/sec:      2.06MB
"""

ERRORS = """Running 10s test @ http://127.0.0.1:8000/api/areas/1/features/?bbox=1,2,3,4
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.20s   300.00ms   2.00s    70.00%
    Req/Sec    10.00      5.00    20.00     60.00%
  Latency Distribution
     50%  389.00us
     75%    1.10s
     90%    1.50s
     99%    1.00m
  250 requests in 10.02s, 1.00MB read
  Socket errors: connect 0, read 3, write 0, timeout 7
  Non-2xx or 3xx responses: 12
Requests/sec:     24.95
Transfer/sec:    102.20KB
"""


def test_parse_ok() -> None:
    result = parse_wrk(OK)
    assert result.requests == 2722
    assert result.seconds == pytest.approx(2.01)
    assert result.rps == pytest.approx(1354.2, abs=0.1)
    assert (result.p50_ms, result.p99_ms, result.max_ms) == pytest.approx((3.57, 16.02, 20.98))
    assert result.errors == "0"


def test_parse_errors_and_units() -> None:
    result = parse_wrk(ERRORS)
    assert result.p50_ms == pytest.approx(0.389)
    assert result.p99_ms == pytest.approx(60_000)
    assert result.max_ms == pytest.approx(2000)
    assert result.errors == "12 non-2xx/3xx, 3 read, 7 timeout"


def test_parse_no_requests() -> None:
    text = "Running 1s test @ http://x/\n  1 threads and 1 connections\n  0 requests in 1.00s, 0.00B read\n"
    result = parse_wrk(text)
    assert result.requests == 0 and math.isnan(result.p99_ms)


def test_parse_refuses_garbage() -> None:
    with pytest.raises(ValueError):
        parse_wrk("unable to connect to 127.0.0.1:1 Connection refused")


def test_multipart(tmp_path) -> None:  # noqa: ANN001 - pytest fixture
    (tmp_path / "a.tif").write_bytes(b"\x00\x01tiff")
    body, content_type = multipart({"name": "x"}, {"ortho": tmp_path / "a.tif"})
    boundary = content_type.split("boundary=")[1]
    assert body.startswith(f"--{boundary}\r\n".encode()) and body.endswith(f"--{boundary}--\r\n".encode())
    assert b'name="ortho"; filename="a.tif"' in body and b"\x00\x01tiff\r\n" in body


def test_server_exceptions(tmp_path) -> None:  # noqa: ANN001 - pytest fixture
    log = tmp_path / "web.log"
    log.write_text("old\nValueError: before\n")
    start = log.stat().st_size
    with log.open("a") as f:
        f.write('Traceback (most recent call last):\n  File "x.py", line 1\n')
        f.write("sqlite3.OperationalError: database is locked\n")
        f.write("django.db.utils.OperationalError: database is locked\n" * 2)
        f.write('127.0.0.1:1 - - [27/Nov/2026:12:24:08] "POST /api/areas/" 500 145\n')
    assert server_exceptions(log, start) == {
        "sqlite3.OperationalError: database is locked": 1,
        "django.db.utils.OperationalError: database is locked": 2,
    }


def test_one_line() -> None:
    page = b"<!doctype html>\n<html><head>\n  <title>Server Error (500)</title>\n</head></html>"
    assert _one_line(page) == "Server Error (500)"
    assert _one_line(b'{"ortho": ["The file\n is empty."]}') == '{"ortho": ["The file is empty."]}'
