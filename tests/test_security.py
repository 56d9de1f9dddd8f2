"""Login throttling (django-axes), the Content-Security-Policy, HSTS, plain-HTTP bots."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth.models import User

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_DIRS = [ROOT / "perf" / "templates", ROOT / "lntsite" / "templates"]


def login(client, password: str, address: str = "10.0.0.1"):
    return client.post(
        "/accounts/login/",
        {"username": "alice", "password": password},
        REMOTE_ADDR=address,
    )


@pytest.mark.django_db
def test_the_right_password_is_refused_after_five_wrong_ones(client):
    User.objects.create_user("alice", password="right-horse-battery")
    for _ in range(4):
        assert login(client, "wrong").status_code == 200  # the form again, with an error
    assert login(client, "wrong").status_code == 429  # the fifth locks the pair out
    locked = login(client, "right-horse-battery")
    assert locked.status_code == 429
    assert b"Too many failed logins" in locked.content
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_a_lockout_is_per_address_so_others_can_still_log_in(client):
    User.objects.create_user("alice", password="right-horse-battery")
    for _ in range(5):
        login(client, "wrong", address="10.0.0.1")
    assert login(client, "right-horse-battery", address="10.0.0.2").status_code == 302


@pytest.mark.django_db
def test_behind_the_proxy_the_address_is_nginx_x_real_ip(client, settings):
    settings.PERF_BEHIND_PROXY = True
    User.objects.create_user("alice", password="right-horse-battery")
    for _ in range(5):
        client.post(
            "/accounts/login/",
            {"username": "alice", "password": "wrong"},
            REMOTE_ADDR="127.0.0.1",
            HTTP_X_REAL_IP="192.0.2.7",
        )
    # Another client behind the same proxy is not locked out by 192.0.2.7's failures.
    other = client.post(
        "/accounts/login/",
        {"username": "alice", "password": "right-horse-battery"},
        REMOTE_ADDR="127.0.0.1",
        HTTP_X_REAL_IP="192.0.2.8",
    )
    assert other.status_code == 302


@pytest.mark.django_db
def test_pages_carry_a_strict_content_security_policy(client):
    policy = client.get("/accounts/login/")["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy


def test_no_template_has_an_inline_script_style_or_event_handler():
    offenders = []
    for directory in TEMPLATE_DIRS:
        for path in directory.rglob("*.html"):
            if path.name.endswith("_email.html"):
                # An e-mail body, never served under the CSP; mail clients need inline style.
                continue
            text = path.read_text()
            # <script src=...> is fine; json_script renders a data block, not code.
            inline = re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", text)
            if inline or re.search(r"<style|\sstyle=|\son[a-z]+=", text):
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def production_settings(**env: str) -> str:
    """Settings values printed by a fresh interpreter under the production env."""
    code = (
        "import lntsite.settings as s; "
        "print(s.SECURE_HSTS_SECONDS, s.SECURE_SSL_REDIRECT, "
        "getattr(s, 'SECURE_REDIRECT_EXEMPT', []))"
    )
    result = subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={
            **os.environ,
            "DEBUG": "0",
            "SECRET_KEY": "k" * 60,
            "PERF_VAR_DIR": str(ROOT / "var" / "test"),
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout.strip()


def test_production_sends_hsts_for_a_year_and_redirects_plain_http():
    assert production_settings() == "31536000 True []"


def test_plain_http_submissions_are_exempt_from_the_redirect_when_the_operator_says_so():
    printed = production_settings(PERF_PLAIN_HTTP_SUBMISSIONS="1")
    exempt = eval(printed.split(" ", 2)[2])  # noqa: S307 - a list we just printed
    for path in ["submitRun", "db_default/v4/nts/submitRun", "api/db_default/v4/nts/runs"]:
        assert any(re.search(p, path) for p in exempt), path
    assert not any(re.search(p, "db_default/v4/nts/machine/1") for p in exempt)
