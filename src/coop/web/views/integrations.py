"""Settings → Integrations: OpenAI, Google Content Safety, Zentropi and HTTP signals.

Configuration editing (saved through coop.config's writer, like the file), so it lives in
web; the calls, the connection tests and the recorded status are coop.integrations'.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from coop.accounts.access import is_htmx, require_permission
from coop.accounts.permissions import Permission
from coop.catalog.credentials import describe_credential
from coop.catalog.org_settings import org_settings
from coop.integrations import partial_items
from coop.integrations.config import HTTP_SIGNALS, LABELS, PROVIDERS, integrations_config
from coop.integrations.models import IntegrationStatus
from coop.integrations.providers import TestResult, test_connection
from coop.integrations.status import statuses
from coop.web.integration_forms import HttpSignalForm, ProviderForm, save_block, stored_block

MANAGE = Permission.MANAGE_ORG
POST = ("POST",)
PAGE = "web/settings/integrations.html"
TEST_RESULT = "web/settings/_integration_test.html"
DESCRIPTIONS = {
    "openai": "Moderation scores (0 to 1) for texts and images, one call per value for every "
    "OPEN_AI_… category. Images are sent as URLs: OpenAI fetches them.",
    "googleContentSafety": "Review priority (VERY_LOW … VERY_HIGH) of images, which Coop "
    "downloads and sends. Routing rules only: never in rules with actions.",
    "zentropi": "Scores (0 to 1) of your Zentropi labelers for texts; a rule names the "
    "labeler version as the ZENTROPI_LABELER subcategory.",
}


@dataclass
class Card:
    """One provider as the page shows it."""

    key: str
    label: str
    description: str
    configured: bool
    credential: str
    status: IntegrationStatus | None
    form: ProviderForm
    test: TestResult | None = None


def _cards(
    block: dict[str, Any],
    rows: dict[str, IntegrationStatus],
    bound: ProviderForm | None,
    tests: dict[str, TestResult],
) -> list[Card]:
    cards = []
    for key in PROVIDERS:
        given = block.get(key) or {}
        form = bound if bound is not None and bound.provider == key else ProviderForm(key, block)
        cards.append(
            Card(
                key=key,
                label=LABELS[key],
                description=DESCRIPTIONS[key],
                configured=bool(given),
                credential=describe_credential(given.get("apiKey")),
                status=rows.get(key),
                form=form,
                test=tests.get(key),
            )
        )
    return cards


def _page(
    request: HttpRequest,
    *,
    bound: ProviderForm | None = None,
    tests: dict[str, TestResult] | None = None,
    errors: list[str] | None = None,
    status: int = 200,
) -> HttpResponse:
    block = stored_block()
    rows = statuses()
    signals = [
        {**signal, "status": rows.get(f"{HTTP_SIGNALS}:{signal['id']}")}
        for signal in block.get("httpSignals") or []
    ]
    context = {
        "cards": _cards(block, rows, bound, tests or {}),
        "signals": signals,
        "tests": tests or {},
        "errors": errors or [],
        "partial_items": org_settings()["partialItems"]["endpoint"],
        "partial_items_status": rows.get(partial_items.KEY),
    }
    return render(request, PAGE, context, status=status)


@require_permission(MANAGE)
def integrations_page(request: HttpRequest) -> HttpResponse:
    return _page(request)


def _provider(key: str) -> str:
    if key not in PROVIDERS:
        raise Http404("No such integration")
    return key


@require_permission(MANAGE, methods=POST)
def save_provider(request: HttpRequest, provider: str) -> HttpResponse:
    key = _provider(provider)
    form = ProviderForm(key, stored_block(), request.POST)
    if form.is_valid():
        result = save_block(form.new_block(), request.user)
        if result.ok:
            messages.success(request, f"{LABELS[key]} is saved.")
            return redirect(reverse("settings-integrations") + f"#{key}")
        form.add_save_errors(result.errors)
    return _page(request, bound=form, status=400)


@require_permission(MANAGE, methods=POST)
def remove_provider(request: HttpRequest, provider: str) -> HttpResponse:
    key = _provider(provider)
    result = save_block({**stored_block(), key: None}, request.user)
    if not result.ok:
        return _page(request, errors=[str(e) for e in result.errors], status=400)
    messages.success(request, f"{LABELS[key]} is removed: its signals are disabled.")
    return redirect("settings-integrations")


def _tested(request: HttpRequest, key: str, result: TestResult) -> HttpResponse:
    if is_htmx(request):
        # The result, and the status badge it changed (an out-of-band swap).
        context = {"test": result, "key": key, "oob": True, "status": statuses().get(key)}
        return render(request, TEST_RESULT, context)
    return _page(request, tests={key: result})


@require_permission(MANAGE, methods=POST)
def test_provider(request: HttpRequest, provider: str) -> HttpResponse:
    key = _provider(provider)
    result = test_connection(integrations_config(), key) or TestResult(
        False, f"{LABELS[key]} is not configured: save an API key first.", 0
    )
    return _tested(request, key, result)


def _signal_ids() -> list[str]:
    return [s["id"] for s in stored_block().get("httpSignals") or []]


@require_permission(MANAGE, methods=("GET", "HEAD", "POST"))
def http_signal_form(request: HttpRequest, signal_id: str | None = None) -> HttpResponse:
    """Add an HTTP signal (no `signal_id`) or edit one."""
    if signal_id is not None and signal_id not in _signal_ids():
        raise Http404("No such HTTP signal")
    block = stored_block()
    form = HttpSignalForm(block, signal_id, request.POST or None)
    if request.method == "POST" and form.is_valid():
        result = save_block(form.new_block(), request.user)
        if result.ok:
            done = "saved" if signal_id else "added"
            messages.success(request, f"HTTP signal “{form.cleaned_data['name']}” is {done}.")
            return redirect(reverse("settings-integrations") + "#http-signals")
        form.add_save_errors(result.errors)
    context = {"form": form, "signal_id": signal_id}
    status = 400 if form.errors else 200
    return render(request, "web/settings/integrations_http_signal.html", context, status=status)


@require_permission(MANAGE, methods=POST)
def http_signal_delete(request: HttpRequest, signal_id: str) -> HttpResponse:
    block = stored_block()
    signals = block.get("httpSignals") or []
    if signal_id not in [s["id"] for s in signals]:
        raise Http404("No such HTTP signal")
    remaining = [s for s in signals if s["id"] != signal_id]
    result = save_block({**block, "httpSignals": remaining}, request.user)
    if not result.ok:
        return _page(request, errors=[str(e) for e in result.errors], status=400)
    messages.success(request, f"HTTP signal “{signal_id}” is deleted.")
    return redirect(reverse("settings-integrations") + "#http-signals")


@require_permission(MANAGE, methods=POST)
def http_signal_test(request: HttpRequest, signal_id: str) -> HttpResponse:
    key = f"{HTTP_SIGNALS}:{signal_id}"
    result = test_connection(integrations_config(), key)
    if result is None:
        raise Http404("No such HTTP signal")
    return _tested(request, key, result)
