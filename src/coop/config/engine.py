"""Plan and apply configuration changes; export the current configuration.

One path serves the configuration file and single-object saves from the console: build the
desired state (the database, overlaid with the given objects, minus deletions), validate all of
it, diff it against the database, then write every difference in one transaction with a new
version and a ConfigChange row per object.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from coop.accounts.models import User
from coop.accounts.permissions import Permission
from coop.catalog.builtins import BUILTIN_ACTIONS
from coop.catalog.models import ChangeOperation, ConfigChange, OrgSettings, Policy
from coop.config.document import FILE_VERSION, Document
from coop.config.history import summarize
from coop.config.kinds import BY_KEY, KINDS, Canonical
from coop.config.schema import ConfigError, Errors
from coop.config.validate import Context, State, validate_state
from coop.config.yamlio import dump_yaml
from coop.integrations.config import configured_registry, from_block
from coop.review.models import Appeal, Job, JobStatus, Queue, Report
from coop.signals.registry import SignalRegistry, default_registry

SOURCE_FILE = "config-file"
_SYMBOL = {ChangeOperation.CREATE: "+", ChangeOperation.UPDATE: "~", ChangeOperation.DELETE: "-"}


@dataclass(frozen=True)
class Change:
    kind: str
    object_id: str
    operation: ChangeOperation
    data: Canonical | None  # after the change; None when deleted
    before: Canonical | None = None  # before the change; None when created

    def line(self) -> str:
        if BY_KEY[self.kind].singleton:
            return f"{_SYMBOL[self.operation]} {self.kind}"
        return f"{_SYMBOL[self.operation]} {self.kind} {self.object_id}"


@dataclass
class Plan:
    changes: list[Change] = field(default_factory=list)
    unchanged: int = 0
    errors: Errors = field(default_factory=list)

    def count(self, operation: ChangeOperation) -> int:
        return sum(1 for c in self.changes if c.operation == operation)

    def summary(self) -> str:
        return (
            f"Plan: {self.count(ChangeOperation.CREATE)} to create, "
            f"{self.count(ChangeOperation.UPDATE)} to change, "
            f"{self.count(ChangeOperation.DELETE)} to delete, {self.unchanged} unchanged."
        )

    def lines(self) -> list[str]:
        return [c.line() for c in self.changes] + [self.summary()]


def current_state() -> State:
    return {kind.key: kind.load() for kind in KINDS}


def make_plan(
    document: Document,
    *,
    prune: bool = False,
    delete: Collection[tuple[str, str]] = (),
    signals: SignalRegistry | None = None,
) -> Plan:
    """Validate `document` against the database and list what applying it would change.

    Objects absent from the document stay, unless `prune` (everything absent goes, except what
    must always exist) or listed in `delete`.
    """
    current = current_state()
    plan = Plan()
    desired = _desired_state(document, current, prune, delete, plan.errors)
    _check_routing_ids(document, current, plan.errors)
    emails = {email for queue in desired["queues"].values() for email in queue["reviewers"]}
    emails |= {rule["owner"] for rule in desired["rules"].values() if rule.get("owner")}
    plan.errors += validate_state(
        Context(
            state=desired,
            paths=document.paths,
            builtin_actions=frozenset(BUILTIN_ACTIONS),
            user_emails=frozenset(
                User.objects.filter(email__in=emails).values_list("email", flat=True)
            ),
            signals=configured_registry(
                signals or default_registry(),
                from_block(desired["integrations"].get("integrations")),
            ),
            child_safety_emails=frozenset(
                User.objects.filter(
                    email__in=emails,
                    role__permissions__contains=[Permission.VIEW_CHILD_SAFETY_DATA],
                ).values_list("email", flat=True)
            ),
        )
    )
    for kind in KINDS:
        wanted, existing = desired[kind.key], current[kind.key]
        named = document.objects.get(kind.key, {})
        for oid, data in wanted.items():
            if oid not in existing:
                plan.changes.append(Change(kind.key, oid, ChangeOperation.CREATE, data))
            elif data != existing[oid]:
                plan.changes.append(
                    Change(kind.key, oid, ChangeOperation.UPDATE, data, existing[oid])
                )
            elif oid in named:
                plan.unchanged += 1
        plan.changes += [
            Change(kind.key, oid, ChangeOperation.DELETE, None, existing[oid])
            for oid in existing
            if oid not in wanted
        ]
    return plan


def _desired_state(
    document: Document,
    current: State,
    prune: bool,
    delete: Collection[tuple[str, str]],
    errors: Errors,
) -> State:
    """The configuration after applying `document`: its objects plus the existing ones kept."""
    desired: State = {}
    for kind in KINDS:
        given = document.objects.get(kind.key)
        existing = current[kind.key]
        wanted = dict(given or {})
        for oid, data in wanted.items():
            kind.keep_absent(data, existing.get(oid))
        kept = [
            oid
            for oid in existing
            if oid not in wanted
            and (kind.key, oid) not in delete
            and not (prune and kind.key != "settings")
        ]
        for oid in kept:
            wanted[oid] = existing[oid]
        if kind.key == "queues":
            _settle_default_queues(wanted, existing, given or {}, delete, errors)
        if kind.key in ("routingRules", "appealRoutingRules"):
            _append_positions(wanted, len(given or {}), kept)
        desired[kind.key] = wanted
    return desired


def _settle_default_queues(
    wanted: State, existing: State, given: State, delete: Collection, errors: Errors
) -> None:
    """Keep one default queue of each kind: a new default in the file replaces the old one; the
    last default queue is never deleted."""
    for appeals in (False, True):
        declared = [q for q in given.values() if q["default"] and q["appeals"] == appeals]
        for oid, queue in existing.items():
            if not (queue["default"] and queue["appeals"] == appeals) or oid in given:
                continue
            if declared and oid in wanted:
                wanted[oid] = {**queue, "default": False}
            elif not declared and oid not in wanted:
                if ("queues", oid) in delete:
                    errors.append(
                        ConfigError(
                            f"queues[id={oid}]",
                            "the default queue cannot be deleted; "
                            "make another queue the default first",
                        )
                    )
                wanted[oid] = queue


def _append_positions(wanted: State, first: int, kept: list[str]) -> None:
    """Routing rules the document does not name keep their order, after the named ones."""
    for offset, oid in enumerate(sorted(kept, key=lambda o: wanted[o]["position"])):
        wanted[oid] = {**wanted[oid], "position": first + offset}


def _check_routing_ids(document: Document, current: State, errors: Errors) -> None:
    """Routing and appeal routing rules share one id space."""
    for kind, other in (
        ("routingRules", "appealRoutingRules"),
        ("appealRoutingRules", "routingRules"),
    ):
        for oid in document.objects.get(kind, {}):
            if oid in current[other] and oid not in document.objects.get(other, {}):
                errors.append(
                    ConfigError(
                        f"{document.paths[(kind, oid)]}.id",
                        f"id {oid!r} is already used in {other}",
                    )
                )


def apply_plan(
    plan: Plan, *, user: User | None = None, source: str = SOURCE_FILE, actor: str = ""
) -> None:
    """Write every change of a valid plan in one transaction (callers hold `config_lock`).

    Each change gets a ConfigChange row: who (`user`, else `actor`: who ran the command),
    the source, the object before and after, and a summary (coop.config.history)."""
    if plan.errors:
        raise ValueError("cannot apply an invalid plan")
    writes = [c for c in plan.changes if c.operation != ChangeOperation.DELETE]
    deletes = [c for c in plan.changes if c.operation == ChangeOperation.DELETE]
    order = {kind.key: i for i, kind in enumerate(KINDS)}
    # Policy parents are foreign keys: write parents first (new tree), delete children first (old).
    stored = dict(Policy.objects.values_list("id", "parent_id"))
    new = {**stored, **{c.object_id: c.data["parent"] for c in writes if c.kind == "policies"}}
    writes.sort(key=lambda c: (order[c.kind], _write_rank(c, new)))
    deletes.sort(key=lambda c: (-order[c.kind], -_depth(c, stored)))
    versions = {kind.key: kind.versions() for kind in KINDS}
    for change in writes + deletes:
        version = _next_version(change, versions[change.kind].get(change.object_id))
        kind = BY_KEY[change.kind]
        if change.operation == ChangeOperation.DELETE:
            if change.kind == "queues":
                _move_jobs(change.object_id)
            kind.delete(change.object_id)
        else:
            kind.write(change.data, version)
        ConfigChange.objects.create(
            kind=change.kind,
            object_id=change.object_id,
            version=version,
            operation=change.operation,
            data=change.data,
            before=change.before,
            summary=summarize(change.before, change.data),
            changed_by=user,
            actor="" if user else actor[:200],
            source=source,
        )


def _write_rank(change: Change, parents: dict[str, str | None]) -> int:
    """Queues losing their default flag first (one default per kind); parents before children."""
    if change.kind == "queues":
        return 1 if change.data["default"] else 0
    return _depth(change, parents)


def _depth(change: Change, parents: dict[str, str | None]) -> int:
    if change.kind != "policies":
        return 0
    depth, node, seen = 0, change.object_id, set()
    while parents.get(node) and node not in seen:
        seen.add(node)
        node = parents[node]
        depth += 1
    return depth


def _next_version(change: Change, current: int | None) -> int:
    """Versions never repeat, even for an id that was deleted and created again."""
    last = ConfigChange.objects.filter(kind=change.kind, object_id=change.object_id).aggregate(
        m=Max("version")
    )["m"]
    return max(current or 0, last or 0) + 1


def _move_jobs(queue_id: str) -> None:
    """A deleted queue's jobs go to the default queue of the same kind; none is destroyed.

    A pending job whose item already waits in that queue merges into the waiting job.
    """
    queue = Queue.objects.get(pk=queue_id)
    target = Queue.objects.get(is_default=True, is_appeals=queue.is_appeals)
    now = timezone.now()
    for job in Job.objects.filter(queue=queue, status=JobStatus.PENDING):
        twin = Job.objects.filter(
            queue=target,
            status=JobStatus.PENDING,
            item_type_id=job.item_type_id,
            item_id=job.item_id,
            kind=job.kind,
        ).first()
        if twin is not None:
            Report.objects.filter(job=job).update(job=twin)
            Appeal.objects.filter(job=job).update(job=twin)
            # priority = highest signal score + report count (coop.review.services)
            score = max(twin.priority - twin.report_count, job.priority - job.report_count)
            twin.report_count += job.report_count
            twin.priority = score + twin.report_count
            twin.updated_at = now
            twin.save(update_fields=["report_count", "priority", "updated_at"])
            job.status, job.closed_at = JobStatus.INVALIDATED, now
            job.save(update_fields=["status", "closed_at"])
    Job.objects.filter(queue=queue).update(queue=target, updated_at=now)


def config_lock(*, create: bool) -> None:
    """Serialise configuration writes: plans are computed and applied under this row lock."""
    if create:
        OrgSettings.load()
    list(OrgSettings.objects.select_for_update().filter(pk=1))


def export_state(state: State | None = None) -> dict[str, Any]:
    state = state if state is not None else current_state()
    out: dict[str, Any] = {"version": FILE_VERSION}
    for kind in KINDS:
        exported = kind.export(state[kind.key])
        if exported:
            out[kind.key] = exported
    return out


def export_yaml() -> str:
    return dump_yaml(export_state())


def apply_document(
    document: Document,
    *,
    prune: bool = False,
    dry_run: bool = False,
    delete: Collection[tuple[str, str]] = (),
    user: User | None = None,
    source: str = SOURCE_FILE,
    actor: str = "",
) -> Plan:
    """Plan and (unless `dry_run` or invalid) apply, atomically. `actor` names who applied it
    when there is no `user` (the command line's operating-system user)."""
    with transaction.atomic():
        config_lock(create=not dry_run)
        plan = make_plan(document, prune=prune, delete=delete)
        if not plan.errors and not dry_run:
            apply_plan(plan, user=user, source=source, actor=actor)
    return plan
