"""Backtest and retroaction pages (rules.md): start a run, confirm a retroaction, follow a
run's progress (htmx polling) to its result, cancel it."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from coop.accounts.access import is_htmx, require_permission
from coop.accounts.permissions import Permission
from coop.rules.models import Rule, RuleRun, RuleRunSample, RunKind, RunStatus
from coop.rules.run_tasks import start_run
from coop.rules.runs import RunRefused, cancel_run, cap, window_count
from coop.web.backtest_form import RunForm
from coop.web.rule_builder import Names, annotated

PAST_RUNS = 20
PAGE = {RunKind.BACKTEST: "rule-backtest", RunKind.RETROACTION: "rule-retroaction"}
RUN_PAGE = {RunKind.BACKTEST: "backtest", RunKind.RETROACTION: "retroaction"}
CANCEL = {RunKind.BACKTEST: "backtest-cancel", RunKind.RETROACTION: "retroaction-cancel"}


@require_permission(Permission.RUN_BACKTEST, methods=("GET", "HEAD", "POST"))
def rule_backtest(request: HttpRequest, rule_id: str) -> HttpResponse:
    """The start form and past backtests. A POST from the rule form carries only the edited
    `definition`: it is checked and the form shown with it, for the window and size."""
    rule = get_object_or_404(Rule, pk=rule_id)
    if request.method != "POST":
        return _start_page(request, RunKind.BACKTEST, rule, RunForm(RunKind.BACKTEST, rule))
    if "start" not in request.POST:
        form = RunForm.with_definition(rule, request.POST.get("definition", ""))
        return _start_page(request, RunKind.BACKTEST, rule, form)
    form = RunForm(RunKind.BACKTEST, rule, data=request.POST)
    if not form.is_valid():
        return _start_page(request, RunKind.BACKTEST, rule, form, status=400)
    return _start(request, RunKind.BACKTEST, rule, form)


@require_permission(Permission.RUN_RETROACTION, methods=("GET", "HEAD", "POST"))
def rule_retroaction(request: HttpRequest, rule_id: str) -> HttpResponse:
    """The form, then a confirmation with the count of submissions, then the run."""
    rule = get_object_or_404(Rule, pk=rule_id)
    kind = RunKind.RETROACTION
    if request.method != "POST":
        return _start_page(request, kind, rule, RunForm(kind, rule))
    form = RunForm(kind, rule, data=request.POST)
    if not form.is_valid():
        return _start_page(request, kind, rule, form, status=400)
    if rule.status != "LIVE":
        form.add_error(None, "Retroaction runs LIVE rules only.")
        return _start_page(request, kind, rule, form, status=400)
    # The confirmation names a rule version: a rule changed since is confirmed again.
    changed = request.POST.get("version") not in (None, str(rule.version))
    if request.POST.get("confirm") != "yes" or changed:
        data = form.cleaned_data
        found = window_count(rule.item_types, data["start"], data["end"])
        context = {
            "rule": rule,
            "form": form,
            "found": found,
            "will_evaluate": min(found, data["size"]),
            "cap": cap(kind),
            "changed": changed,
        }
        return render(request, "backtests/confirm.html", context)
    return _start(request, kind, rule, form)


def _start(request: HttpRequest, kind: str, rule: Rule, form: RunForm) -> HttpResponse:
    data = form.cleaned_data
    try:
        run = start_run(
            kind,
            rule,
            start=data["start"],
            end=data["end"],
            size=data["size"],
            user=request.user,
            definition=form.edited,
        )
    except RunRefused as refused:
        form.add_error(refused.field or None, refused.message)
        return _start_page(request, kind, rule, form, status=400)
    return redirect(RUN_PAGE[kind], run_id=run.pk)


def backtest_page_for(request: HttpRequest, rule: Rule, definition: str) -> HttpResponse:
    """The backtest form for `rule` as edited (a JSON rule definition), checked."""
    return _start_page(request, RunKind.BACKTEST, rule, RunForm.with_definition(rule, definition))


def _start_page(
    request: HttpRequest, kind: str, rule: Rule, form: RunForm, status: int = 200
) -> HttpResponse:
    runs = RuleRun.objects.filter(rule_id=rule.pk, kind=kind).order_by("-created_at")
    context = {
        "rule": rule,
        "kind": kind,
        "form": form,
        "runs": runs[:PAST_RUNS],
        "run_page": RUN_PAGE[kind],
        "action": reverse(PAGE[kind], args=[rule.pk]),
        "cap": cap(kind),
        "live": rule.status == "LIVE",
    }
    return render(request, "backtests/start.html", context, status=status)


def _samples(run: RuleRun) -> list[tuple[RuleRunSample, dict]]:
    """The passing samples, each with its condition tree as the rules pages show one."""
    names, condition = Names(), run.definition.get("condition")
    return [(sample, annotated(sample.result, condition, names)) for sample in run.samples.all()]


def _run_page(request: HttpRequest, kind: str, run_id: int) -> HttpResponse:
    run = get_object_or_404(RuleRun, pk=run_id, kind=kind)
    context = {
        "run": run,
        "rule": Rule.objects.filter(pk=run.rule_id).first(),
        "samples": _samples(run) if run.finished or run.passed else [],
        "poll": reverse(RUN_PAGE[kind], args=[run.pk]),
        "cancel": reverse(CANCEL[kind], args=[run.pk]),
        "start_page": PAGE[kind],
        "retroaction": kind == RunKind.RETROACTION,
        # Its executions are in Recent Decisions, for those who may read them.
        "decisions": f"{reverse('decisions')}?source=RETROACTION"
        if kind == RunKind.RETROACTION and request.user.has_permission(Permission.VIEW_MRT_DATA)
        else "",
    }
    if is_htmx(request):
        # The poll's answer also replaces the controls (no Cancel once finished).
        return render(request, "backtests/_progress.html", {**context, "fragment": True})
    return render(request, "backtests/run.html", context)


def _cancel(request: HttpRequest, kind: str, run_id: int) -> HttpResponse:
    run = get_object_or_404(RuleRun, pk=run_id, kind=kind)
    if run.status in (RunStatus.PENDING, RunStatus.RUNNING):
        cancel_run(run)
        messages.info(request, "Canceling: the run stops after the step in progress.")
    return redirect(RUN_PAGE[kind], run_id=run.pk)


@require_permission(Permission.RUN_BACKTEST)
def backtest(request: HttpRequest, run_id: int) -> HttpResponse:
    return _run_page(request, RunKind.BACKTEST, run_id)


@require_permission(Permission.RUN_BACKTEST, methods=("POST",))
def backtest_cancel(request: HttpRequest, run_id: int) -> HttpResponse:
    return _cancel(request, RunKind.BACKTEST, run_id)


@require_permission(Permission.RUN_RETROACTION)
def retroaction(request: HttpRequest, run_id: int) -> HttpResponse:
    return _run_page(request, RunKind.RETROACTION, run_id)


@require_permission(Permission.RUN_RETROACTION, methods=("POST",))
def retroaction_cancel(request: HttpRequest, run_id: int) -> HttpResponse:
    return _cancel(request, RunKind.RETROACTION, run_id)
