from django.urls import path

from coop.web import views

urlpatterns = [
    path("", views.overview, name="overview"),
]
