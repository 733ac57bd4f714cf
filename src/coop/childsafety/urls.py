"""Console pages of the child-safety context (NCMEC jobs, settings and reports)."""

from django.urls import path  # noqa: F401 - patterns are added by the NCMEC pages

urlpatterns: list = []
