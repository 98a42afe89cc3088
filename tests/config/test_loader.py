"""What a valid `checks.yaml` means: defaults, typed values, zones, merging, the CLI."""

from __future__ import annotations

import re
import textwrap
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from monitor import __version__
from monitor.cli import main
from monitor.config import Config, ConfigError, load_config, load_config_text
from monitor.config.records import (
    BusinessDuration,
    BusinessUnit,
    ClockKind,
    DeliverySettings,
    HealthSettings,
    HttpSpec,
    JsonExpectation,
    Mailbox,
    PageWhen,
    RetrySettings,
    RotationKind,
    SmtpSettings,
)
from monitor.model import CheckType, Impact, Level

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "checks.yaml"

MINIMAL = """\
settings:
  email: {team: ops@agency.example}
customers:
  acme:
    contacts: [{name: Kari Nordmann, email: kari@acme.example}]
    sites:
      shop:
        url: https://shop.acme.example
        checks:
          home: {path: /}
"""

CUSTOMER = """\
customers:
  acme:
    contacts: [{name: Kari Nordmann, email: kari@acme.example}]
    sites:
      shop:
        url: https://shop.acme.example
        checks:
          home: {path: /}
"""


def load(text: str, env: dict[str, str] | None = None) -> Config:
    return load_config_text(textwrap.dedent(text), env=env or {})


def with_customer(text: str, env: dict[str, str] | None = None) -> Config:
    return load(textwrap.dedent(text) + CUSTOMER, env)


def errors_of(text: str, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load(text, env)
    return [str(issue) for issue in caught.value.issues]


def http_spec(config: Config, check_id: str = "acme/shop/home") -> HttpSpec:
    check = config.check(check_id)
    assert check is not None
    assert isinstance(check.spec, HttpSpec)
    return check.spec


# ---------------------------------------------------------------------- the example


def test_the_annotated_example_loads_with_its_eight_checks() -> None:
    config = load_config(str(EXAMPLE), env={})

    kinds = {check.name: check.type for check in config.checks()}
    assert kinds == {
        "home": CheckType.HTTP,
        "checkout": CheckType.HTTP,
        "search": CheckType.HTTP,
        "api": CheckType.HTTP,
        "tls": CheckType.TLS,
        "db": CheckType.TCP,
        "dns": CheckType.DNS,
        "backup": CheckType.HEARTBEAT,
    }
    impacts = {check.name: check.impact for check in config.checks()}
    assert impacts["tls"] is Impact.WARNING
    assert impacts["home"] is Impact.OUTAGE
    assert config.settings.location == "oslo"
    assert set(config.policies) == {"standard", "infraspeak-style", "default"}


def test_the_example_maps_levels_onto_the_priority_matrix() -> None:
    config = load_config(str(EXAMPLE), env={})

    level_a = config.policies["infraspeak-style"].levels[Level.A]
    assert level_a.respond == BusinessDuration(4, BusinessUnit.HOURS)
    assert level_a.resolve == BusinessDuration(24, BusinessUnit.HOURS)
    assert level_a.clock is ClockKind.BUSINESS


# --------------------------------------------------------------------------- defaults


def test_a_ten_line_config_loads_with_sensible_defaults() -> None:
    assert len(MINIMAL.splitlines()) == 10

    config = load(MINIMAL)

    customer = config.customers["acme"]
    assert customer.policy == "default"
    assert customer.escalation is None  # nobody on call: pages go to the team address
    assert config.settings.email.team == Mailbox("ops@agency.example")
    assert customer.primary_contact is not None
    assert customer.primary_contact.email == "kari@acme.example"
    assert config.settings.store_written == "sqlite:///vakt.db"
    assert config.settings.store == f"sqlite:///{Path.cwd() / 'vakt.db'}"  # text: the cwd
    check = config.check("acme/shop/home")
    assert check is not None
    assert (check.type, check.impact) == (CheckType.HTTP, Impact.OUTAGE)
    assert (check.interval, check.timeout, check.confirm, check.recover) == (
        timedelta(seconds=60),
        timedelta(seconds=10),
        3,
        2,
    )
    assert http_spec(config).url == "https://shop.acme.example/"
    assert http_spec(config).method == "GET"


def test_delivery_and_health_settings_default_to_the_documented_production_values() -> None:
    settings = load(MINIMAL).settings

    assert settings.delivery == DeliverySettings(
        poll=timedelta(seconds=1),
        lease=timedelta(minutes=2),
        timeout=timedelta(seconds=30),
        retry=RetrySettings(timedelta(seconds=10), timedelta(minutes=10), 20, timedelta(hours=24)),
        warn_after=5,
    )
    assert settings.health == HealthSettings(timedelta(seconds=60), 3, 3)


def test_delivery_and_health_settings_take_what_the_file_says() -> None:
    config = with_customer(
        """\
        settings:
          delivery: {poll: 200ms, lease: 5s, timeout: 2s, retry: {base: 1s, cap: 2s}, warn_after: 2}
          health: {delivery_after: 3s, engine_periods: 5, planner_periods: 4}
        """
    )

    delivery, health = config.settings.delivery, config.settings.health
    assert (delivery.poll, delivery.lease, delivery.timeout, delivery.warn_after) == (
        timedelta(milliseconds=200),
        timedelta(seconds=5),
        timedelta(seconds=2),
        2,
    )
    assert (delivery.retry.base, delivery.retry.cap, delivery.retry.max_attempts) == (
        timedelta(seconds=1),
        timedelta(seconds=2),
        20,
    )
    assert health == HealthSettings(timedelta(seconds=3), 5, 4)


def test_the_builtin_default_policy_is_dekodes_agreement() -> None:
    policy = load(MINIMAL).policies["default"]

    assert policy.builtin
    assert policy.calendar == "office"
    a, b = policy.levels[Level.A], policy.levels[Level.B]
    assert (a.respond, a.clock, a.page) == (timedelta(hours=2), ClockKind.ALWAYS, PageWhen.ALWAYS)
    assert (b.respond, b.clock, b.page) == (
        BusinessDuration(1, BusinessUnit.DAYS),
        ClockKind.BUSINESS,
        PageWhen.BUSINESS_HOURS,
    )


def test_the_builtin_office_calendar_is_weekdays_nine_to_four() -> None:
    office = load(MINIMAL).calendars["office"]

    nine_to_four = ((time(9), time(16)),)
    assert office.hours == (nine_to_four,) * 5 + ((), ())
    assert office.timezone_name == "UTC"


def test_a_missing_customers_section_is_reported_for_the_whole_file() -> None:
    assert errors_of("settings: {location: oslo}\n") == [
        "checks.yaml:1: missing required key 'customers'"
    ]


# ----------------------------------------------------------------- YAML 1.1 guesses


def test_country_no_stays_norway_not_false() -> None:
    config = with_customer(
        """\
        calendars:
          oslo: {hours: {mon-fri: ["09:00-16:00"]}, holidays: {country: NO}}
        """
    )

    holidays = config.calendars["oslo"].holidays
    assert holidays is not None
    assert holidays.country == "NO"


def test_an_unquoted_1_30_stays_a_time_where_a_time_is_expected() -> None:
    config = with_customer(
        """\
        people: {alice: {email: alice@agency.example}}
        oncall:
          schedules:
            weekly: {layers: [{rotation: weekly, handoff: "mon 1:30", members: [alice]}]}
            daily: {layers: [{rotation: daily, handoff: 1:30, members: [alice]}]}
        """
    )

    weekly = config.schedules["weekly"].layers[0].rotation
    daily = config.schedules["daily"].layers[0].rotation
    assert (weekly.kind, weekly.handoff_weekday, weekly.handoff_time) == (
        RotationKind.WEEKLY,
        0,
        time(1, 30),
    )
    assert (daily.kind, daily.handoff_time) == (RotationKind.DAILY, time(1, 30))


def test_a_port_with_a_leading_zero_is_decimal_not_octal() -> None:
    # YAML 1.1 would read 0755 as octal 493; nobody writing a port means that.
    config = with_customer("settings: {email: {smtp: {port: 0755}}}\n")

    assert config.settings.email.smtp.port == 755


def test_yes_and_on_are_true_where_a_switch_is_expected() -> None:
    config = with_customer("settings: {email: {smtp: {starttls: yes, port: 587}}}\n")

    assert config.settings.email.smtp == SmtpSettings(
        host="127.0.0.1", port=587, starttls=True, timeout=timedelta(seconds=30)
    )


def test_dates_are_parsed_as_dates() -> None:
    config = with_customer(
        """\
        calendars:
          oslo:
            hours: {mon-fri: ["09:00-16:00"]}
            closed: [2026-12-24, 2026-12-31]
            open: [2026-12-27]
        """
    )

    oslo = config.calendars["oslo"]
    assert oslo.closed == frozenset({date(2026, 12, 24), date(2026, 12, 31)})
    assert oslo.open == frozenset({date(2026, 12, 27)})


# ------------------------------------------------------------------------------ zones


def test_naive_maintenance_times_are_in_the_windows_own_time_zone() -> None:
    config = load(
        CUSTOMER
        + """\
settings: {timezone: Europe/Oslo}
maintenance:
  - {sites: [acme/shop], from: 2026-12-01T22:00, to: 2026-12-01T23:00, timezone: America/New_York}
  - {sites: [acme/shop], from: 2026-12-02T22:00, to: 2026-12-02T23:00}
"""
    )

    own, default = config.maintenance
    assert own.start == datetime(2026, 12, 1, 22, tzinfo=ZoneInfo("America/New_York"))
    assert own.start is not None
    assert own.start.utcoffset() == timedelta(hours=-5)
    assert default.start == datetime(2026, 12, 2, 22, tzinfo=ZoneInfo("Europe/Oslo"))
    assert default.end == datetime(2026, 12, 2, 23, tzinfo=ZoneInfo("Europe/Oslo"))


def test_naive_override_times_are_in_the_schedules_time_zone() -> None:
    config = with_customer(
        """\
        settings: {timezone: Europe/Oslo}
        people: {alice: {email: alice@agency.example}, carol: {email: carol@agency.example}}
        oncall:
          schedules:
            tokyo:
              timezone: Asia/Tokyo
              layers: [{rotation: weekly, members: [alice]}]
              overrides: [{person: carol, from: 2026-12-24T00:00, to: 2026-12-27T00:00}]
        """
    )

    override = config.schedules["tokyo"].overrides[0]
    assert override.start == datetime(2026, 12, 24, tzinfo=ZoneInfo("Asia/Tokyo"))
    assert override.end - override.start == timedelta(days=3)
    assert override.start.utcoffset() == timedelta(hours=9)


def test_a_fixed_offset_such_as_utc_plus_two_is_a_valid_time_zone() -> None:
    config = with_customer(
        """\
        settings: {timezone: "UTC+02:00"}
        calendars:
          compera: {timezone: "UTC-03:30", hours: {mon-fri: ["08:00-17:00"]}}
        """
    )

    assert config.settings.timezone_name == "UTC+02:00"
    assert config.settings.timezone.utcoffset(None) == timedelta(hours=2)
    compera = config.calendars["compera"].timezone
    assert compera.utcoffset(None) == -timedelta(hours=3, minutes=30)


# ------------------------------------------------------------------------------ types


def test_durations_business_durations_and_back_off_lists_are_typed() -> None:
    config = with_customer(
        """\
        policies:
          gold:
            levels:
              A: {respond: 1h30m, update_every: [30m, 1h, 2h]}
              B: {respond: 4 business hours, update_every: [1 business day]}
        """
    )

    levels = config.policies["gold"].levels
    assert levels[Level.A].respond == timedelta(minutes=90)
    assert levels[Level.A].update_every == (
        timedelta(minutes=30),
        timedelta(hours=1),
        timedelta(hours=2),
    )
    assert levels[Level.A].clock is ClockKind.ALWAYS
    assert levels[Level.B].respond == BusinessDuration(4, BusinessUnit.HOURS)
    assert levels[Level.B].update_every == (BusinessDuration(1, BusinessUnit.DAYS),)
    assert levels[Level.B].clock is ClockKind.BUSINESS  # business units imply the business clock


def test_json_expectations_flatten_into_paths() -> None:
    text = CUSTOMER.replace(
        "home: {path: /}", 'api: {path: /health, expect: {json: {status: ok, db: {ok: "true"}}}}'
    )

    spec = http_spec(load(text), "acme/shop/api")

    assert spec.json == (
        JsonExpectation(("status",), "ok"),
        JsonExpectation(("db", "ok"), "true"),
    )


# ------------------------------------------------------------------------ environment


def test_environment_variables_are_substituted_with_defaults_and_dollar_escapes() -> None:
    config = with_customer(
        """\
        settings:
          secret: ${VAKT_SECRET}
          heartbeat_key: "${VAKT_HEARTBEAT_KEY:-fallback}"
          sentry: {dsn: "${SENTRY_DSN:-}"}
          email: {smtp: {password: "pa$$word-${SMTP_USER}"}}
        """,
        env={"VAKT_SECRET": "s3cret", "SMTP_USER": "vakt"},
    )

    assert config.settings.secret == "s3cret"
    assert config.settings.heartbeat_key == "fallback"
    assert config.settings.sentry.dsn is None  # empty means not configured
    assert config.settings.email.smtp.password == "pa$word-vakt"


def test_a_set_but_empty_variable_takes_its_default() -> None:
    config = with_customer("settings: {location: '${LOCATION:-oslo}'}\n", env={"LOCATION": ""})

    assert config.settings.location == "oslo"


# --------------------------------------------------------------- directories, merges


def test_a_directory_of_yaml_files_is_deep_merged(tmp_path: Path) -> None:
    (tmp_path / "settings.yaml").write_text("settings: {location: oslo}\n")
    (tmp_path / "customers-a.yaml").write_text(CUSTOMER)
    (tmp_path / "customers-b.yaml").write_text(CUSTOMER.replace("acme", "globex"))
    (tmp_path / "notes.txt").write_text("not config: ignored\n")

    config = load_config(str(tmp_path), env={})

    assert set(config.customers) == {"acme", "globex"}
    assert config.settings.location == "oslo"
    assert config.check("globex/shop/home") is not None


def test_a_key_defined_in_two_files_is_an_error_naming_both(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "a.yaml").write_text(CUSTOMER)
    (tmp_path / "b.yaml").write_text("# the same site again\n" + CUSTOMER)
    monkeypatch.chdir(tmp_path)

    with pytest.raises(ConfigError) as caught:
        load_config(".", env={})

    assert [str(issue) for issue in caught.value.issues] == [
        "b.yaml:4: customers.acme.contacts: defined twice: in a.yaml:3 and b.yaml:4",
        "b.yaml:7: customers.acme.sites.shop.url: defined twice: in a.yaml:6 and b.yaml:7",
        "b.yaml:9: customers.acme.sites.shop.checks.home.path: "
        "defined twice: in a.yaml:8 and b.yaml:9",
    ]


def test_yaml_merge_keys_share_check_settings() -> None:
    config = load(
        """\
        customers:
          acme:
            contacts: [{name: Kari Nordmann, email: kari@acme.example}]
            sites:
              shop:
                url: https://shop.acme.example
                checks:
                  home: &slow {path: /, interval: 5m, impact: function}
                  cart: {<<: *slow, path: /cart}
        """
    )

    cart = config.check("acme/shop/cart")
    assert cart is not None
    assert (cart.interval, cart.impact) == (timedelta(minutes=5), Impact.FUNCTION)
    assert http_spec(config, "acme/shop/cart").url == "https://shop.acme.example/cart"


def test_every_independent_problem_of_a_file_is_reported_at_once() -> None:
    text = CUSTOMER.replace("home: {path: /}", "home: {path: /, interval: soon}")
    text = "settings: {timezone: Mars/Olympus}\npolicies: {gold: {warn_at: 150%}}\n" + text

    found = errors_of(text)

    assert len(found) == 3
    assert [line.split(": ")[1] for line in found] == [
        "settings.timezone",
        "policies.gold.warn_at",
        "customers.acme.sites.shop.checks.home.interval",
    ]
    assert [line.split(":")[1] for line in found] == ["1", "2", "10"]


# -------------------------------------------------------------------------------- CLI


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_check_config_summarises_the_example(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, "check-config", "-c", str(EXAMPLE))

    assert code == 0, err
    assert out.startswith(f"{EXAMPLE}: OK\n")
    assert "1 customer, 1 site, 8 checks" in out
    assert "probing from 'oslo'" in out


def test_check_config_lists_every_error_without_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "checks.yaml"
    bad.write_text(
        CUSTOMER.replace("home: {path: /}", "home: {path: /, timeout: 2 minutes}")
        + "settings: {case_prefix: vakt}\n"
    )

    code, out, err = run_cli(capsys, "check-config", "-c", str(bad))

    assert code == 1
    assert out == ""
    assert err.splitlines() == [
        "2 errors in the configuration:",
        f"  {bad}:8: customers.acme.sites.shop.checks.home.timeout: expected a duration "
        "such as 30s, 5m, 2h, 1d or 2w, got '2 minutes'",
        f"  {bad}:9: settings.case_prefix: expected capital letters and digits such as VAKT, "
        "got 'vakt'",
    ]
    assert "Traceback" not in err


def test_check_config_reads_the_path_in_vakt_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "elsewhere.yaml"
    config.write_text(MINIMAL)
    monkeypatch.setenv("VAKT_CONFIG", str(config))
    monkeypatch.chdir(tmp_path)

    code, out, _ = run_cli(capsys, "check-config")

    assert code == 0
    assert out.startswith(f"{config}: OK\n")


def test_check_config_defaults_to_checks_yaml_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "checks.yaml").write_text(MINIMAL)
    monkeypatch.delenv("VAKT_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)

    code, out, _ = run_cli(capsys, "check-config")

    assert code == 0
    assert out.startswith("checks.yaml: OK\n")


def test_check_config_says_so_when_there_is_no_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("VAKT_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)

    code, _, err = run_cli(capsys, "check-config")

    assert code == 1
    assert "checks.yaml: no such file" in err


def test_heartbeat_urls_are_derived_from_the_heartbeat_key(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ACME_BACKUP_TOKEN", raising=False)
    monkeypatch.setenv("VAKT_HEARTBEAT_KEY", "key-one")
    code, first, _ = run_cli(capsys, "check-config", "-c", str(EXAMPLE), "--heartbeat-urls")
    _, again, _ = run_cli(capsys, "check-config", "-c", str(EXAMPLE), "--heartbeat-urls")
    monkeypatch.setenv("VAKT_HEARTBEAT_KEY", "key-two")
    _, other, _ = run_cli(capsys, "check-config", "-c", str(EXAMPLE), "--heartbeat-urls")

    assert code == 0
    assert re.fullmatch(
        r"acme/shop/backup\thttps://status\.agency\.example/heartbeat/[A-Za-z0-9_-]{16,}\n", first
    )
    assert again == first  # stable: a job's URL survives restarts
    assert other != first  # and it is secret: another key gives another URL


def test_heartbeat_urls_explain_a_missing_key(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ACME_BACKUP_TOKEN", raising=False)
    monkeypatch.delenv("VAKT_HEARTBEAT_KEY", raising=False)

    code, out, _ = run_cli(capsys, "check-config", "-c", str(EXAMPLE), "--heartbeat-urls")

    assert code == 0
    assert out == "acme/shop/backup\t(no URL: set settings.heartbeat_key or the check's token)\n"


@pytest.mark.parametrize("flag", ["--version", "--help"])
def test_version_and_help_exit_cleanly(flag: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main([flag])

    assert caught.value.code == 0
    out = capsys.readouterr().out
    expected: Any = f"vakt {__version__}" if flag == "--version" else "check-config"
    assert expected in out
