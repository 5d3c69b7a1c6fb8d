"""parse_wrk_text on real saved wrk 4.1.0 outputs (tests/fixtures/wrk) and on a few constructed samples."""

from __future__ import annotations

from pathlib import Path

import pytest

from analysis.wrk_text import WrkParseError, WrkTextResult, parse_wrk_text

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "wrk"


def parse_fixture(name: str) -> WrkTextResult:
    return parse_wrk_text((FIXTURES / f"{name}.txt").read_text(encoding="utf-8"))


def test_normal_run_with_latency_distribution_in_microseconds() -> None:
    result = parse_fixture("normal")
    assert result.url == "http://127.0.0.1:18080/plaintext"
    assert (result.threads, result.connections) == (2, 8)
    assert result.requests == 155215
    assert result.duration_s == pytest.approx(2.00)
    assert result.duration_str == "2.00s"
    assert result.bytes_read_str == "23.83MB"
    assert result.bytes_read == pytest.approx(23.83 * 1024**2)
    assert (result.latency_avg_str, result.latency_stdev_str, result.latency_max_str) == (
        "334.89us",
        "829.03us",
        "10.30ms",
    )
    assert result.latency_avg_ms == pytest.approx(0.33489)
    assert result.latency_stdev_ms == pytest.approx(0.82903)
    assert result.latency_max_ms == pytest.approx(10.30)
    assert result.latency_within_stdev_pct == pytest.approx(92.31)
    assert result.percentiles_str == {"50": "81.00us", "75": "144.00us", "90": "833.00us", "99": "4.24ms"}
    assert result.percentiles_ms == pytest.approx({"50": 0.081, "75": 0.144, "90": 0.833, "99": 4.24})
    assert result.requests_per_sec == pytest.approx(77500.97)
    assert result.transfer_per_sec_str == "11.90MB"
    assert result.transfer_per_sec == pytest.approx(11.90 * 1024**2)
    assert (result.errors_connect, result.errors_read, result.errors_write, result.errors_timeout) == (
        0,
        0,
        0,
        0,
    )
    assert result.non2xx == 0
    assert result.has_latency_distribution


def test_slow_server_milliseconds_and_seconds() -> None:
    result = parse_fixture("slow-mix")
    assert result.requests == 56
    assert (result.latency_avg_str, result.latency_stdev_str, result.latency_max_str) == (
        "321.37ms",
        "422.72ms",
        "1.20s",
    )
    assert result.latency_avg_ms == pytest.approx(321.37)
    assert result.latency_max_ms == pytest.approx(1200.0)
    # wrk pads one-letter units with a trailing space: "    1.20s "
    assert result.percentiles_str == {"50": "21.03ms", "75": "628.75ms", "90": "1.20s", "99": "1.20s"}
    assert result.percentiles_ms == pytest.approx({"50": 21.03, "75": 628.75, "90": 1200.0, "99": 1200.0})
    assert result.bytes_read_str == "5.20KB"
    assert result.bytes_read == pytest.approx(5.20 * 1024)
    assert result.requests_per_sec == pytest.approx(27.92)
    assert result.transfer_per_sec == pytest.approx(2.59 * 1024)


def test_seconds_average_with_microsecond_stdev() -> None:
    result = parse_fixture("slow-seconds")
    assert result.latency_avg_ms == pytest.approx(1110.0)
    assert result.latency_stdev_ms == pytest.approx(0.06197)
    assert result.latency_max_str == "1.11s"
    assert result.transfer_per_sec_str == "757.85B"
    assert result.transfer_per_sec == pytest.approx(757.85)
    assert result.requests == 16


def test_connect_errors() -> None:
    result = parse_fixture("connect-errors")
    assert result.requests == 122359
    assert (result.errors_connect, result.errors_read, result.errors_write, result.errors_timeout) == (
        7,
        0,
        0,
        0,
    )
    assert result.socket_errors == 7
    assert result.latency_stdev_str == "0.89ms"
    assert result.percentiles_str["99"] == "5.03ms"


def test_read_errors() -> None:
    result = parse_fixture("read-errors")
    assert result.requests == 29640
    assert result.errors_read == 9872
    assert result.socket_errors == 9872
    assert result.non2xx == 0
    assert result.duration_s == pytest.approx(2.10)


def test_timeouts() -> None:
    result = parse_fixture("timeouts")
    assert result.requests == 48
    assert result.errors_timeout == 16
    assert (result.errors_connect, result.errors_read, result.errors_write) == (0, 0, 0)
    assert result.latency_avg_str == "15.73ms"
    assert result.latency_within_stdev_pct == pytest.approx(50.0)


def test_non2xx_responses() -> None:
    result = parse_fixture("non2xx")
    assert result.requests == 72145
    assert result.non2xx == 7278
    assert result.socket_errors == 0
    assert result.url == "http://127.0.0.1:18080/mixed"
    assert result.requests_per_sec == pytest.approx(35982.69)


def test_pipelined_run() -> None:
    result = parse_fixture("pipelined")
    assert result.requests == 227838
    assert result.connections == 16
    assert result.latency_avg_str == "1.87ms"
    assert result.percentiles_str == {"50": "1.28ms", "75": "2.29ms", "90": "4.16ms", "99": "9.50ms"}
    assert result.transfer_per_sec_str == "17.47MB"


def test_all_errors_zero_requests() -> None:
    result = parse_fixture("all-errors")
    assert result.requests == 0
    assert result.errors_read == 15043
    assert result.latency_avg_ms == 0.0
    assert result.latency_max_str == "0.00us"
    assert result.latency_within_stdev_pct is None  # wrk prints "-nan%"
    assert result.percentiles_ms == {"50": 0.0, "75": 0.0, "90": 0.0, "99": 0.0}
    assert result.bytes_read == 0.0
    assert result.requests_per_sec == 0.0
    assert result.transfer_per_sec_str == "0.00B"


@pytest.mark.parametrize("name", ["normal", "normal-r2", "primer", "two-clients-a", "two-clients-b"])
def test_clean_runs_have_no_errors(name: str) -> None:
    result = parse_fixture(name)
    assert result.requests > 100_000
    assert result.socket_errors == 0
    assert result.non2xx == 0


def test_failed_run_text_raises_naming_what_is_missing() -> None:
    text = (FIXTURES / "wrk-missing.txt").read_text(encoding="utf-8")
    with pytest.raises(WrkParseError, match="'Latency' thread stats line") as excinfo:
        parse_wrk_text(text)
    assert "Requests/sec" in str(excinfo.value)


@pytest.mark.parametrize(
    "garbage", ["", "hello\nworld\n", "unable to connect to 127.0.0.1:9 Connection refused\n"]
)
def test_garbage_raises(garbage: str) -> None:
    with pytest.raises(WrkParseError, match="no wrk summary"):
        parse_wrk_text(garbage)


def test_truncated_output_names_the_missing_lines() -> None:
    head = "".join((FIXTURES / "normal.txt").read_text(encoding="utf-8").splitlines(keepends=True)[:9])
    with pytest.raises(WrkParseError) as excinfo:
        parse_wrk_text(head)
    message = str(excinfo.value)
    assert "requests in" in message and "Requests/sec" in message
    assert "'Latency' thread stats line" not in message


def test_report_json_printed_after_the_marker_is_ignored() -> None:
    text = (FIXTURES / "normal.txt").read_text(encoding="utf-8")
    with_json = text + '----- wrk-report-json -----\n{"requests": 1}\nRequests/sec: 1.00\n'
    assert parse_wrk_text(with_json) == parse_wrk_text(text)


# --- Constructed samples (NOT real wrk output): formats wrk prints rarely, written by hand following
# --- wrk 4.1.0's printf formats (src/wrk.c print_stats/print_units, src/units.c).

CONSTRUCTED_MINUTES_NO_LATENCY_FLAG = """\
Running 3m test @ http://10.0.0.2:8080/updates?queries=20
  4 threads and 16384 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.02m    10.50s     1.98m    75.10%
    Req/Sec     1.21k   300.00      2.50k    68.00%
  812345 requests in 3.00m, 1.21GB read
  Socket errors: connect 11, read 22, write 33, timeout 44
  Non-2xx or 3xx responses: 55
Requests/sec:   4512.94
Transfer/sec:      6.88MB
"""

CONSTRUCTED_TRUNCATED_AVG_AND_KB = "\n".join(
    [
        "Running 15s test @ http://10.0.0.2:8080/db",
        "  2 threads and 512 connections",
        "  Thread Stats   Avg      Stdev     Max   +/- Stdev",
        "    Latency 1000.00m  120.00ms   1.90s    70.00%",
        "    Req/Sec   256.00     20.00   300.00     60.00%",
        "  Latency Distribution",
        "     50%  990.00ms",
        "     75%    1.05s ",  # wrk pads one-letter units with a trailing space
        "     90%    1.20s ",
        "     99%    1.80s ",
        "  7680 requests in 15.00s, 1.50MB read",
        "Requests/sec:    512.00",
        "Transfer/sec:    102.40KB",
        "",
    ]
)


def test_constructed_minutes_and_gigabytes_without_latency_flag() -> None:
    result = parse_wrk_text(CONSTRUCTED_MINUTES_NO_LATENCY_FLAG)
    assert result.latency_avg_ms == pytest.approx(1.02 * 60_000)
    assert result.latency_stdev_ms == pytest.approx(10_500.0)
    assert result.latency_max_ms == pytest.approx(1.98 * 60_000)
    assert result.duration_s == pytest.approx(180.0)
    assert result.bytes_read == pytest.approx(1.21 * 1024**3)
    assert result.transfer_per_sec == pytest.approx(6.88 * 1024**2)
    assert (result.errors_connect, result.errors_read, result.errors_write, result.errors_timeout) == (
        11,
        22,
        33,
        44,
    )
    assert result.non2xx == 55
    assert result.percentiles_ms == {}
    assert not result.has_latency_distribution
    assert result.connections == 16384


def test_constructed_truncated_average_is_a_second_not_1000_minutes() -> None:
    # print_units() cuts the 8-wide Avg column: "1000.00ms" (a mean of 999995..999999 us) prints as "1000.00m"
    result = parse_wrk_text(CONSTRUCTED_TRUNCATED_AVG_AND_KB)
    assert result.latency_avg_str == "1000.00m"
    assert result.latency_avg_ms == pytest.approx(1000.0)
    assert result.percentiles_ms == pytest.approx({"50": 990.0, "75": 1050.0, "90": 1200.0, "99": 1800.0})
    assert result.transfer_per_sec == pytest.approx(102.40 * 1024)


def test_incomplete_latency_distribution_raises() -> None:
    broken = CONSTRUCTED_TRUNCATED_AVG_AND_KB.replace("     99%    1.80s \n", "")
    with pytest.raises(WrkParseError, match="incomplete latency distribution"):
        parse_wrk_text(broken)


def test_bad_unit_raises_parse_error() -> None:
    broken = CONSTRUCTED_TRUNCATED_AVG_AND_KB.replace("120.00ms", "120.00xx")
    with pytest.raises(WrkParseError, match="latency stdev"):
        parse_wrk_text(broken)
