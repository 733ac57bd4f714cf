"""Investigation (review.md): look up an item by id (optionally type) or an IP address, and
"Take action on this item". VIEW_INVESTIGATION to look (accounts.md); taking an action is
MANUALLY_ACTION_CONTENT, as bulk actions (whoever may act on any pasted id may act on this one;
the refused page they get back shows the item as investigation does)."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from coop.accounts.access import require_permission
from coop.accounts.permissions import Permission
from coop.catalog.models import ItemType, Policy
from coop.core.items import ItemRef
from coop.integrations import partial_items
from coop.review import investigation as service
from coop.review.errors import DecisionRefusedError
from coop.review.forms import DecisionForm
from coop.review.views import present

MAX_ID_LENGTH = 255


def _executions(executions, names: present.Names) -> list[dict]:
    return [
        {
            "execution": e,
            "action": names.action(e.action_id),
            "policies": [names.policy(p) for p in e.policy_ids],
        }
        for e in executions
    ]


def _listed(sub, item_types) -> dict:
    """A submission in a list: its one-line text and its investigation link."""
    return {
        "sub": sub,
        "summary": present.summary(sub, item_types),
        "url": present.investigation_url(sub.item_id, sub.item_type_id),
    }


def _item_url(ref: ItemRef) -> str:
    return f"{reverse('investigation')}?{urlencode({'id': ref.item_id, 'type': ref.item_type_id})}"


def _form(user, item_type_id: str, posted=None) -> DecisionForm:
    return DecisionForm(
        posted,
        actions=service.offered_actions(user, item_type_id),
        policies=list(Policy.objects.order_by("name")),
    )


@require_permission(Permission.VIEW_INVESTIGATION)
def investigation(request: HttpRequest) -> HttpResponse:
    item_id = request.GET.get("id", "").strip()
    type_id = request.GET.get("type", "").strip()
    ip = request.GET.get("ip", "").strip()
    context: dict = {
        "item_id": item_id,
        "type_id": type_id,
        "ip": ip,
        "item_types": list(ItemType.objects.order_by("name").values_list("id", "name")),
        "can_act": request.user.has_permission(Permission.MANUALLY_ACTION_CONTENT),
    }
    if ip:
        return _ip_page(request, ip, context)
    if not item_id:
        return render(request, "investigation/investigation.html", context)
    if len(item_id) > MAX_ID_LENGTH:
        context["error"] = f"An item id has at most {MAX_ID_LENGTH} characters."
        return render(request, "investigation/investigation.html", context, status=400)
    if not type_id:
        types = service.types_storing(item_id)
        if len(types) == 1:
            return redirect(_item_url(ItemRef(item_id, types[0])))
        context["candidates"] = [
            {"type_id": t, "url": present.investigation_url(item_id, t)} for t in types
        ]
        if not types:
            context["error"] = (
                f"Coop stores no item with the id “{item_id}”. Choose its item type to ask "
                "the platform (partial items)."
                if partial_items.configured()
                else f"Coop stores no item with the id “{item_id}”."
            )
        return render(request, "investigation/investigation.html", context)
    return _item_page(request, ItemRef(item_id, type_id), context)


def _ip_page(request: HttpRequest, ip: str, context: dict) -> HttpResponse:
    try:
        address = str(ipaddress.ip_address(ip))
    except ValueError:
        context["error"] = f"“{ip[:100]}” is not an IPv4 or IPv6 address."
        return render(request, "investigation/investigation.html", context, status=400)
    page, item_types = service.by_ip(address, request.GET.get("page"))
    context.update(
        {
            "ip_page": page,
            "ip_rows": [_listed(s, item_types) for s in page.object_list],
            "ip_query": urlencode({"ip": address}),
        }
    )
    return render(request, "investigation/investigation.html", context)


def _item_page(
    request: HttpRequest, ref: ItemRef, context: dict, *, form=None, status: int = 200
) -> HttpResponse:
    found = service.investigate(
        request.user,
        ref,
        history_page=request.GET.get("history"),
        author_page=request.GET.get("author_items"),
    )
    names = present.Names.load()
    item_types = found.item_types
    author = found.author
    context.update(
        {
            "inv": found,
            "type_name": getattr(item_types.get(ref.item_type_id), "name", "") or ref.item_type_id,
            "item_rows": present.rows(found.item.fields, found.item.data) if found.item else [],
            "history_rows": [
                {"sub": s, "rows": present.rows(found.item.fields if found.item else [], s.data)}
                for s in found.history.object_list
            ],
            "item_actions": _executions(found.actions, names),
            "author_actions": _executions(author.actions, names) if author else [],
            "author_rows": (
                present.rows(author.item.fields, author.item.data)
                if author and author.item and author.ref != ref
                else []
            ),
            "author_items": [
                _listed(s, item_types) for s in (author.items.object_list if author else [])
            ],
            "author_url": present.investigation_url(author.ref.item_id, author.ref.item_type_id)
            if author
            else None,
            "strikes": [
                {"strike": s, "policy": names.policy(s.policy_id), "expired": service.is_expired(s)}
                for s in (author.strikes if author else [])
            ],
            "thread": [
                {
                    "entry": e,
                    "rows": present.submission_rows(e.submission, item_types),
                    "url": _item_url(ItemRef(e.submission.item_id, e.submission.item_type_id)),
                }
                for e in found.thread
            ],
            "same_ip": [_listed(s, item_types) for s in found.same_ip],
            "ip_url": f"{reverse('investigation')}?{urlencode({'ip': found.ip_address})}"
            if found.ip_address
            else None,
            "action_rows": (form or _form(request.user, ref.item_type_id)).rows(shortcuts=False),
            "base_query": urlencode({"id": ref.item_id, "type": ref.item_type_id}),
        }
    )
    return render(request, "investigation/item.html", context, status=status)


@require_permission(Permission.MANUALLY_ACTION_CONTENT, methods=("POST",))
def take_action(request: HttpRequest) -> HttpResponse:
    """Take action on this item: the chosen actions with their policies and parameters,
    executed and logged in Recent Decisions; a refusal re-shows the page with the form filled."""
    ref = ItemRef(request.POST.get("id", "").strip(), request.POST.get("type", "").strip())
    context = {
        "item_id": ref.item_id,
        "type_id": ref.item_type_id,
        "ip": "",
        "can_act": True,
        "item_types": list(ItemType.objects.order_by("name").values_list("id", "name")),
    }
    if not ref.item_id or not ref.item_type_id or len(ref.item_id) > MAX_ID_LENGTH:
        context["error"] = "Which item? Give its id and item type."
        return render(request, "investigation/investigation.html", context, status=400)
    if not ItemType.objects.filter(pk=ref.item_type_id).exists():
        context["error"] = f"No item type has the id “{ref.item_type_id}”."
        return render(request, "investigation/investigation.html", context, status=400)
    form = _form(request.user, ref.item_type_id, request.POST)
    try:
        choice = form.decision()
        executions = service.take_action(
            request.user, ref, choice.actions, choice.reason, choice.note
        )
    except (DecisionRefusedError, service.ActionRefusedError) as exc:
        context["action_error"] = getattr(exc, "message", None) or str(exc)
        context["posted"] = request.POST
        return _item_page(request, ref, context, form=form, status=400)
    names = present.Names.load()
    done = ", ".join(names.action(e.action_id) for e in executions)
    messages.success(
        request, f"Done: {done} on {ref.item_type_id}/{ref.item_id}. Logged in Recent Decisions."
    )
    return redirect(_item_url(ref))
