from django.urls import path

from coop.ingest.api import api

urlpatterns = [path("", api.urls)]
