"""Everything `coop serve --demo` writes to Coop's database before it starts the children."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

from django.db import transaction

from coop.config import Plan, apply_document, parse_text

PLATFORM_PLACEHOLDER = "{{platform}}"
API_KEY_NAME = "coop-demo"

# (email, role): the queues of demo.yaml name these users as reviewers, its rules as owners.
DEMO_USERS: tuple[tuple[str, str], ...] = (
    ("admin@demo.coop", "Admin"),
    ("manager@demo.coop", "Moderator Manager"),
    ("moderator@demo.coop", "Moderator"),
    ("childsafety@demo.coop", "Child Safety Moderator"),
    ("analyst@demo.coop", "Analyst"),
    ("external@demo.coop", "External Moderator"),
)


class DemoSetupError(Exception):
    """demo.yaml did not apply (a bug: the file ships with Coop)."""


@dataclass(frozen=True)
class Credential:
    email: str
    role: str
    password: str


def demo_yaml(platform_url: str) -> str:
    """demo.yaml with the fake platform's base URL (no trailing slash) in every callback URL."""
    text = resources.files("coop.demo").joinpath("demo.yaml").read_text(encoding="utf-8")
    return text.replace(PLATFORM_PLACEHOLDER, platform_url.rstrip("/"))


def apply_demo_config(platform_url: str) -> Plan:
    """Apply demo.yaml (without pruning: the operator's own objects stay); idempotent."""
    document, errors = parse_text(demo_yaml(platform_url))
    if not errors:
        plan = apply_document(document)
        errors = plan.errors
    if errors:
        raise DemoSetupError("demo.yaml: " + "; ".join(str(error) for error in errors))
    return plan


def ensure_demo_users() -> list[Credential]:
    """Create the demo users, or give existing ones a fresh password, so that the printed
    credentials always work. Returns them in DEMO_USERS order."""
    from coop.accounts.models import Role, User
    from coop.accounts.services import create_user, generate_password

    credentials = []
    with transaction.atomic():
        for email, role_name in DEMO_USERS:
            user = User.objects.filter(email__iexact=email).first()
            if user is None:
                _, password = create_user(email, role_name)
            else:
                password = generate_password()
                user.set_password(password)
                user.role = Role.objects.get(name=role_name)
                user.is_active = True
                user.save()
            credentials.append(Credential(email, role_name, password))
    # Failed sign-ins from an earlier run must not lock out the printed credentials.
    from axes.utils import reset

    for email, _ in DEMO_USERS:
        reset(username=email)
    return credentials


def create_demo_api_key() -> str:
    """A fresh platform API key for the feeder; earlier demo keys are revoked."""
    from coop.accounts.models import ApiKey
    from coop.accounts.services import create_api_key, revoke_api_key

    for old in ApiKey.objects.filter(name=API_KEY_NAME, revoked_at__isnull=True):
        revoke_api_key(old.pk)
    _, key = create_api_key(API_KEY_NAME)
    return key


def public_pems() -> list[str]:
    """The webhook verification keys: the active one first, then recently retired ones."""
    from coop.accounts.services import public_keys

    return [key.public_pem for key in public_keys()]


@dataclass(frozen=True)
class DemoSetup:
    plan: Plan
    credentials: list[Credential]
    api_key: str
    public_pems: list[str]
    cybertip_password: str


# demo.yaml's NCMEC block names the fake CyberTip server's user and reads its password from
# this variable (`!secret`), which `serve --demo` sets, new at every start, for the web server,
# the worker and the fake.
CYBERTIP_USERNAME = "coop-demo"
CYBERTIP_PASSWORD_ENV = "SECRET_COOP_DEMO_CYBERTIP_PASSWORD"  # noqa: S105 - a variable name


def set_up(platform_url: str) -> DemoSetup:
    """Users first (the queues name them as reviewers), then the configuration, then the key
    and a password for the fake CyberTip server."""
    from coop.accounts.services import generate_password

    credentials = ensure_demo_users()
    plan = apply_demo_config(platform_url)
    cybertip_password = generate_password()
    return DemoSetup(plan, credentials, create_demo_api_key(), public_pems(), cybertip_password)
