"""Permissions and the predefined roles (spec: accounts.md)."""

from __future__ import annotations

from enum import StrEnum


class Permission(StrEnum):
    MANAGE_ORG = "MANAGE_ORG"
    MANAGE_USERS = "MANAGE_USERS"
    MANAGE_ROLES = "MANAGE_ROLES"
    MUTATE_LIVE_RULES = "MUTATE_LIVE_RULES"
    MUTATE_NON_LIVE_RULES = "MUTATE_NON_LIVE_RULES"
    RUN_RETROACTION = "RUN_RETROACTION"
    RUN_BACKTEST = "RUN_BACKTEST"
    VIEW_INSIGHTS = "VIEW_INSIGHTS"
    VIEW_RULES_DASHBOARD = "VIEW_RULES_DASHBOARD"
    MANUALLY_ACTION_CONTENT = "MANUALLY_ACTION_CONTENT"
    VIEW_MRT = "VIEW_MRT"
    VIEW_MRT_DATA = "VIEW_MRT_DATA"
    VIEW_CHILD_SAFETY_DATA = "VIEW_CHILD_SAFETY_DATA"
    EDIT_MRT_QUEUES = "EDIT_MRT_QUEUES"
    MANAGE_ROUTING_RULES = "MANAGE_ROUTING_RULES"
    MANAGE_POLICIES = "MANAGE_POLICIES"
    VIEW_INVESTIGATION = "VIEW_INVESTIGATION"


P = Permission

_MODERATOR = frozenset(
    {
        P.VIEW_MRT,
        P.VIEW_MRT_DATA,
        P.MANAGE_POLICIES,
        P.MANUALLY_ACTION_CONTENT,
        P.VIEW_INVESTIGATION,
        P.VIEW_RULES_DASHBOARD,
    }
)

PREDEFINED_ROLES: dict[str, frozenset[Permission]] = {
    "Admin": frozenset(Permission),
    "Rules Manager": frozenset(
        {
            P.MUTATE_LIVE_RULES,
            P.MUTATE_NON_LIVE_RULES,
            P.RUN_RETROACTION,
            P.RUN_BACKTEST,
            P.VIEW_INSIGHTS,
            P.MANUALLY_ACTION_CONTENT,
            P.MANAGE_POLICIES,
            P.VIEW_INVESTIGATION,
            P.VIEW_RULES_DASHBOARD,
        }
    ),
    "Analyst": frozenset(
        {
            P.MUTATE_NON_LIVE_RULES,
            P.RUN_BACKTEST,
            P.VIEW_INSIGHTS,
            P.VIEW_INVESTIGATION,
            P.VIEW_RULES_DASHBOARD,
        }
    ),
    "Moderator Manager": frozenset(
        {
            P.VIEW_MRT,
            P.VIEW_MRT_DATA,
            P.EDIT_MRT_QUEUES,
            P.MANAGE_ROUTING_RULES,
            P.MANAGE_POLICIES,
            P.VIEW_INVESTIGATION,
            P.VIEW_RULES_DASHBOARD,
            P.VIEW_CHILD_SAFETY_DATA,
            P.MANUALLY_ACTION_CONTENT,
        }
    ),
    "Moderator": _MODERATOR,
    "Child Safety Moderator": _MODERATOR | {P.VIEW_CHILD_SAFETY_DATA},
    "External Moderator": frozenset({P.VIEW_MRT}),
}

# What each permission opens, for the roles page (accounts.md; the reference's permission list).
DESCRIPTIONS: dict[Permission, str] = {
    P.MANAGE_ORG: "Organisation settings, API and signing keys, integrations, NCMEC, SSO",
    P.MANAGE_USERS: "Invite users, change their roles, deactivate, send reset links",
    P.MANAGE_ROLES: "Edit this matrix; create, rename and delete custom roles",
    P.MUTATE_LIVE_RULES: "Edit live rules",
    P.MUTATE_NON_LIVE_RULES: "Edit draft and background rules; matching banks",
    P.RUN_RETROACTION: "Run rules over past items",
    P.RUN_BACKTEST: "Backtest rules",
    P.VIEW_INSIGHTS: "Rule insights",
    P.VIEW_RULES_DASHBOARD: "The rules dashboard",
    P.MANUALLY_ACTION_CONTENT: "Take actions by hand (investigation, bulk actions)",
    P.VIEW_MRT: "The Review Console: work the queues one is given",
    P.VIEW_MRT_DATA: "Overview, Recent Decisions and their exports",
    P.VIEW_CHILD_SAFETY_DATA: "Child-safety (NCMEC) jobs, decisions and reports",
    P.EDIT_MRT_QUEUES: "Create, edit and delete queues; work every queue",
    P.MANAGE_ROUTING_RULES: "Routing and appeal routing rules",
    P.MANAGE_POLICIES: "Create and edit policies",
    P.VIEW_INVESTIGATION: "The Investigation tool",
}
