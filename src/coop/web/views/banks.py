"""Banks: the list of every bank; HASH bank pages (settings, import, image upload, HMA); TEXT,
REGEX and LOCATION bank pages (entries searched and paged, added one at a time, pasted or
imported, removed, downloaded).

Managing banks needs MUTATE_NON_LIVE_RULES (accounts.md's reference: the Matching Banks menu).
Every change is saved by coop.config's writer (coop.config.banks), so the console and the
configuration file agree.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode

from coop.accounts.access import require_permission
from coop.accounts.permissions import Permission
from coop.catalog.models import Bank, BankKind
from coop.config import banks as bank_service
from coop.config.services import delete_object
from coop.hma import state as hma_state
from coop.hma import tasks as hma_tasks
from coop.hma.client import HmaError, client, configured
from coop.hma.models import HmaBank
from coop.hma.sync import refresh_exchange_status
from coop.signals.hashing import ImageError
from coop.web.bank_forms import (
    EXCHANGE_LABELS,
    BankForm,
    EntriesFileForm,
    EntriesForm,
    EntryForm,
    ExchangeApiForm,
    ExchangeForm,
    HashFileForm,
    ImageForm,
    LocationForm,
    RemoveForm,
    SearchForm,
)
from coop.web.uploads import memory_upload, too_large

MANAGE = Permission.MUTATE_NON_LIVE_RULES
READ_WRITE = ("GET", "HEAD", "POST")
# The largest file the console takes (about 250,000 hashes); `coop banks import` has none.
MAX_IMPORT_BYTES = 16 * 1024 * 1024
RECENT_HASHES = 20
SHOWN_LINE_ERRORS = 100
# /banks/new/<kind> for the kinds edited entry by entry (HASH banks: /banks/new).
NEW_KINDS = {kind.lower(): kind for kind in bank_service.ENTRY_KEYS}
KIND_LABELS = {
    BankKind.TEXT: "Text bank",
    BankKind.REGEX: "Regex bank",
    BankKind.LOCATION: "Location bank",
    BankKind.HASH: "Hash bank",
}


def _hash_bank(bank_id: str) -> Bank:
    bank = get_object_or_404(Bank, pk=bank_id)
    if bank.kind != BankKind.HASH:
        raise Http404("Only HASH banks are edited here.")
    return bank


def _entries_bank(bank_id: str) -> Bank:
    bank = get_object_or_404(Bank, pk=bank_id)
    if bank.kind not in bank_service.ENTRY_KEYS:
        raise Http404("HASH banks hold hashes, not entries.")
    return bank


@require_permission(MANAGE)
def bank_list(request: HttpRequest) -> HttpResponse:
    banks = list(Bank.objects.order_by("kind", "name"))
    counts = _entry_counts()
    states = {s.bank_id: s for s in HmaBank.objects.filter(bank__isnull=False)}
    rows = [
        {
            "bank": bank,
            "entries": counts.get(bank.pk, 0),
            "distance": bank.distance_threshold,
            "hma": hma_state.badge(states.get(bank.pk), bank)
            if configured() and bank.kind == BankKind.HASH
            else None,
        }
        for bank in banks
    ]
    context = {
        "rows": rows,
        "hma_configured": configured(),
        "hma_url": settings.HMA_SERVICE_URL,
        "removals": hma_state.removals() if configured() else [],
    }
    return render(request, "web/banks/list.html", context)


def _entry_counts() -> dict[str, int]:
    return dict(Bank.objects.annotate(n=Count("entries")).values_list("pk", "n"))


@require_permission(MANAGE, methods=READ_WRITE)
def bank_create(request: HttpRequest, kind: str = "hash") -> HttpResponse:
    """The New bank page: /banks/new for a hash bank, /banks/new/<kind> for the others."""
    bank_kind = BankKind.HASH if kind == "hash" else NEW_KINDS.get(kind)
    if bank_kind is None:
        raise Http404("No such kind of bank.")
    form = BankForm(request.POST or None, kind=bank_kind)
    if request.method == "POST" and form.is_valid():
        result = bank_service.create_bank(form.file_data(), user=request.user)
        if result.ok:
            label = KIND_LABELS[bank_kind]
            messages.success(request, f"{label} “{form.cleaned_data['name']}” is created.")
            return redirect("bank", bank_id=form.cleaned_data["id"])
        form.add_save_errors(result)
    status = 400 if form.errors else 200
    context = {"form": form, "kind_label": KIND_LABELS[bank_kind]}
    return render(request, "web/banks/form.html", context, status=status)


@require_permission(MANAGE, methods=READ_WRITE)
def bank_detail(request: HttpRequest, bank_id: str) -> HttpResponse:
    """The bank page; its settings form posts here (a rename keeps every entry)."""
    bank = get_object_or_404(Bank, pk=bank_id)
    form = BankForm(request.POST or None, bank=bank)
    if request.method == "POST" and form.is_valid():
        result = bank_service.update_bank(bank.pk, form.file_data(), user=request.user)
        if result.ok:
            messages.success(request, "Bank settings are saved.")
            return redirect("bank", bank_id=bank.pk)
        form.add_save_errors(result)
    status = 400 if form.errors else 200
    if bank.kind != BankKind.HASH:
        return _entries_page(request, bank, form=form, status=status)
    return _page(request, bank, form=form, status=status)


def _page(
    request: HttpRequest,
    bank: Bank,
    *,
    form: BankForm | None = None,
    import_form: HashFileForm | None = None,
    image_form: ImageForm | None = None,
    problems: dict[str, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    entries = bank.entries.order_by("-position").values_list("value", flat=True)
    context = {
        "bank": bank,
        "form": form or BankForm(bank=bank),
        "import_form": import_form or HashFileForm(),
        "image_form": image_form or ImageForm(),
        "problems": problems or {},
        "hash_count": bank.entries.count(),
        "recent": list(entries[:RECENT_HASHES]),
        "hma": hma_state.sync_view(bank),
        "exchange_labels": EXCHANGE_LABELS,
        "max_import_mb": MAX_IMPORT_BYTES // 2**20,
        "max_image_mb": settings.COOP_MEDIA_MAX_BYTES // 2**20,
    }
    return render(request, "web/banks/detail.html", context, status=status)


@require_permission(MANAGE, methods=("POST",))
@memory_upload(MAX_IMPORT_BYTES)
def bank_import(request: HttpRequest, bank_id: str) -> HttpResponse:
    bank = get_object_or_404(Bank, pk=bank_id)
    if bank.kind != BankKind.HASH:
        return _import_entries(request, bank)
    form = HashFileForm(request.POST, request.FILES)
    if too_large(request):
        limit = MAX_IMPORT_BYTES // 2**20
        problem = f"The file is larger than {limit} MB; import it with coop banks import."
        return _page(request, bank, problems={"import": problem}, status=413)
    if form.is_valid():
        try:
            text = form.cleaned_data["file"].read().decode("utf-8-sig")
        except UnicodeDecodeError:
            form.add_error("file", "The file is not UTF-8 text.")
        else:
            result, added = bank_service.import_file(bank.pk, text, user=request.user)
            if result.ok:
                messages.success(request, f"{added} new hash{'es' if added != 1 else ''} added.")
                return redirect("bank", bank_id=bank.pk)
            for error in result.errors:
                form.add_error("file", error.message)
    return _page(request, bank, import_form=form, status=400)


@require_permission(MANAGE, methods=("POST",))
@memory_upload(settings.COOP_MEDIA_MAX_BYTES)
def bank_image(request: HttpRequest, bank_id: str) -> HttpResponse:
    """Hash an uploaded image into the bank. The image lives in this request's memory only."""
    bank = _hash_bank(bank_id)
    form = ImageForm(request.POST, request.FILES)
    if too_large(request):
        limit = settings.COOP_MEDIA_MAX_BYTES // 2**20
        problem = f"The image is larger than {limit} MB; nothing was added."
        return _page(request, bank, problems={"image": problem}, status=413)
    if form.is_valid():
        try:
            result, computed = bank_service.add_image(
                bank.pk, form.cleaned_data["image"].read(), user=request.user
            )
        except ImageError as exc:
            form.add_error("image", f"Not added: {exc}.")
        else:
            if result.ok:
                done = "added" if result.change else "already in the bank"
                messages.success(
                    request,
                    f"Hash {computed.hash} (PDQ quality {computed.quality}) {done}. "
                    "The image was not kept.",
                )
                return redirect("bank", bank_id=bank.pk)
            for error in result.errors:
                form.add_error("image", f"Not added: {error.message}.")
    return _page(request, bank, image_form=form, status=400)


@require_permission(MANAGE, methods=READ_WRITE)
def bank_delete(request: HttpRequest, bank_id: str) -> HttpResponse:
    bank = get_object_or_404(Bank, pk=bank_id)
    errors: list[str] = []
    if request.method == "POST":
        result = delete_object("banks", bank.pk, user=request.user)
        if result.ok:
            messages.success(request, f"Bank “{bank.name}” is deleted.")
            return redirect("banks")
        errors = [str(e) for e in result.errors]
    context = {
        "bank": bank,
        "entry_count": bank.entries.count(),
        "errors": errors,
        "hma": hma_state.sync_view(bank) if bank.kind == BankKind.HASH else None,
    }
    return render(request, "web/banks/delete.html", context, status=400 if errors else 200)


# TEXT, REGEX and LOCATION banks.


def _entries_page(
    request: HttpRequest,
    bank: Bank,
    *,
    form: BankForm | None = None,
    paste_form: EntriesForm | None = None,
    entry_form: EntryForm | LocationForm | None = None,
    file_form: EntriesFileForm | None = None,
    result: bank_service.EntriesResult | None = None,
    failed: str = "",
    problems: dict[str, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    """The page of a bank edited entry by entry; `failed` names the form whose `result` had
    bad lines ("paste" or "import"), listed under it."""
    search = SearchForm(request.GET)
    cursor = search.cleaned_data if search.is_valid() else {}
    query = cursor.get("q") or ""
    page = bank_service.entry_page(
        bank,
        search=query,
        after=cursor.get("after"),
        before=cursor.get("before"),
        last=bool(cursor.get("last")),
    )
    total = bank.entries.count() if query else page.matches
    location = bank.kind == BankKind.LOCATION
    line_errors = result.line_errors if result else []
    context = {
        "bank": bank,
        "kind_label": KIND_LABELS[bank.kind],
        "form": form or BankForm(bank=bank),
        "paste_form": paste_form or EntriesForm(kind=bank.kind),
        "entry_form": entry_form or (LocationForm() if location else EntryForm()),
        "file_form": file_form or EntriesFileForm(kind=bank.kind),
        "search": search,
        "query": query,
        "page": page,
        "total": total,
        "pages": _page_links(bank, query, page),
        "failed": failed,
        "line_errors": line_errors[:SHOWN_LINE_ERRORS],
        "more_line_errors": max(0, len(line_errors) - SHOWN_LINE_ERRORS),
        "bad_lines": len(line_errors),
        "save_errors": [str(e) for e in result.errors] if result else [],
        "problems": problems or {},
        "max_import_mb": MAX_IMPORT_BYTES // 2**20,
    }
    return render(request, "web/banks/entries.html", context, status=status)


def _page_links(bank: Bank, query: str, page: bank_service.EntryPage) -> dict[str, str]:
    """First / Previous / Next / Last, each keeping the search."""
    base = reverse("bank", args=[bank.pk])
    search = {"q": query} if query else {}
    links = {}
    if page.previous is not None:
        links["first"] = base + (f"?{urlencode(search)}" if search else "")
        links["previous"] = f"{base}?{urlencode(search | {'before': page.previous})}"
    if page.next is not None:
        links["next"] = f"{base}?{urlencode(search | {'after': page.next})}"
        links["last"] = f"{base}?{urlencode(search | {'last': 1})}"
    return links


@require_permission(MANAGE, methods=("POST",))
def bank_entries_add(request: HttpRequest, bank_id: str) -> HttpResponse:
    """Add entries: many pasted one per line, or one typed in the New entry field."""
    bank = _entries_bank(bank_id)
    if "entry" not in request.POST:
        return _add_pasted(request, bank)
    if bank.kind == BankKind.LOCATION:
        raise Http404("Locations are added with the New location form.")
    form = EntryForm(request.POST)
    if form.is_valid():
        result = bank_service.add_entries(bank.pk, form.cleaned_data["entry"], user=request.user)
        if result.ok:
            messages.success(request, result.summary())
            return redirect("bank", bank_id=bank.pk)
        for problem in [*result.line_errors, *result.errors]:
            form.add_error("entry", problem.message)
    return _entries_page(request, bank, entry_form=form, status=400)


def _add_pasted(request: HttpRequest, bank: Bank) -> HttpResponse:
    form = EntriesForm(request.POST, kind=bank.kind)
    result = None
    if form.is_valid():
        result = bank_service.add_entries(bank.pk, form.cleaned_data["entries"], user=request.user)
        if result.ok:
            messages.success(request, result.summary())
            return redirect("bank", bank_id=bank.pk)
    return _entries_page(request, bank, paste_form=form, result=result, failed="paste", status=400)


@require_permission(MANAGE, methods=("POST",))
def bank_location_add(request: HttpRequest, bank_id: str) -> HttpResponse:
    bank = _entries_bank(bank_id)
    if bank.kind != BankKind.LOCATION:
        raise Http404("Only LOCATION banks hold locations.")
    form = LocationForm(request.POST)
    if form.is_valid():
        result = bank_service.add_location(bank.pk, form.location(), user=request.user)
        if result.ok:
            messages.success(request, result.summary())
            return redirect("bank", bank_id=bank.pk)
        form.add_save_errors(result.errors)
    return _entries_page(request, bank, entry_form=form, status=400)


def _import_entries(request: HttpRequest, bank: Bank) -> HttpResponse:
    form = EntriesFileForm(request.POST, request.FILES, kind=bank.kind)
    if too_large(request):
        limit = MAX_IMPORT_BYTES // 2**20
        problem = f"The file is larger than {limit} MB; nothing was imported."
        return _entries_page(request, bank, problems={"import": problem}, status=413)
    result = None
    if form.is_valid():
        try:
            text = form.cleaned_data["file"].read().decode("utf-8-sig")
        except UnicodeDecodeError:
            form.add_error("file", "The file is not UTF-8 text; nothing was imported.")
        else:
            result = bank_service.add_entries(bank.pk, text, user=request.user)
            if result.ok:
                messages.success(request, result.summary())
                return redirect("bank", bank_id=bank.pk)
    return _entries_page(request, bank, file_form=form, result=result, failed="import", status=400)


@require_permission(MANAGE, methods=("POST",))
def bank_entries_remove(request: HttpRequest, bank_id: str) -> HttpResponse:
    """The row's Remove button, or Remove selected for the ticked rows."""
    bank = _entries_bank(bank_id)
    form = RemoveForm(request.POST)
    url = reverse("bank", args=[bank.pk])
    if not form.is_valid():
        messages.error(request, "Nothing was removed: choose entries from the list.")
        return redirect(url)
    query = form.cleaned_data["q"]
    back = f"{url}?{urlencode({'q': query})}" if query else url
    positions = form.positions()
    if not positions:
        messages.error(request, "Nothing was removed: tick the entries to remove first.")
        return redirect(back)
    result, removed = bank_service.remove_entries(
        bank.pk, positions, version=form.cleaned_data["version"], user=request.user
    )
    if not result.ok:
        problem = "; ".join(e.message for e in result.errors)
        messages.error(request, f"{problem[:1].upper()}{problem[1:]}.")
    else:
        messages.success(request, f"{removed} entr{'y' if removed == 1 else 'ies'} removed.")
    return redirect(back)


@require_permission(MANAGE)
def bank_export(request: HttpRequest, bank_id: str) -> HttpResponse:
    """Download the entries, one per line: what a paste or an import reads back."""
    bank = _entries_bank(bank_id)
    try:
        lines = bank_service.entries_lines(bank)
    except ValueError as exc:
        messages.error(request, f"Not downloaded: {exc}.")
        return redirect("bank", bank_id=bank.pk)
    response = StreamingHttpResponse(lines, content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{bank.pk}.txt"'
    return response


@require_permission(MANAGE, methods=("POST",))
def bank_hma_sync(request: HttpRequest, bank_id: str) -> HttpResponse:
    """The "Retry sync" button, or "Re-create in HMA" for what HMA lost."""
    bank = _hash_bank(bank_id)
    if not configured():
        raise Http404("HMA is not configured.")
    hma_tasks.retry(bank)
    messages.success(request, "The bank will be synced with HMA in a moment.")
    return redirect("bank", bank_id=bank.pk)


@require_permission(MANAGE, methods=("POST",))
def hma_removal_retry(request: HttpRequest, state_id: int) -> HttpResponse:
    removal = get_object_or_404(HmaBank, pk=state_id, bank__isnull=True)
    hma_tasks.retry_removal(removal)
    messages.success(request, f"{removal.name} will be deleted in HMA in a moment.")
    return redirect("banks")


@require_permission(MANAGE, methods=("POST",))
def hma_test(request: HttpRequest) -> HttpResponse:
    """The "Test connection" button: ask HMA's /status."""
    if not configured():
        messages.error(request, "HMA is not configured: set HMA_SERVICE_URL.")
        return redirect("banks")
    try:
        answer = client().status()
    except HmaError as exc:
        messages.error(request, f"HMA did not answer as it should: {exc.message}")
    else:
        messages.success(request, f"HMA answered: {answer}")
    return redirect("banks")


@require_permission(MANAGE, methods=READ_WRITE)
def bank_exchange(request: HttpRequest, bank_id: str) -> HttpResponse:
    """Attach an HMA exchange to the bank, or change it: the API first, then its fields as
    HMA's schema for that API lists them."""
    bank = _hash_bank(bank_id)
    if not configured():
        raise Http404("HMA is not configured.")
    current = bank.exchange
    api = request.POST.get("api") or request.GET.get("api") or (current or {}).get("api")
    context: dict = {"bank": bank, "exchange_labels": EXCHANGE_LABELS}
    try:
        apis = client().exchange_apis()
        schema = client().exchange_api_schema(api) if api in apis else None
    except HmaError as exc:
        context["hma_error"] = exc.message
        return render(request, "web/banks/exchange.html", context, status=502)
    context["api_form"] = ExchangeApiForm(initial={"api": api}, apis=apis)
    if schema is None:
        return render(request, "web/banks/exchange.html", context)
    bound = request.POST if request.method == "POST" else None
    form = ExchangeForm(bound, api=api, schema=schema, current=current)
    if bound is not None and form.is_valid():
        result = bank_service.update_bank(bank.pk, {"exchange": form.exchange()}, user=request.user)
        if result.ok:
            messages.success(
                request, f"{EXCHANGE_LABELS.get(api, api)} is attached; HMA will fetch into it."
            )
            return redirect("bank", bank_id=bank.pk)
        form.add_save_errors(result)
    context |= {"form": form, "api": api}
    return render(request, "web/banks/exchange.html", context, status=400 if form.errors else 200)


@require_permission(MANAGE, methods=("POST",))
def bank_exchange_detach(request: HttpRequest, bank_id: str) -> HttpResponse:
    bank = _hash_bank(bank_id)
    result = bank_service.update_bank(bank.pk, {"exchange": None}, user=request.user)
    if result.ok:
        messages.success(request, "The exchange is detached; HMA deletes it and what it fetched.")
    else:
        messages.error(request, "; ".join(str(e) for e in result.errors))
    return redirect("bank", bank_id=bank.pk)


@require_permission(MANAGE, methods=("POST",))
def bank_exchange_refresh(request: HttpRequest, bank_id: str) -> HttpResponse:
    """Read the exchange's fetch status from HMA now (a read: nothing else changes)."""
    bank = _hash_bank(bank_id)
    found = HmaBank.objects.filter(bank=bank).first()
    if not configured() or found is None:
        raise Http404("The bank has no exchange in HMA.")
    refresh_exchange_status(client(), found)
    return redirect("bank", bank_id=bank.pk)
