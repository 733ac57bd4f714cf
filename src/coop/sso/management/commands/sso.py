"""`coop sso`: show the SSO settings, and turn password sign-in back on when SSO is broken."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandParser

from coop.sso import services
from coop.sso.models import PasswordSignIn

LEVELS = {"everyone": PasswordSignIn.EVERYONE, "admins": PasswordSignIn.ADMINS}


class Command(BaseCommand):
    help = "Show the SSO settings, or set who may sign in with a password."

    def add_arguments(self, parser: CommandParser) -> None:
        commands = parser.add_subparsers(dest="action", required=True)
        commands.add_parser("show", help="the SSO methods enabled and the password rule")
        level = commands.add_parser(
            "password-sign-in",
            help="who may sign in with a password while SSO is on (the way back from SSO only)",
        )
        level.add_argument("level", choices=sorted(LEVELS))

    def handle(self, *args, action: str, **options) -> None:
        if action == "password-sign-in":
            sso = services.current()
            services.save_sign_in(
                None,
                password_sign_in=LEVELS[options["level"]],
                jit_enabled=sso.jit_enabled,
                jit_role=sso.jit_role,
                jit_domains=sso.jit_domains,
            )
        sso = services.current()
        self.stdout.write(f"SAML: {'enabled' if sso.saml_enabled else 'off'}")
        self.stdout.write(f"OpenID Connect: {'enabled' if sso.oidc_enabled else 'off'}")
        self.stdout.write(f"Password sign-in: {sso.get_password_sign_in_display()}")
        jit = f"on, role {sso.jit_role.name}" if sso.jit_enabled and sso.jit_role else "off"
        self.stdout.write(f"Just-in-time accounts: {jit}")
