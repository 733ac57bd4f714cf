"""Console: the webhook outbox (Deliveries), with every attempt and re-send buttons."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from coop.accounts.access import require_permission
from coop.accounts.permissions import Permission
from coop.enforcement import services
from coop.enforcement.models import Delivery, DeliveryAttempt, DeliveryEvent, DeliveryStatus

PAGE_SIZE = 50


@require_permission(Permission.MANAGE_ORG)
def deliveries(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    event = request.GET.get("event", "")
    rows = Delivery.objects.select_related("execution").prefetch_related(
        Prefetch("attempt_set", queryset=DeliveryAttempt.objects.order_by("-number"))
    )
    if status in DeliveryStatus.values:
        rows = rows.filter(status=status)
    if event in DeliveryEvent.values:
        rows = rows.filter(event=event)
    page = Paginator(rows.order_by("-created_at"), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "status": status,
        "event": event,
        "statuses": DeliveryStatus.choices,
        "events": DeliveryEvent.choices,
        "dead_count": Delivery.objects.filter(status=DeliveryStatus.DEAD).count(),
    }
    return render(request, "enforcement/deliveries.html", context)


@require_permission(Permission.MANAGE_ORG, methods=("POST",))
def resend_delivery(request: HttpRequest, delivery_id: uuid.UUID) -> HttpResponse:
    if not Delivery.objects.filter(pk=delivery_id).exists():
        raise Http404("No such delivery")
    if services.resend([delivery_id]):
        messages.success(request, f"Delivery {delivery_id} will be sent again.")
    else:
        messages.error(request, f"Delivery {delivery_id} was already delivered.")
    return redirect("deliveries")


@require_permission(Permission.MANAGE_ORG, methods=("POST",))
def resend_dead(request: HttpRequest) -> HttpResponse:
    count = services.resend_dead()
    messages.success(request, f"{count} dead deliveries will be sent again.")
    return redirect("deliveries")
