"""Benchmarks end to end: Dovecot -> `supportbot run` -> SMTP recorder; throughput, peak memory, IDLE latency."""
from __future__ import annotations

import os
import re
import statistics
import subprocess
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.store.db import make_engine
from tests.bench.realistic_mail import realistic_request
from tests.integration.conftest import of_kind, write_config
from tests.support.bot_process import CLI, start_bot

MESSAGES = int(os.environ.get("SUPPORTBOT_BENCH_MESSAGES", "5000"))
LATENCY_MESSAGES = 50
TIMEOUT_SECONDS = 900
_ACK = re.compile(rb"^X-Supportbot-Kind:[ \t]*ack\r?$", re.M | re.I)
# Loop protection would (rightly) withhold thousands of acknowledgements within an hour.
NO_LOOP_LIMITS = {"loops": {"per_address_per_hour": 1000, "global_per_hour": 10_000_000}}


class Bot:
    """`supportbot run` as a subprocess with a real config file; its log kept for failure reports."""

    def __init__(self, config: Path) -> None:
        self.log = config.with_suffix(".log")
        subprocess.run([*CLI, "--config", str(config), "init"], check=True,
                       capture_output=True, timeout=120)  # the schema exists before the clock starts
        with open(self.log, "wb") as out:
            self.started = time.monotonic()
            self.process = start_bot(config, stdout=out)

    def peak_rss_mb(self) -> float:
        """The bot's own peak; the sender process it forks is counted apart (sender_peak_rss_mb)."""
        return _peak_rss_mb(self.process.pid)

    def sender_peak_rss_mb(self) -> float:
        return sum(_peak_rss_mb(pid) for pid in _children(self.process.pid))

    def sender_private_mb(self) -> float:
        """What the forked sender holds of its own now (pages it shares with the bot not counted)."""
        return sum(_private_mb(pid) for pid in _children(self.process.pid))

    def cpu_seconds(self) -> float:
        """User + system CPU time so far, the sender process's included: comparable between runs even
        when the machine is busy."""
        return _cpu_seconds(self.process.pid, reaped=True) + sum(
            _cpu_seconds(pid) for pid in _children(self.process.pid))

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            raise AssertionError(f"supportbot exited {self.process.returncode}:\n{self.log.read_text()[-4000:]}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def _children(pid: int) -> list[int]:
    return [int(child) for task in Path(f"/proc/{pid}/task").iterdir()
            for child in (task / "children").read_text().split()]


def _peak_rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024


def _private_mb(pid: int) -> float:
    rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
    return sum(int(kb) for kb in re.findall(r"^Private_(?:Clean|Dirty):\s+(\d+) kB", rollup, re.M)) / 1024


def _cpu_seconds(pid: int, *, reaped: bool = False) -> float:
    """utime + stime of `pid` (and, with reaped, of its children that ended and were waited for)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12]) + (int(fields[13]) + int(fields[14]) if reaped else 0)
    return ticks / os.sysconf("SC_CLK_TCK")


class AckCounter:
    """Counts acknowledgements at the recorder, looking only at mail not yet looked at."""

    def __init__(self, smtp) -> None:
        self.smtp, self.seen, self.count = smtp, 0, 0

    def update(self) -> int:
        received = self.smtp.received
        self.count += sum(1 for mail in received[self.seen:] if _ACK.search(mail.raw, 0, 4096))
        self.seen = len(received)
        return self.count


def _append_all(dovecot, messages: list[bytes]) -> None:
    with dovecot.connect() as client:   # one connection: 5,000 logins would measure Dovecot's auth
        for raw in messages:
            client.append("INBOX", raw)


def _database_url(backend: str, tmp_path: Path, request) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'bot.store.db'}"
    return request.getfixturevalue("postgres_database_url")  # skips when PostgreSQL is not reachable


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_e2e_intake_throughput(backend, tmp_path, dovecot, smtp, request):
    url = _database_url(backend, tmp_path, request)
    config = tmp_path / "bot.toml"
    write_config(config, imap=dovecot, smtp=smtp, database_url=url, sections=NO_LOOP_LIMITS)
    messages = [realistic_request(n) for n in range(MESSAGES)]
    appended = time.monotonic()
    _append_all(dovecot, messages)
    appended = time.monotonic() - appended
    engine = make_engine(url)
    acks = AckCounter(smtp)
    # The rest of the machine's work, for the CPU budget: the recorder runs in this process.
    harness_cpu, dovecot_cpu = time.process_time(), dovecot.cpu_seconds()
    bot = Bot(config)
    try:
        first_ticket = None
        deadline = bot.started + TIMEOUT_SECONDS
        while True:
            bot.check_alive()
            with engine.connect() as conn:
                tickets = conn.execute(text("SELECT count(*) FROM ticket")).scalar_one()
            if tickets and first_ticket is None:
                first_ticket, cpu_at_first, tickets_at_first = time.monotonic(), bot.cpu_seconds(), tickets
            if tickets >= MESSAGES and acks.update() >= MESSAGES:
                break
            assert time.monotonic() < deadline, f"after {TIMEOUT_SECONDS}s: {tickets} tickets, {acks.count} acks"
            time.sleep(0.1)
        finished = time.monotonic()
        peak, cpu = bot.peak_rss_mb(), bot.cpu_seconds()
        sender_peak, sender_own = bot.sender_peak_rss_mb(), bot.sender_private_mb()
        harness_cpu, dovecot_cpu = time.process_time() - harness_cpu, dovecot.cpu_seconds() - dovecot_cpu
    finally:
        bot.stop()
        engine.dispose()
    total, steady = finished - bot.started, finished - first_ticket
    sizes = sorted(len(m) for m in messages)
    print(f"\nend to end, {backend}: {MESSAGES} messages (median {sizes[len(sizes) // 2]} B, "
          f"{sum(sizes) / 1e6:.1f} MB; APPEND took {appended:.1f}s) -> tickets + acks received: "
          f"{total:.1f}s from process start = {MESSAGES / total:.0f} msg/s; "
          f"{steady:.1f}s from the first ticket = {MESSAGES / steady:.0f} msg/s; "
          f"startup {first_ticket - bot.started:.1f}s; bot peak RSS {peak:.0f} MB (sender process "
          f"{sender_peak:.0f} MB, {sender_own:.0f} MB of it its own); bot CPU {cpu:.1f}s "
          f"({1000 * cpu / MESSAGES:.1f} ms a message; {cpu_at_first:.1f}s to the first ticket, then "
          f"{1000 * (cpu - cpu_at_first) / (MESSAGES - tickets_at_first):.2f} ms a message after start-up); "
          f"{len(smtp.received)} mails received in all; load average {os.getloadavg()[0]:.1f}")
    print(_cpu_budget(bot=cpu, recorder=harness_cpu, dovecot=dovecot_cpu))
    replied_to = {mail.message["In-Reply-To"] for mail in of_kind(smtp.received)}
    assert len(replied_to) == MESSAGES  # one acknowledgement per request, none twice


def _cpu_budget(*, bot: float, recorder: float, dovecot: float) -> str:
    """CPU a message costs each process; 2 cores at full use bound the rate at 2 s over their sum."""
    per = {name: 1000 * seconds / MESSAGES for name, seconds in
           (("bot", bot), ("recorder and test", recorder), ("Dovecot", dovecot))}
    total = sum(per.values())
    return ("CPU a message: " + ", ".join(f"{name} {ms:.2f} ms" for name, ms in per.items())
            + f"; {total:.2f} ms in all: 2 cores allow at most {2000 / total:.0f} msg/s at this cost "
            f"(500 msg/s leaves 4 ms in all, {4 - per['recorder and test'] - per['Dovecot']:.2f} ms for the bot)")


def test_ack_latency_under_idle(tmp_path, dovecot, smtp):
    config = tmp_path / "bot.toml"
    write_config(config, imap=dovecot, smtp=smtp, database_url=f"sqlite:///{tmp_path / 'bot.store.db'}",
                 sections=NO_LOOP_LIMITS)
    bot = Bot(config)
    appended_at: dict[str, float] = {}
    try:
        with dovecot.connect() as client:
            for n in range(LATENCY_MESSAGES + 1):   # the first one only shows the bot is up and idling
                message_id = f"<latency-{n}@example.org>"
                appended_at[message_id] = time.monotonic()
                client.append("INBOX", realistic_request(n, message_id=message_id))
                if n == 0:
                    _wait_for_acks(bot, smtp, 1)
                    time.sleep(2)   # back in IDLE
                    del appended_at[message_id]
                time.sleep(0.3)
        acks = _wait_for_acks(bot, smtp, LATENCY_MESSAGES + 1)
        peak = bot.peak_rss_mb()
    finally:
        bot.stop()
    latencies = sorted(mail.arrived - appended_at[mail.message["In-Reply-To"]]
                       for mail in acks if mail.message["In-Reply-To"] in appended_at)
    assert len(latencies) == LATENCY_MESSAGES
    p50, p95 = statistics.quantiles(latencies, n=100)[49], statistics.quantiles(latencies, n=100)[94]
    print(f"\nacknowledgement latency under IDLE, SQLite, {LATENCY_MESSAGES} messages 0.3 s apart: "
          f"p50 {p50:.2f}s, p95 {p95:.2f}s, max {latencies[-1]:.2f}s; bot peak RSS {peak:.0f} MB; "
          f"load average {os.getloadavg()[0]:.1f}")


def _wait_for_acks(bot: Bot, smtp, count: int) -> list:
    deadline = time.monotonic() + 120
    while len(acks := of_kind(smtp.received)) < count:
        bot.check_alive()
        assert time.monotonic() < deadline, f"only {len(acks)} of {count} acknowledgements after 120s"
        time.sleep(0.05)
    return acks
