"""Platform API v1 (api.md). Handlers are thin: parsing is ninja's, the work is in intake."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError, connection, transaction
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI, Status
from ninja.errors import AuthenticationError, HttpError, ValidationError
from procrastinate.exceptions import ConnectorException

from coop.api import intake
from coop.api.auth import ApiKeyAuth, LimitedJsonParser
from coop.api.errors import (
    AUTHENTICATION,
    INVALID_INPUT,
    NOT_FOUND,
    PAYLOAD_TOO_LARGE,
    SERVICE_UNAVAILABLE,
    ApiError,
    ErrorItem,
    error_response,
    internal_error,
    pointer_from_loc,
    service_unavailable,
)
from coop.api.schemas import (
    ActionAccepted,
    ActionIn,
    ActionsTriggered,
    AppealIn,
    ContentIn,
    ErrorsOut,
    HealthOut,
    ItemsAccepted,
    ItemsIn,
    PoliciesOut,
    QueryItemId,
    QueryTypeId,
    ReportCreated,
    ReportIn,
    ReportStatus,
)
from coop.catalog.models import Policy
from coop.core.enums import DecisionSource
from coop.core.items import ItemRef
from coop.enforcement.services import ActionError, run_api_action
from coop.enforcement.strikes import user_strike_total
from coop.review.audit import record_manual_actions
from coop.review.services import report_state
from coop.rules.sync import BudgetExceeded, evaluate_within

api = NinjaAPI(
    title="Coop platform API",
    version="1",
    description='Every error answers `{"errors": [...]}` (see docs/api.md).',
    urls_namespace="api",
    auth=ApiKeyAuth(),
    parser=LimitedJsonParser(),
    openapi_url="/openapi.json",
    docs_url=None,
)

# Documented on every authenticated operation, so clients and the fuzzer know the envelope.
ERRORS = {status: ErrorsOut for status in (400, 401, 413, 429, 500, 503)}


@api.post("/items/async/", response={202: ItemsAccepted, **ERRORS}, summary="Submit items")
def items_async(request: HttpRequest, payload: ItemsIn):
    """Store the items and enqueue their rule evaluation in one transaction; 202 = durable."""
    return Status(202, {"submissionIds": intake.submit_items(payload.items)})


@api.post(
    "/content/",
    response={200: ActionsTriggered, 202: None, **ERRORS},
    summary="Submit content",
)
def content(request: HttpRequest, payload: ContentIn):
    """Legacy single-item submission: 202 with an empty body, like items/async.

    With `sync: true` the LIVE rules run before the answer: 200 with the actions they
    triggered. Past the time budget (COOP_SYNC_BUDGET_MS) the answer is 503 and the
    evaluation completes in the background; an answer is never a partial result.
    """
    if not payload.sync:
        intake.submit_content(payload)
        return HttpResponse(status=202)
    budget = settings.COOP_SYNC_BUDGET_MS / 1000
    submission_ids = intake.submit_content(payload, evaluate_after=budget)
    try:
        triggered = evaluate_within(submission_ids, budget)
    except BudgetExceeded:
        raise ApiError.one(
            503,
            SERVICE_UNAVAILABLE,
            "Rule evaluation exceeded the time budget",
            "The item is stored and its evaluation continues in the background.",
        ) from None
    return Status(200, {"actionsTriggered": triggered})


@api.post("/report", response={201: ReportCreated, **ERRORS}, summary="Report an item")
def report(request: HttpRequest, payload: ReportIn):
    """Store the report and its items and put the item in a review job (new or merged)."""
    return Status(201, {"reportId": intake.submit_report(payload).pk})


@api.post(
    "/report/appeal", response={204: None, 409: ErrorsOut, **ERRORS}, summary="Appeal actions"
)
def appeal(request: HttpRequest, payload: AppealIn):
    """Queue an appeal for review; repeating an appealId is a no-op. 409 if appeals are off."""
    intake.submit_appeal(payload)
    return HttpResponse(status=204)


@api.get(
    "/report/{reportId}",
    response={200: ReportStatus, 404: ErrorsOut, **ERRORS},
    summary="Report",
    exclude_none=True,
)
def report_status(request: HttpRequest, reportId: str):
    """The report's review status, so platforms can stay in sync."""
    state = report_state(reportId)
    if state is None:
        raise ApiError.one(
            404, NOT_FOUND, "Report not found", f"No report has the id {reportId!r}."
        )
    return {
        "reportId": state.report_id,
        "status": state.status,
        "queueId": state.queue_id,
        "jobId": state.job_id,
        "decision": state.decision,
    }


@api.get("/policies/", response={200: PoliciesOut, **ERRORS}, summary="List policies")
def policies(request: HttpRequest):
    rows = Policy.objects.order_by("id").values_list("id", "name", "parent_id")
    return {"policies": [{"id": i, "name": n, "parentId": p} for i, n, p in rows]}


@api.post("/actions/", response={202: ActionAccepted, **ERRORS}, summary="Run an action")
def actions(request: HttpRequest, payload: ActionIn):
    """Run one action on an item like a manual action (no rules); 202 = committed, with its
    webhook delivery enqueued."""
    with transaction.atomic():  # the execution and its Recent Decisions record, together
        execution = run_api_action(
            payload.actionId,
            ItemRef(payload.itemId, payload.itemTypeId),
            policy_ids=payload.policyIds,
            actor_id=payload.actorId,
            parameters=payload.parameters,
            note=payload.note,
        )
        record_manual_actions([execution], DecisionSource.API, execution.actor, note=payload.note)
    return Status(202, {"executionId": execution.pk})


@api.get("/user_scores/", response={200: int, **ERRORS}, summary="User strike total")
def user_scores(request: HttpRequest, id: QueryItemId, typeId: QueryTypeId):
    """The user's current strike total (unexpired strikes), a bare number."""
    return user_strike_total(ItemRef(id, typeId))


@api.get("/health", auth=None, response={200: HealthOut, 503: ErrorsOut}, summary="Health")
def health(request: HttpRequest):
    """200 when the database answers a query, 503 otherwise (load balancer probe)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return {"status": "ok"}


@api.exception_handler(ApiError)
def _api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
    return error_response(request, exc)


@api.exception_handler(ActionError)
def _action_error(request: HttpRequest, exc: ActionError) -> HttpResponse:
    return error_response(request, ApiError.invalid(exc.title, exc.detail, exc.pointer))


@api.exception_handler(AuthenticationError)
def _authentication(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return error_response(
        request,
        ApiError.one(
            401,
            AUTHENTICATION,
            "Authentication failed or missing",
            "Send a valid, unrevoked API key in the X-API-KEY header.",
        ),
    )


@api.exception_handler(ValidationError)
def _validation(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    return error_response(request, ApiError([_validation_item(e) for e in exc.errors[:100]]))


def _validation_item(error: dict) -> ErrorItem:
    """A pydantic error as an envelope entry; body locations become JSON pointers."""
    loc = list(error.get("loc", ()))
    message = error.get("msg", "Invalid value")
    if loc and loc[0] == "body":
        pointer = pointer_from_loc(loc[2:])
        title = "Missing field" if error.get("type") == "missing" else "Invalid field"
        return ErrorItem(400, INVALID_INPUT, title, f"{pointer or 'body'}: {message}", pointer)
    where = f"{loc[0]} parameter {loc[-1]!r}" if len(loc) >= 2 else "request"
    return ErrorItem(400, INVALID_INPUT, "Invalid parameter", f"{where}: {message}")


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    cause = exc.__cause__
    if isinstance(cause, ApiError):
        return error_response(request, cause)
    return error_response(request, ApiError.invalid("Invalid request", str(exc)))


@api.exception_handler(RequestDataTooBig)
def _too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    return error_response(request, ApiError.one(413, PAYLOAD_TOO_LARGE, "Request body too large"))


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return error_response(request, ApiError.one(404, NOT_FOUND, "Not found"))


@api.exception_handler(OperationalError)
@api.exception_handler(InterfaceError)
@api.exception_handler(ConnectorException)
def _database_unavailable(request: HttpRequest, exc: Exception) -> HttpResponse:
    return error_response(request, service_unavailable(request))


@api.exception_handler(Exception)
def _internal(request: HttpRequest, exc: Exception) -> HttpResponse:
    return error_response(request, internal_error(request))
